"""Attachments end to end on the all-in-one: sentry-python attaching a file to an error,
and a Crashpad-style minidump upload; both downloaded back through the web API."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import uuid
from typing import Any

import httpx

from faultline_core.dsn import parse_dsn
from tests.integration.allinone import AllInOne, wait_for
from tests.integration.sdk.conftest import find_issue, latest_event
from tests.integration.sdk.python_apps.attachment_app import state_bytes
from tests.integration.sdk.python_apps.runner import APPS, app_env

EVENTS = "/api/0/projects/default/default/events"


def attachments_of(aio: AllInOne, event_id: str, count: int) -> list[dict[str, Any]]:
    """The event's attachments once ``count`` of them are stored (they are processed
    separately from the event)."""
    def listed() -> list[dict[str, Any]] | None:
        resp = aio.api(f"{EVENTS}/{event_id}/attachments/")
        resp.raise_for_status()
        body: list[dict[str, Any]] = resp.json()
        return body if len(body) >= count else None

    found: list[dict[str, Any]] = wait_for(listed, 60)
    return found


def download(aio: AllInOne, event_id: str, attachment_id: str) -> httpx.Response:
    resp = aio.api(f"{EVENTS}/{event_id}/attachments/{attachment_id}/", params={"download": "1"})
    resp.raise_for_status()
    return resp


def test_python_sdk_attachment_is_downloadable(aio: AllInOne) -> None:
    token = "run" + uuid.uuid4().hex[:12]
    done = subprocess.run(
        [sys.executable, str(APPS / "attachment_app.py"), aio.bootstrap["dsn"], token],
        cwd=APPS, env=app_env(), check=True, timeout=60, capture_output=True,
    )
    sent_id = done.stdout.decode().strip()

    issue = find_issue(aio, f"job failed in run {token}")
    event = latest_event(aio, issue["id"])
    assert event["eventID"] == sent_id
    [attachment] = attachments_of(aio, sent_id, 1)
    assert attachment["name"] == "job-state.bin"
    assert attachment["type"] == "event.attachment"
    assert attachment["size"] == len(state_bytes(token))
    resp = download(aio, sent_id, attachment["id"])
    assert resp.content == state_bytes(token)
    assert resp.headers["content-disposition"].startswith('attachment; filename="job-state.bin"')


def crashpad_body(dump: bytes, release: str) -> tuple[bytes, str]:
    """A multipart body as Crashpad's uploader builds one: annotations as text fields,
    Sentry attributes in bracket fields, the dump as ``upload_file_minidump``."""
    request = httpx.Request(
        "POST", "http://unused/",
        data={"prod": "Shooter", "ver": "7.1", "sentry[release]": release,
              "sentry[tags][gpu]": "rtx-4070", "sentry": json.dumps({"user": {"id": "p1"}})},
        files={"upload_file_minidump": (f"{uuid.uuid4()}.dmp", dump, "application/octet-stream")},
    )
    return request.read(), request.headers["content-type"]


def test_crashpad_minidump_becomes_a_native_crash_issue(aio: AllInOne) -> None:
    dsn = parse_dsn(aio.bootstrap["dsn"])
    dump = b"MDMP\x93\xa7\x00\x00" + os.urandom(64 * 1024)
    release = "shooter@" + uuid.uuid4().hex[:8]
    body, content_type = crashpad_body(dump, release)

    resp = httpx.post(
        f"{aio.url}/api/{dsn.project_id}/minidump/", params={"sentry_key": dsn.public_key},
        content=gzip.compress(body),  # Crashpad gzips the whole upload
        headers={"Content-Type": content_type, "Content-Encoding": "gzip"}, timeout=30,
    )

    assert resp.status_code == 200, resp.text
    event_id = resp.text.strip()

    def stored_event() -> dict[str, Any] | None:
        found = aio.api(f"{EVENTS}/{event_id}/")
        return dict(found.json()) if found.status_code == 200 else None

    event: dict[str, Any] = wait_for(stored_event, 60)
    assert event["platform"] == "native"
    assert event["release"] == release
    assert event["exception"]["values"][0]["type"] == "Minidump"
    tags = {tag["key"]: tag["value"] for tag in event["tags"]}
    assert tags["gpu"] == "rtx-4070" and tags["level"] == "fatal"
    assert event["extra"] == {"prod": "Shooter", "ver": "7.1"}
    issue = find_issue(aio, "native crash")
    assert issue["id"] == event["groupID"]
    assert issue["level"] == "fatal"

    [minidump] = attachments_of(aio, event_id, 1)
    assert minidump["type"] == "event.minidump"
    assert minidump["mimetype"] == "application/x-dmp"
    assert download(aio, event_id, minidump["id"]).content == dump
