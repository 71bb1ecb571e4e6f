"""Hostile and broken requests against the real relay (real PostgreSQL, real embedded bus).

Every case must end in a clear 2xx/4xx with a reason, never a 500, and the relay must
keep accepting normal events afterwards.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import json
import re
import time
import tracemalloc
import uuid
import zlib
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack

import brotli
import pytest
import zstandard
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response

from faultline_core.bus.embedded import EmbeddedConsumer, EmbeddedProducer
from faultline_core.normalize import normalize_event
from faultline_core.settings import BusSettings, RelaySettings
from faultline_core.storage.postgres.pool import Pool
from faultline_relay.context import RelayContext
from faultline_relay.routes import router
from tests.unit.relay.conftest import CLIENT_ADDRESS, RELAY_LIMITS, ClientFactory, Tenant
from tests.unit.relay.support import (
    auth_header,
    compact,
    envelope,
    event_envelope,
    event_item,
    published,
    scratch_blobs,
)

HEX32 = re.compile(r"[0-9a-f]{32}")
MIB = 1024 * 1024
BIG_LIMITS = RelaySettings(
    max_compressed_bytes=4 * MIB, max_decompressed_bytes=8 * MIB, max_event_bytes=4 * MIB
)
COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor(write_checksum=True).compress,
}


def _url(project_id: int) -> str:
    return f"/api/{project_id}/envelope/"


async def _post(
    client: AsyncClient, tenant: Tenant, body: bytes, encoding: str | None = None
) -> Response:
    headers = auth_header(tenant.key)
    if encoding is not None:
        headers["Content-Encoding"] = encoding
    return await client.post(_url(tenant.project_id), content=body, headers=headers)


def _assert_refused(response: Response, status: int, reason: str = "") -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert reason in detail
    assert response.headers["X-Sentry-Error"]


async def _assert_still_accepting(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    """A normal event goes through after the hostile one, so the relay is alive."""
    event_id = uuid.uuid4().hex
    response = await _post(client, tenant, event_envelope({"event_id": event_id}))
    assert response.status_code == 200, response.text
    assert [message.event_id for _, message in await published(consumer)][-1] == event_id


# -- compression --------------------------------------------------------------------------


def _damaged(encoding: str, damage: str) -> bytes:
    body = COMPRESSORS[encoding](event_envelope({"message": "broken " * 200}))
    half = len(body) // 2
    if damage == "truncated":
        return body[:half]
    return body[:half] + bytes(byte ^ 0xA5 for byte in body[half:])


@pytest.mark.parametrize("damage", ["truncated", "corrupt"])
@pytest.mark.parametrize("encoding", sorted(COMPRESSORS))
async def test_truncated_and_corrupt_compressed_bodies_are_400(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer, encoding: str, damage: str
) -> None:
    response = await _post(client, tenant, _damaged(encoding, damage), encoding)

    _assert_refused(response, 400)
    assert await published(consumer) == []
    await _assert_still_accepting(client, tenant, consumer)


@functools.cache
def _bomb(encoding: str) -> bytes:
    """About 1 GiB of zeros in well under 2 MiB, as concatenated members or frames."""
    block = bytes(8 * MIB)
    if encoding == "gzip":
        return gzip.compress(block, compresslevel=9) * 128
    if encoding == "zstd":
        return zstandard.ZstdCompressor(level=3).compress(block) * 128
    # A brotli stream cannot be concatenated; its ratio makes a single one enough.
    single: bytes = brotli.compress(bytes(256 * MIB), quality=1)
    return single


@pytest.mark.parametrize("encoding", ["gzip", "zstd", "br"])
async def test_decompression_bomb_is_413_without_inflating_it(
    make_client: ClientFactory, tenant: Tenant, consumer: EmbeddedConsumer, encoding: str
) -> None:
    # Past the inline limit, so the threaded decoding path is the one measured.
    settings = RelaySettings(
        max_compressed_bytes=2 * MIB, max_decompressed_bytes=3 * MIB, max_event_bytes=MIB
    )
    client = await make_client(settings)
    bomb = _bomb(encoding)
    assert len(bomb) < settings.max_compressed_bytes

    tracemalloc.start()
    try:
        response = await _post(client, tenant, bomb, encoding)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    _assert_refused(response, 413, "decompressed")
    # The limit plus the compressed body and a few copies, nowhere near the 256+ MiB.
    assert peak < 16 * MIB, f"peak {peak / MIB:.1f} MiB"
    assert await published(consumer) == []
    await _assert_still_accepting(client, tenant, consumer)


# -- headers ------------------------------------------------------------------------------


async def test_long_auth_header_values_are_refused_with_a_reason(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    long_key = {"X-Sentry-Auth": "Sentry sentry_version=7, sentry_key=" + "a" * 16 * 1024}
    long_secret = {"X-Sentry-Auth": auth_header(tenant.key, "s" * 16 * 1024)["X-Sentry-Auth"]}
    only_commas = {"X-Sentry-Auth": "," * 16 * 1024}
    body = event_envelope({"message": "x"})

    for headers, reason in [
        (long_key, "invalid sentry_key"),
        (long_secret, "invalid sentry_secret"),
        (only_commas, "invalid X-Sentry-Auth"),
    ]:
        response = await client.post(_url(tenant.project_id), content=body, headers=headers)
        _assert_refused(response, 401, reason)
    assert await published(consumer) == []
    await _assert_still_accepting(client, tenant, consumer)


def _oversized_headers(tenant: Tenant, case: str) -> list[tuple[str, str]]:
    if case == "64 KiB auth header":
        padded = auth_header(tenant.key)["X-Sentry-Auth"] + ", sentry_client=" + "c" * 64 * 1024
        return [("X-Sentry-Auth", padded)]
    junk = [(f"x-junk-{i}", "v" * 50) for i in range(1000)]
    return junk + list(auth_header(tenant.key).items())


@pytest.mark.parametrize("endpoint", ["envelope", "store"])
@pytest.mark.parametrize("case", ["64 KiB auth header", "1000 headers"])
async def test_oversized_header_blocks_are_431(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer, case: str, endpoint: str
) -> None:
    body = event_envelope({}) if endpoint == "envelope" else compact({"message": "x"})

    response = await client.post(
        f"/api/{tenant.project_id}/{endpoint}/", content=body,
        headers=_oversized_headers(tenant, case),
    )

    _assert_refused(response, 431, "request headers exceed")
    assert await published(consumer) == []
    await _assert_still_accepting(client, tenant, consumer)


async def test_a_hundred_unrelated_headers_do_not_disturb_ingestion(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    headers = [(f"x-junk-{i}", "v" * 50) for i in range(100)]
    headers += list(auth_header(tenant.key).items())
    event_id = uuid.uuid4().hex

    response = await client.post(
        _url(tenant.project_id), content=event_envelope({"event_id": event_id}), headers=headers
    )

    assert response.status_code == 200
    assert [message.event_id for _, message in await published(consumer)] == [event_id]


# -- payload encoding and shape -----------------------------------------------------------


@pytest.mark.parametrize("where", ["event", "envelope header"])
async def test_invalid_utf8_is_a_clear_400(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer, where: str
) -> None:
    broken = b'{"message":"caf\xe9 \xff\xfe"}'
    if where == "event":
        body = envelope(({"type": "event"}, broken))
    else:
        body = broken + b"\n" + envelope(event_item({"message": "x"}))

    response = await _post(client, tenant, body)

    _assert_refused(response, 400, "not valid JSON")
    assert await published(consumer) == []
    # Had such a payload reached the processor, it would still be salvaged.
    salvaged = normalize_event(1, uuid.uuid4().hex, broken, time.time(), None)
    assert "\ufffd" in salvaged.title
    await _assert_still_accepting(client, tenant, consumer)


async def test_lone_surrogate_escapes_are_accepted_and_normalisable(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    payload = b'{"message":"half a pair: \\ud83d","tags":{"\\udc00":"\\ud800"}}'

    response = await _post(client, tenant, envelope(({"type": "event"}, payload)))

    assert response.status_code == 200
    [(_, message)] = await published(consumer)
    event = normalize_event(1, message.event_id, message.payload, message.received_at, None)
    json.dumps(event.data, ensure_ascii=False).encode("utf-8")
    assert event.title.startswith("half a pair")


@pytest.mark.parametrize("where", ["event", "envelope header", "item header"])
async def test_json_nested_ten_thousand_deep_is_400(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer, where: str
) -> None:
    deep = b"[" * 10_000 + b"]" * 10_000
    nested = b'{"extra":' + deep + b"}"
    body = {
        "event": envelope(({"type": "event"}, nested)),
        "envelope header": nested + b"\n" + envelope(event_item({})),
        "item header": b"{}\n" + nested + b"\n{}\n",
    }[where]

    response = await _post(client, tenant, body)

    _assert_refused(response, 400, "not valid JSON")
    assert await published(consumer) == []
    await _assert_still_accepting(client, tenant, consumer)


async def test_json_nested_just_under_the_parser_limit_is_accepted_and_normalisable(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    payload = b'{"extra":{"deep":' + b"[" * 900 + b"]" * 900 + b"}}"

    response = await _post(client, tenant, envelope(({"type": "event"}, payload)))

    assert response.status_code == 200
    [(_, message)] = await published(consumer)
    event = normalize_event(1, message.event_id, message.payload, message.received_at, None)
    assert "extra" in event.data


def _many_tags_event() -> bytes:
    return compact({"message": "tagged", "tags": {f"tag{i}": f"value{i}" for i in range(100_000)}})


async def test_a_hundred_thousand_tags_over_the_item_limit_are_413(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    body = gzip.compress(envelope(({"type": "event"}, _many_tags_event())))

    response = await _post(client, tenant, body, "gzip")

    _assert_refused(response, 413)
    assert await published(consumer) == []


async def test_a_hundred_thousand_tags_are_accepted_then_capped_by_the_normaliser(
    make_client: ClientFactory, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    client = await make_client(BIG_LIMITS)
    body = gzip.compress(envelope(({"type": "event"}, _many_tags_event())))

    response = await _post(client, tenant, body, "gzip")

    assert response.status_code == 200
    [(_, message)] = await published(consumer)
    tracemalloc.start()
    try:
        event = normalize_event(1, message.event_id, message.payload, message.received_at, None)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert ("too_many_values", "tags") in {(e["type"], e["name"]) for e in event.errors}
    assert 500 <= len(event.tags) < 600
    assert len(json.dumps(event.data)) < 64 * 1024
    # Decoding the 2.4 MB payload dominates; nothing grows with the tag count beyond it.
    assert peak < 64 * MIB, f"peak {peak / MIB:.1f} MiB"


# -- event ids ----------------------------------------------------------------------------


async def test_missing_event_id_is_assigned_by_the_relay(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    response = await _post(client, tenant, event_envelope({"message": "no id"}))

    assert response.status_code == 200
    assigned = response.json()["id"]
    assert HEX32.fullmatch(assigned)
    [(_, message)] = await published(consumer)
    assert message.event_id == assigned


async def test_duplicate_event_ids_in_one_envelope_are_refused(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    event_id = uuid.uuid4().hex
    first, second = {"event_id": event_id, "message": "a"}, {"event_id": event_id, "message": "b"}
    body = envelope(event_item(first), event_item(second), header={"event_id": event_id})

    response = await _post(client, tenant, body)

    # The processor would count the second as a duplicate of the first: a 200 would drop it.
    assert response.status_code == 400
    assert "same event_id" in response.json()["detail"]
    assert await published(consumer) == []


async def test_events_relying_on_one_header_id_are_refused(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    body = envelope(event_item({"message": "first"}), event_item({"message": "second"}),
                    header={"event_id": uuid.uuid4().hex})

    response = await _post(client, tenant, body)

    assert response.status_code == 400
    assert await published(consumer) == []


# -- keys ---------------------------------------------------------------------------------


def _dsn(public_key: str, project_id: int) -> str:
    return f"http://{public_key}@relay.test/{project_id}"


async def test_key_of_another_project_is_403(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    body = event_envelope({"message": "x"})

    by_header = await client.post(
        _url(tenant.project_id), content=body, headers=auth_header(tenant.other_key)
    )
    by_dsn_only = await client.post(
        _url(tenant.project_id),
        content=event_envelope({}, header={"dsn": _dsn(tenant.other_key, tenant.project_id)}),
    )

    for response in (by_header, by_dsn_only):
        _assert_refused(response, 403, "not valid for this project")
    assert await published(consumer) == []


async def test_envelope_dsn_disagreeing_with_the_header_is_401(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    body = event_envelope({}, header={"dsn": _dsn(tenant.other_key, tenant.other_project_id)})

    response = await _post(client, tenant, body)

    _assert_refused(response, 401, "conflicting DSN keys")
    assert await published(consumer) == []
    await _assert_still_accepting(client, tenant, consumer)


# -- slow clients -------------------------------------------------------------------------


@pytest.fixture
async def impatient_client(pool: Pool, producer: EmbeddedProducer) -> AsyncIterator[AsyncClient]:
    """A relay that gives a client 0.3 s to send its body."""
    context = RelayContext(
        RELAY_LIMITS, BusSettings(publish_timeout_s=2.0), pool, producer, scratch_blobs(),
        body_read_timeout_s=0.3
    )
    app = FastAPI()
    app.include_router(router)
    app.state.relay = context
    async with AsyncExitStack() as stack:
        transport = ASGITransport(app=app, client=CLIENT_ADDRESS)
        yield await stack.enter_async_context(
            AsyncClient(transport=transport, base_url="http://relay.test")
        )


async def test_slowloris_body_times_out_with_408(
    impatient_client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    body = event_envelope({"message": "slow"})
    chunks_sent = 0

    async def trickle() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        for byte in body:  # one byte every 50 ms: about 3 s for the whole body
            chunks_sent += 1
            yield bytes([byte])
            await asyncio.sleep(0.05)

    started = time.monotonic()
    response = await impatient_client.post(
        _url(tenant.project_id), content=trickle(), headers=auth_header(tenant.key)
    )

    _assert_refused(response, 408, "not received within 0.3 s")
    assert time.monotonic() - started < 2.0
    assert chunks_sent < len(body)
    assert await published(consumer) == []
    await _assert_still_accepting(impatient_client, tenant, consumer)
