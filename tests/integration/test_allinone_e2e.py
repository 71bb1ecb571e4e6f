"""End to end through the all-in-one process with the real sentry-python SDK."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.allinone import AllInOne, start_allinone, wait_for

SCRIPTS = Path(__file__).parent / "sdk_scripts"
ISSUES = "/api/0/projects/default/default/issues/"


@pytest.fixture(scope="module")
def allinone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AllInOne]:
    aio = start_allinone(tmp_path_factory.mktemp("allinone"))
    try:
        yield aio
    finally:
        assert aio.stop() == 0, aio.log_tail()


def send_with_sdk(aio: AllInOne, kind: str) -> None:
    subprocess.run([sys.executable, str(SCRIPTS / "python_app.py"), aio.bootstrap["dsn"], kind],
                   check=True, timeout=60)


def issues(aio: AllInOne, query: str = "") -> list[dict[str, Any]]:
    resp = aio.api(ISSUES, params={"query": query})
    assert resp.status_code == 200, resp.text
    result: list[dict[str, Any]] = resp.json()
    return result


def issue_with_count(aio: AllInOne, title_prefix: str, count: int) -> dict[str, Any] | None:
    for issue in issues(aio):
        if issue["title"].startswith(title_prefix) and int(issue["count"]) == count:
            return issue
    return None


def test_bootstrap_file_has_what_a_user_needs(allinone: AllInOne) -> None:
    boot = allinone.bootstrap
    assert set(boot) >= {"dsn", "api_token", "org", "project", "url"}
    assert boot["org"] == "default" and boot["project"] == "default"
    assert boot["dsn"].startswith("http://") and f":{allinone.port}/" in boot["dsn"]


def test_sdk_exceptions_are_grouped_counted_and_resolvable(allinone: AllInOne) -> None:
    send_with_sdk(allinone, "zero")
    first = wait_for(lambda: issue_with_count(allinone, "ZeroDivisionError", 1))
    assert first["status"] == "unresolved" and first["level"] == "error"
    assert "divide" in first["culprit"]

    send_with_sdk(allinone, "zero")
    again = wait_for(lambda: issue_with_count(allinone, "ZeroDivisionError", 2))
    assert again["id"] == first["id"]
    assert again["userCount"] == 1

    send_with_sdk(allinone, "key")
    other = wait_for(lambda: issue_with_count(allinone, "KeyError", 1))
    assert other["id"] != first["id"]

    latest = allinone.api(f"/api/0/issues/{first['id']}/events/latest/")
    assert latest.status_code == 200, latest.text
    event = latest.json()
    assert event["groupID"] == str(first["id"])
    assert event["request"]["url"].startswith("https://shop.example.com/checkout")
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames[-1]["function"] == "divide"
    assert "total / parts" in frames[-1]["context_line"]
    assert event["release"] == "shop@1.2.3" and event["environment"] == "staging"

    resp = allinone.api(f"/api/0/issues/{first['id']}/", method="PUT",
                        json={"status": "resolved"})
    assert resp.status_code == 200, resp.text
    assert allinone.api(f"/api/0/issues/{first['id']}/").json()["status"] == "resolved"
    assert [i["id"] for i in issues(allinone, "is:resolved")] == [first["id"]]
    assert first["id"] not in [i["id"] for i in issues(allinone, "is:unresolved")]


def test_issue_page_shows_stack_trace_and_request(allinone: AllInOne) -> None:
    send_with_sdk(allinone, "key")
    issue = wait_for(lambda: next((i for i in issues(allinone)
                                   if i["title"].startswith("KeyError")), None))
    with httpx.Client(base_url=allinone.url, timeout=30) as browser:
        login = browser.post("/login", data={"email": allinone.bootstrap["admin_email"],
                                             "password": allinone.bootstrap["admin_password"]})
        assert login.status_code in (200, 303), login.text
        page = browser.get(f"/default/default/issues/{issue['id']}/", follow_redirects=True)
    assert page.status_code == 200
    assert "return config[name]" in page.text
    assert "https://shop.example.com/checkout" in page.text


def _envelope(event_id: str) -> bytes:
    # A fingerprint of its own: the message alone would group every such event together,
    # since grouping strips the id from it.
    event = {"event_id": event_id, "message": f"duplicate check {event_id}",
             "level": "warning", "fingerprint": [event_id]}
    payload = json.dumps(event).encode()
    return b"\n".join([json.dumps({"event_id": event_id}).encode(),
                       json.dumps({"type": "event", "length": len(payload)}).encode(), payload])


def _post(aio: AllInOne, body: bytes) -> httpx.Response:
    key = aio.bootstrap["dsn"].split("://", 1)[1].split("@", 1)[0]
    project_id = aio.bootstrap["dsn"].rsplit("/", 1)[1]
    return httpx.post(f"{aio.url}/api/{project_id}/envelope/", content=body,
                      headers={"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={key}"})


def test_same_envelope_twice_is_counted_once(allinone: AllInOne) -> None:
    event_id = uuid.uuid4().hex
    body = _envelope(event_id)
    assert _post(allinone, body).json() == {"id": event_id}
    assert _post(allinone, body).json() == {"id": event_id}
    issue = wait_for(lambda: next((i for i in issues(allinone)
                                   if i["title"] == f"duplicate check {event_id}"), None))
    event = allinone.api(f"/api/0/projects/default/default/events/{event_id}/")
    assert event.status_code == 200 and event.json()["groupID"] == str(issue["id"])
    # The second copy is processed after the first; give it time to (not) count.
    marker = uuid.uuid4().hex
    _post(allinone, _envelope(marker))
    wait_for(lambda: any(i["title"] == f"duplicate check {marker}" for i in issues(allinone)))
    counts = [int(i["count"]) for i in issues(allinone)
              if i["title"] == f"duplicate check {event_id}"]
    assert counts == [1]


def test_event_accepted_before_a_crash_is_processed_after_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "crash"
    aio = start_allinone(data_dir, processor=False)
    try:
        event_id = uuid.uuid4().hex
        resp = _post(aio, _envelope(event_id))
        assert resp.status_code == 200 and resp.json() == {"id": event_id}
    finally:
        aio.stop(signal.SIGKILL)
    restarted = start_allinone(data_dir, port=aio.port)
    try:
        issue = wait_for(lambda: next((i for i in issues(restarted)
                                       if i["title"] == f"duplicate check {event_id}"), None))
        assert int(issue["count"]) == 1
    finally:
        assert restarted.stop() == 0, restarted.log_tail()
