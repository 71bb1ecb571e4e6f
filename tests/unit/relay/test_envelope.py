"""The envelope endpoint end to end: HTTP in, messages on the real embedded bus out."""

from __future__ import annotations

import gzip
import json
import re
import time
import uuid
import zlib
from collections.abc import Callable

import brotli
import pytest
import zstandard
from httpx import AsyncClient

from faultline_core.bus.embedded import EmbeddedConsumer
from faultline_core.envelope import parse_envelope
from faultline_relay.routes import router
from tests.unit.relay.conftest import CLIENT_ADDRESS, ClientFactory, Tenant
from tests.unit.relay.support import (
    auth_header,
    capture_sdk_exception,
    compact,
    envelope,
    event_envelope,
    event_item,
    published,
)


def _url(tenant: Tenant) -> str:
    return f"/api/{tenant.project_id}/envelope/"


async def test_real_sdk_envelope_is_published_with_its_event_id(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    dsn = f"http://{tenant.key}@relay.test/{tenant.project_id}"
    event_id, sdk = capture_sdk_exception(dsn)
    assert sdk.headers["Content-Encoding"] == "br"
    before = time.time()

    response = await client.post(_url(tenant), content=sdk.body, headers=sdk.headers)

    assert response.status_code == 200, response.text
    assert response.json() == {"id": event_id}
    [(key, message)] = await published(consumer)
    sent_item = next(
        item for item in parse_envelope(brotli.decompress(sdk.body)).items if item.type == "event"
    )
    assert key == str(tenant.project_id).encode()
    assert (message.project_id, message.event_id, message.item_type) == (
        tenant.project_id, event_id, "event",
    )
    assert message.payload == sent_item.payload
    assert message.client_ip == CLIENT_ADDRESS[0]
    assert before <= message.received_at <= time.time()
    assert json.loads(message.payload)["exception"]["values"][0]["type"] == "ValueError"


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor().compress,
    "identity": lambda body: body,
}


@pytest.mark.parametrize("encoding", sorted(COMPRESSORS))
async def test_every_content_encoding_is_accepted(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer, encoding: str
) -> None:
    event_id = uuid.uuid4().hex
    event = {"event_id": event_id, "message": f"compressed with {encoding}"}
    body = COMPRESSORS[encoding](event_envelope(event))

    response = await client.post(
        _url(tenant), content=body,
        headers={**auth_header(tenant.key), "Content-Encoding": encoding},
    )

    assert response.status_code == 200, response.text
    assert response.json() == {"id": event_id}
    [(_, message)] = await published(consumer)
    assert message.payload == compact(event)


async def test_unsupported_and_corrupt_encodings_are_refused(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    body = event_envelope({"message": "x"})
    unsupported = await client.post(
        _url(tenant), content=body, headers={**auth_header(tenant.key), "Content-Encoding": "lz4"}
    )
    corrupt = await client.post(
        _url(tenant), content=b"\x1f\x8b not gzip at all",
        headers={**auth_header(tenant.key), "Content-Encoding": "gzip"},
    )

    assert unsupported.status_code == 415
    assert "lz4" in unsupported.json()["detail"]
    assert corrupt.status_code == 400
    assert corrupt.headers["X-Sentry-Error"] == corrupt.json()["detail"]
    assert await published(consumer) == []


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "empty"),
        (b"not json\n", "envelope header"),
        (b'{}\n{"type":"event","length":500}\n{}\n', "length"),
        (b'{}\n{"length":2}\n{}\n', "no type"),
    ],
)
async def test_malformed_envelope_is_a_400_with_the_reason(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer, body: bytes, reason: str
) -> None:
    response = await client.post(_url(tenant), content=body, headers=auth_header(tenant.key))

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert reason in detail
    assert response.headers["X-Sentry-Error"] == detail
    assert await published(consumer) == []


@pytest.mark.parametrize("payload", [b"[1, 2]", b"not json", b'"text"', b"\xff\xfe{"])
async def test_event_item_must_be_a_json_object(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer, payload: bytes
) -> None:
    body = envelope(({"type": "event"}, payload))

    response = await client.post(_url(tenant), content=body, headers=auth_header(tenant.key))

    assert response.status_code == 400
    assert "item 1 (event)" in response.json()["detail"]
    assert await published(consumer) == []


async def test_session_only_envelope_publishes_each_item_with_its_own_id(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    session = compact({"sid": uuid.uuid4().hex, "status": "ok"})
    report = compact({"discarded_events": []})
    body = envelope(({"type": "session"}, session), ({"type": "client_report"}, report))

    response = await client.post(_url(tenant), content=body, headers=auth_header(tenant.key))

    assert response.status_code == 200
    assert response.json() == {}
    messages = [m for _, m in await published(consumer)]
    assert [(m.item_type, m.payload) for m in messages] == [
        ("session", session), ("client_report", report)
    ]
    assert len({m.item_id for m in messages}) == 2
    assert all(re.fullmatch(r"[0-9a-f]{32}", m.item_id) for m in messages)


async def test_unknown_items_are_skipped_and_attachments_go_to_the_blob_store(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    event = {"event_id": uuid.uuid4().hex, "message": "with attachment"}
    body = envelope(
        ({"type": "attachment", "filename": "log.txt"}, b"line one\nline two"),
        event_item(event),
        ({"type": "some_future_type"}, b"\x00\x01binary"),
        ({"type": "transaction"}, compact({"type": "transaction"})),
        header={"event_id": event["event_id"]},
    )

    response = await client.post(_url(tenant), content=body, headers=auth_header(tenant.key))

    assert response.status_code == 200, response.text
    assert response.json() == {"id": event["event_id"]}
    messages = [m for _, m in await published(consumer)]
    assert [m.item_type for m in messages] == ["attachment", "event", "transaction"]
    attachment = messages[0]
    assert attachment.payload == b""  # the bytes are in the blob store, not on the bus
    assert attachment.meta["filename"] == "log.txt"
    assert attachment.meta["size"] == 17
    assert attachment.meta["blob_key"] == (
        f"{tenant.project_id}/{event['event_id']}/{attachment.item_id}"
    )
    assert messages[1].payload == compact(event)


async def test_event_id_falls_back_to_the_envelope_header_then_a_new_one(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    header_id = uuid.uuid4()
    from_header = event_envelope({"message": "a"}, header={"event_id": str(header_id)})
    generated = event_envelope({"message": "b"})

    first = await client.post(_url(tenant), content=from_header, headers=auth_header(tenant.key))
    second = await client.post(_url(tenant), content=generated, headers=auth_header(tenant.key))

    assert first.json() == {"id": header_id.hex}
    new_id = second.json()["id"]
    assert len(new_id) == 32 and new_id != header_id.hex
    assert [m.event_id for _, m in await published(consumer)] == [header_id.hex, new_id]


async def test_dashed_uppercase_event_id_is_normalised_and_a_bad_one_refused(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    event_id = uuid.uuid4()
    dashed = event_envelope({"event_id": str(event_id).upper()})
    bad = event_envelope({"event_id": "not-an-id"})

    accepted = await client.post(_url(tenant), content=dashed, headers=auth_header(tenant.key))
    refused = await client.post(_url(tenant), content=bad, headers=auth_header(tenant.key))

    assert accepted.json() == {"id": event_id.hex}
    assert refused.status_code == 400
    assert "event_id" in refused.json()["detail"]
    assert [m.event_id for _, m in await published(consumer)] == [event_id.hex]


async def test_path_without_trailing_slash_is_accepted(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    response = await client.post(
        f"/api/{tenant.project_id}/envelope", content=event_envelope({"message": "no slash"}),
        headers=auth_header(tenant.key),
    )

    assert response.status_code == 200
    assert len(await published(consumer)) == 1


async def test_cors_preflight_and_error_headers(client: AsyncClient, tenant: Tenant) -> None:
    preflight = await client.options(
        _url(tenant),
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"},
    )
    refused = await client.post(_url(tenant), content=b"{}\n")

    assert preflight.status_code == 200
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    allowed = preflight.headers["Access-Control-Allow-Headers"]
    for header in ("x-sentry-auth", "content-type", "content-encoding", "sentry-trace", "baggage"):
        assert header in allowed
    assert refused.status_code == 401
    assert refused.headers["Access-Control-Allow-Origin"] == "*"
    assert "x-sentry-error" in refused.headers["Access-Control-Expose-Headers"]


async def test_forwarded_for_is_honoured_only_when_trusted(
    make_client: ClientFactory, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    headers = {**auth_header(tenant.key), "X-Forwarded-For": "198.51.100.9, 10.0.0.1"}
    body = event_envelope({"message": "proxied"})
    untrusting = await make_client()
    trusting = await make_client(trust_forwarded_for=True)

    assert (await untrusting.post(_url(tenant), content=body, headers=headers)).status_code == 200
    assert (await trusting.post(_url(tenant), content=body, headers=headers)).status_code == 200

    ips = [m.client_ip for _, m in await published(consumer)]
    assert ips == [CLIENT_ADDRESS[0], "198.51.100.9"]


def test_router_has_no_service_endpoints() -> None:
    paths = {getattr(route, "path", "") for route in router.routes}
    assert "/api/{project_id}/envelope/" in paths
    assert not paths & {"/healthz", "/readyz", "/metrics"}
