"""Size limits, the store endpoint, rate limiting and an unavailable bus."""

from __future__ import annotations

import base64
import gzip
import uuid
import zlib
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient

from faultline_core.bus.embedded import EmbeddedConsumer, EmbeddedProducer
from faultline_core.settings import PostgresSettings
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_core.storage.postgres.tenancy import ProjectKey
from faultline_relay.limits import RateLimiter, Refusal
from tests.unit.relay.conftest import RELAY_LIMITS, ClientFactory, Tenant
from tests.unit.relay.support import (
    auth_header,
    compact,
    envelope,
    event_envelope,
    event_item,
    published,
)


def _url(tenant: Tenant, endpoint: str = "envelope") -> str:
    return f"/api/{tenant.project_id}/{endpoint}/"


async def test_declared_body_over_the_compressed_limit_is_refused(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    body = b"x" * (RELAY_LIMITS.max_compressed_bytes + 1)

    response = await client.post(_url(tenant), content=body, headers=auth_header(tenant.key))

    assert response.status_code == 413
    assert response.headers["X-Sentry-Error"] == response.json()["detail"]
    assert await published(consumer) == []


async def test_chunked_body_over_the_limit_is_refused_while_streaming(
    client: AsyncClient, tenant: Tenant
) -> None:
    chunk = b"y" * 16 * 1024
    chunks_sent = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        while chunks_sent < 100:  # far beyond the limit if the relay kept reading
            chunks_sent += 1
            yield chunk

    response = await client.post(_url(tenant), content=endless(), headers=auth_header(tenant.key))

    assert response.status_code == 413
    assert chunks_sent * len(chunk) <= RELAY_LIMITS.max_compressed_bytes + 2 * len(chunk)


@pytest.mark.parametrize("max_decompressed", [256 * 1024, 3 * 1024 * 1024])
async def test_decompression_bomb_is_refused(
    make_client: ClientFactory, tenant: Tenant, consumer: EmbeddedConsumer,
    max_decompressed: int,
) -> None:
    # Past the inline limit too, so the threaded decoding path is checked as well.
    settings = RELAY_LIMITS.model_copy(update={"max_decompressed_bytes": max_decompressed})
    client = await make_client(settings)
    bomb = gzip.compress(b"\n" * (max_decompressed + 1))
    assert len(bomb) < settings.max_compressed_bytes

    response = await client.post(
        _url(tenant), content=bomb, headers={**auth_header(tenant.key), "Content-Encoding": "gzip"}
    )

    assert response.status_code == 413
    assert "decompressed" in response.json()["detail"]
    assert await published(consumer) == []


async def test_large_envelope_decoded_off_the_loop_is_accepted(
    make_client: ClientFactory, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    settings = RELAY_LIMITS.model_copy(update={"max_decompressed_bytes": 4 * 1024 * 1024})
    client = await make_client(settings)
    event = {"event_id": uuid.uuid4().hex, "message": "after a big attachment"}
    body = envelope(({"type": "attachment"}, b"a" * 2 * 1024 * 1024), event_item(event))

    response = await client.post(
        _url(tenant), content=gzip.compress(body),
        headers={**auth_header(tenant.key), "Content-Encoding": "gzip"},
    )

    assert response.status_code == 200, response.text
    assert [m.payload for _, m in await published(consumer)] == [compact(event)]


async def test_event_item_over_the_event_limit_is_refused(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    big = {"message": "m" * RELAY_LIMITS.max_event_bytes}

    response = await client.post(
        _url(tenant), content=event_envelope(big), headers=auth_header(tenant.key)
    )
    store = await client.post(
        _url(tenant, "store"), content=compact(big), headers=auth_header(tenant.key)
    )

    assert response.status_code == 413
    assert store.status_code == 413
    assert await published(consumer) == []


async def test_store_endpoint_publishes_json_and_legacy_bodies(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    plain = {"event_id": uuid.uuid4().hex, "message": "stored"}
    legacy = {"event_id": uuid.uuid4().hex, "message": "legacy"}
    legacy_body = base64.b64encode(zlib.compress(compact(legacy)))

    first = await client.post(_url(tenant, "store"), content=compact(plain),
                              headers=auth_header(tenant.key))
    second = await client.post(f"/api/{tenant.project_id}/store", content=legacy_body,
                               params={"sentry_key": tenant.key})
    refused = await client.post(_url(tenant, "store"), content=b"[]",
                                headers=auth_header(tenant.key))

    assert first.json() == {"id": plain["event_id"]}
    assert second.json() == {"id": legacy["event_id"]}
    assert refused.status_code == 400
    messages = [m for _, m in await published(consumer)]
    assert [m.payload for m in messages] == [compact(plain), compact(legacy)]


async def test_rate_limit_answers_429_with_sentry_headers(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    statuses = []
    for n in range(3):
        response = await client.post(
            _url(tenant), content=event_envelope({"message": f"event {n}"}),
            headers=auth_header(tenant.limited_key),
        )
        statuses.append(response.status_code)

    assert statuses == [200, 200, 429]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert response.headers["X-Sentry-Rate-Limits"] == (
        f"{retry_after}:error;default;security:key:key_quota"
    )
    assert len(await published(consumer)) == 2
    # Another key of the same project is not affected.
    other = await client.post(
        _url(tenant), content=event_envelope({"message": "x"}), headers=auth_header(tenant.key)
    )
    assert other.status_code == 200


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _key(count: int | None, window: int | None) -> ProjectKey:
    return ProjectKey(1, 1, "k" * 32, None, True, count, window)


def _wait(refusal: Refusal | None) -> int | None:
    return None if refusal is None else refusal.retry_after_s


def test_rate_limiter_uses_fixed_windows() -> None:
    clock = _Clock()
    limiter = RateLimiter(clock=clock)
    key = _key(3, 10)

    assert limiter.try_consume(key, 2) is None
    assert _wait(limiter.try_consume(key, 2)) == 10
    assert limiter.try_consume(key, 1) is None
    clock.now += 4.5
    assert _wait(limiter.retry_after(key)) == 6
    clock.now += 5.5
    assert limiter.retry_after(key) is None
    assert limiter.try_consume(key, 3) is None


def test_rate_limiter_ignores_keys_without_a_limit() -> None:
    limiter = RateLimiter(clock=_Clock())
    for unlimited in (_key(None, None), _key(5, None), _key(None, 60)):
        assert limiter.try_consume(unlimited, 10_000) is None
    # A zero limit refuses everything until the window (aligned to multiples of 60 s:
    # 960..1020 at t=1000) ends.
    assert _wait(limiter.try_consume(_key(0, 60), 1)) == 20


async def test_unavailable_bus_answers_503_and_publishes_nothing(
    make_client: ClientFactory, tenant: Tenant, consumer: EmbeddedConsumer,
    pg_settings: PostgresSettings, pool: Pool,
) -> None:
    dead_pool = await open_pool(pg_settings, name="relay-tests-dead")
    await dead_pool.close()
    dead_producer = EmbeddedProducer(dead_pool, publish_timeout_s=1.0)
    await dead_producer.start()
    client = await make_client(bus_producer=dead_producer)
    try:
        envelope_response = await client.post(
            _url(tenant), content=event_envelope({"message": "lost?"}),
            headers=auth_header(tenant.key),
        )
        store_response = await client.post(
            _url(tenant, "store"), content=compact({"message": "lost?"}),
            headers=auth_header(tenant.key),
        )
    finally:
        await dead_producer.close()

    for response in (envelope_response, store_response):
        assert response.status_code == 503
        assert int(response.headers["Retry-After"]) > 0
        assert response.headers["X-Sentry-Error"] == response.json()["detail"]
    assert await published(consumer) == []

