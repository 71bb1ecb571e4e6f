"""The ``minidump`` endpoint: Crashpad/Breakpad-style multipart uploads in, a native crash
event plus its attachments on the real embedded bus (and blob store) out."""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response

from faultline_core.blobstore.local import LocalDirectoryBlobStore
from faultline_core.bus.embedded import EmbeddedConsumer, EmbeddedProducer
from faultline_core.messages import IngestMessage
from faultline_core.settings import BusSettings
from faultline_core.storage.postgres.pool import Pool
from faultline_relay.context import RelayContext
from faultline_relay.routes import router
from tests.unit.relay.conftest import CLIENT_ADDRESS, RELAY_LIMITS, Tenant
from tests.unit.relay.support import auth_header, published, scratch_blobs

DUMP = b"MDMP\x93\xa7\x00\x00" + os.urandom(2000)
MAX_ATTACHMENT = 16 * 1024


class Relay:
    """An in-process relay whose blob store the test can read."""

    def __init__(self, client: AsyncClient, blobs: LocalDirectoryBlobStore) -> None:
        self.client = client
        self.blobs = blobs


RelayFactory = Callable[..., Awaitable[Relay]]


@pytest.fixture
async def make_relay(pool: Pool, producer: EmbeddedProducer) -> AsyncIterator[RelayFactory]:
    clients: list[AsyncClient] = []

    async def build() -> Relay:
        limits = RELAY_LIMITS.model_copy(update={"max_attachment_bytes": MAX_ATTACHMENT})
        blobs = scratch_blobs()
        app = FastAPI()
        app.include_router(router)
        app.state.relay = RelayContext(limits, BusSettings(publish_timeout_s=2.0), pool,
                                       producer, blobs)
        client = AsyncClient(transport=ASGITransport(app=app, client=CLIENT_ADDRESS),
                             base_url="http://relay.test")
        clients.append(client)
        return Relay(client, blobs)

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
async def relay(make_relay: RelayFactory) -> Relay:
    return await make_relay()


async def upload(relay: Relay, tenant: Tenant, *, key: str | None = None,
                 dump: bytes | None = DUMP, path_suffix: str = "/",
                 data: dict[str, str] | None = None,
                 files: dict[str, Any] | None = None, **kwargs: Any) -> Response:
    """A multipart upload as Crashpad sends one (the key in the query string)."""
    all_files = dict(files or {})
    if dump is not None:
        all_files["upload_file_minidump"] = ("crash.dmp", dump, "application/octet-stream")
    return await relay.client.post(
        f"/api/{tenant.project_id}/minidump{path_suffix}",
        params={"sentry_key": key or tenant.key}, data=data, files=all_files, **kwargs,
    )


def by_type(messages: list[tuple[bytes | None, IngestMessage]]) -> dict[str, list[IngestMessage]]:
    found: dict[str, list[IngestMessage]] = {}
    for _, message in messages:
        found.setdefault(message.item_type, []).append(message)
    return found


async def test_crashpad_upload_becomes_a_native_crash_with_its_minidump(
    relay: Relay, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    sentry = {"release": "game@1.2.3", "user": {"id": "42"}, "tags": {"build": "nightly"}}
    response = await upload(
        relay, tenant,
        data={"sentry": json.dumps(sentry), "sentry[tags][gpu]": "rtx", "prod": "Game",
              "sentry[environment]": "staging"},
        files={"log": ("game.log", b"last words\n", "text/plain")},
    )

    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    event_id = response.text
    assert len(event_id) == 32 and int(event_id, 16) >= 0
    items = by_type(await published(consumer))
    [event_message] = items["event"]
    event = json.loads(event_message.payload)
    assert event["event_id"] == event_message.event_id == event_id
    assert (event["platform"], event["level"]) == ("native", "fatal")
    assert event["exception"]["values"][0] == {
        "type": "Minidump", "value": "native crash",
        "mechanism": {"type": "minidump", "handled": False, "synthetic": True},
    }
    assert event["release"] == "game@1.2.3" and event["environment"] == "staging"
    assert event["tags"] == {"build": "nightly", "gpu": "rtx"}
    assert event["user"] == {"id": "42"} and event["extra"] == {"prod": "Game"}

    dump_message, log_message = items["attachment"]
    assert dump_message.event_id == log_message.event_id == event_id
    assert dict(dump_message.meta) == {
        "filename": "crash.dmp", "content_type": "application/x-dmp",
        "attachment_type": "event.minidump", "size": len(DUMP),
        "blob_key": f"{tenant.project_id}/{event_id}/{dump_message.item_id}",
    }
    assert await relay.blobs.get(dump_message.meta["blob_key"]) == DUMP
    assert log_message.meta["filename"] == "game.log"
    assert log_message.meta["attachment_type"] == "event.attachment"
    assert log_message.meta["content_type"] == "text/plain"
    assert await relay.blobs.get(log_message.meta["blob_key"]) == b"last words\n"


async def test_header_auth_no_trailing_slash_and_the_clients_event_id(
    relay: Relay, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    wanted = str(uuid.uuid4())
    response = await relay.client.post(
        f"/api/{tenant.project_id}/minidump", headers=auth_header(tenant.key),
        data={"sentry": json.dumps({"event_id": wanted})},
        files={"upload_file_minidump": ("m.dmp", DUMP)},
    )

    assert response.status_code == 200, response.text
    assert response.text == wanted.replace("-", "")
    assert len(by_type(await published(consumer))["attachment"]) == 1


async def test_gzipped_dump_and_gzipped_body_are_both_undone(
    relay: Relay, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    response = await relay.client.post(
        f"/api/{tenant.project_id}/minidump/", params={"sentry_key": tenant.key},
        files={"upload_file_minidump": ("crash.dmp.gz", gzip.compress(DUMP))},
    )
    assert response.status_code == 200, response.text
    [dump] = by_type(await published(consumer))["attachment"]
    assert dump.meta["filename"] == "crash.dmp" and dump.meta["size"] == len(DUMP)
    assert await relay.blobs.get(dump.meta["blob_key"]) == DUMP

    boundary = "crashpad-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"upload_file_minidump\";"
            f" filename=\"x.dmp\"\r\n\r\n").encode() + DUMP + f"\r\n--{boundary}--\r\n".encode()
    response = await relay.client.post(
        f"/api/{tenant.project_id}/minidump/", params={"sentry_key": tenant.key},
        content=gzip.compress(body),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}",
                 "Content-Encoding": "gzip"},
    )
    assert response.status_code == 200, response.text
    [dump] = by_type(await published(consumer))["attachment"]
    assert await relay.blobs.get(dump.meta["blob_key"]) == DUMP


async def test_raw_minidump_body_is_accepted(
    relay: Relay, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    response = await relay.client.post(
        f"/api/{tenant.project_id}/minidump/", params={"sentry_key": tenant.key},
        content=DUMP, headers={"Content-Type": "application/x-dmp"},
    )
    assert response.status_code == 200, response.text
    [dump] = by_type(await published(consumer))["attachment"]
    assert dump.meta["filename"] == "Minidump"
    assert await relay.blobs.get(dump.meta["blob_key"]) == DUMP


@pytest.mark.parametrize(("kwargs", "detail"), [
    ({"dump": None, "files": {"other": ("a.txt", b"x")}}, "no upload_file_minidump field"),
    ({"dump": b"ELF\x7f not a dump"}, "no MDMP signature"),
    ({"dump": gzip.compress(b"not a dump either")}, "no MDMP signature"),
    ({"dump": b"\x1f\x8b\x08\x00garbage"}, "invalid gzip container"),
    ({"data": {"sentry": json.dumps({"event_id": "nope"})}}, "event_id"),
])
async def test_malformed_uploads_are_refused_with_a_reason(
    relay: Relay, tenant: Tenant, consumer: EmbeddedConsumer, kwargs: dict[str, Any],
    detail: str,
) -> None:
    response = await upload(relay, tenant, **kwargs)

    assert response.status_code == 400, response.text
    assert detail in response.json()["detail"]
    assert response.headers["X-Sentry-Error"]
    assert await published(consumer) == []


async def test_bodies_that_are_not_forms_are_refused(relay: Relay, tenant: Tenant) -> None:
    url = f"/api/{tenant.project_id}/minidump/"
    for content_type, body in [
        ("application/json", b"{}"),
        ("multipart/form-data", b"--x\r\n"),  # no boundary parameter
        ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data;"
                                            b' name="upload_file_minidump"\r\n\r\nMDMP'),
    ]:
        response = await relay.client.post(url, params={"sentry_key": tenant.key},
                                           content=body, headers={"Content-Type": content_type})
        assert response.status_code == 400, (content_type, response.text)


async def test_oversized_dumps_are_refused(
    relay: Relay, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    big = b"MDMP" + b"\x00" * MAX_ATTACHMENT
    response = await upload(relay, tenant, dump=big)
    assert response.status_code == 413, response.text

    # A small gzip member that inflates past the attachment limit (a bomb).
    response = await upload(relay, tenant, dump=gzip.compress(big * 4))
    assert response.status_code == 413, response.text
    assert "decompressed minidump" in response.json()["detail"]

    response = await upload(relay, tenant, files={"big": ("big.bin", b"x" * (MAX_ATTACHMENT + 1))})
    assert response.status_code == 413, response.text
    assert await published(consumer) == []


async def test_wrong_or_missing_keys_are_refused(
    relay: Relay, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    assert (await upload(relay, tenant, key=tenant.other_key)).status_code == 403
    assert (await upload(relay, tenant, key="0" * 32)).status_code == 401
    assert (await upload(relay, tenant, key=tenant.inactive_key)).status_code == 403
    response = await relay.client.post(f"/api/{tenant.project_id}/minidump/",
                                       files={"upload_file_minidump": ("m.dmp", DUMP)})
    assert response.status_code == 401
    assert await published(consumer) == []


async def test_rate_limited_crashes_are_answered_200_but_dropped(
    relay: Relay, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    statuses = [(await upload(relay, tenant, key=tenant.limited_key)).status_code
                for _ in range(3)]

    assert statuses == [200, 200, 200]  # as Sentry: crash reporters would only retry a 429
    assert len(by_type(await published(consumer))["event"]) == 2


async def test_cors_preflight(relay: Relay, tenant: Tenant) -> None:
    response = await relay.client.options(f"/api/{tenant.project_id}/minidump/")
    assert response.status_code == 200
    assert "POST" in response.headers["Access-Control-Allow-Methods"]
