"""Rate limits and quotas (issue 4): the fixed-window limiter over key and project scopes,
the 429 SDKs back off on, and refusals counted as ``rate_limited`` outcomes in PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from prometheus_client import REGISTRY

from faultline_core.bus.embedded import EmbeddedConsumer, EmbeddedProducer
from faultline_core.settings import BusSettings
from faultline_core.storage.postgres.pool import Pool
from faultline_core.storage.postgres.tenancy import ProjectKey
from faultline_relay.context import RelayContext
from faultline_relay.limits import RateLimiter, Refusal, rate_limits_header
from faultline_relay.routes import router
from tests.unit.relay.conftest import RELAY_LIMITS, Tenant
from tests.unit.relay.support import (
    auth_header,
    compact,
    envelope,
    event_envelope,
    published,
    scratch_blobs,
)

ERRORS = "error;default;security"


class Clock:
    def __init__(self, now: float = 7200.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def project_key(
    count: int | None = None, window: int | None = None, per_minute: int | None = None,
    per_hour: int | None = None, public_key: str = "k" * 32, project_id: int = 1,
) -> ProjectKey:
    return ProjectKey(project_id, 1, public_key, None, True, count, window, per_minute, per_hour)


def waits(refusal: Refusal | None) -> list[tuple[str, str, int]]:
    assert refusal is not None
    return sorted((e.quota.scope, e.quota.reason, e.retry_after_s) for e in refusal.exhausted)


def test_project_quota_is_shared_by_all_keys_of_the_project() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    first, second = project_key(per_minute=3, public_key="a" * 32), project_key(
        per_minute=3, public_key="b" * 32
    )

    assert limiter.try_consume(first, 2) is None
    assert limiter.try_consume(second, 1) is None
    clock.now += 15
    assert waits(limiter.try_consume(second, 1)) == [("project", "project_quota", 45)]
    other_project = project_key(per_minute=3, public_key="c" * 32, project_id=2)
    assert limiter.try_consume(other_project, 3) is None
    clock.now += 45  # the next minute
    assert limiter.try_consume(first, 3) is None


def test_all_limits_are_charged_only_when_all_admit() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock)
    key = project_key(count=5, window=10, per_minute=100, per_hour=6)

    assert limiter.try_consume(key, 4) is None
    # The key's window has room for 1 only: refused, and the hour is not charged either.
    assert waits(limiter.try_consume(key, 2)) == [("key", "key_quota", 10)]
    clock.now += 10
    assert limiter.try_consume(key, 2) is None  # hour: 6 of 6 used now
    refusal = limiter.try_consume(key, 1)
    assert waits(refusal) == [("project", "project_quota", 3590)]
    assert refusal is not None and refusal.retry_after_s == 3590
    assert refusal.reason == "project_quota"


def test_retry_after_waits_for_every_exhausted_window_and_the_header_lists_each() -> None:
    clock = Clock(7200.0 + 30)
    limiter = RateLimiter(clock=clock)
    key = project_key(count=1, window=60, per_minute=1)
    assert limiter.try_consume(key, 1) is None

    refusal = limiter.retry_after(key)

    assert waits(refusal) == [("key", "key_quota", 30), ("project", "project_quota", 30)]
    assert refusal is not None
    error = refusal.error()
    assert error.status_code == 429
    assert error.headers["Retry-After"] == "30"
    assert error.headers["X-Sentry-Rate-Limits"] == (
        f"30:{ERRORS}:key:key_quota, 30:{ERRORS}:project:project_quota"
    )


def test_the_longest_limit_is_listed_last_so_sdks_keep_it() -> None:
    clock = Clock(7200.0 + 50)
    limiter = RateLimiter(clock=clock)
    key = project_key(count=1, window=60, per_hour=1)
    assert limiter.try_consume(key, 1) is None

    refusal = limiter.try_consume(key, 1)

    assert refusal is not None
    assert rate_limits_header(refusal) == (
        f"10:{ERRORS}:key:key_quota, 3550:{ERRORS}:project:project_quota"
    )
    assert refusal.retry_after_s == 3550


def test_memory_is_bounded_by_the_number_of_windows() -> None:
    clock = Clock()
    limiter = RateLimiter(clock=clock, max_windows=10)
    for n in range(100):
        assert limiter.try_consume(project_key(count=1, window=60, public_key=f"{n:032x}"), 1) \
            is None
        assert len(limiter) <= 10
    # Ended windows go first: after a minute, a fresh key still finds room.
    clock.now += 60
    limiter.try_consume(project_key(count=1, window=60, public_key="f" * 32), 1)
    assert len(limiter) == 1


@dataclass
class Relay:
    context: RelayContext
    client: AsyncClient


@pytest.fixture
async def relay(pool: Pool, producer: EmbeddedProducer) -> AsyncIterator[Relay]:
    context = RelayContext(
        RELAY_LIMITS, BusSettings(publish_timeout_s=2.0), pool, producer, scratch_blobs()
    )
    app = FastAPI()
    app.include_router(router)
    app.state.relay = context
    async with AsyncClient(transport=ASGITransport(app=app), base_url="http://relay.test") as c:
        yield Relay(context, c)
    await context.close()


async def _set_project_quota(pool: Pool, project_id: int, per_minute: int) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE projects SET quota_per_minute = %s WHERE id = %s", (per_minute, project_id)
        )


async def _outcomes(pool: Pool, project_id: int) -> list[tuple[str, str, str, int]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT outcome, category, reason, quantity FROM outcomes WHERE project_id = %s"
            " ORDER BY reason", (project_id,),
        )
        rows = await cur.fetchall()
    return [(r["outcome"], r["category"], r["reason"], r["quantity"]) for r in rows]


def _limited(reason: str) -> float:
    value = REGISTRY.get_sample_value(
        "faultline_relay_rate_limited_events_total", {"reason": reason, "category": "error"}
    )
    return value or 0.0


async def test_project_quota_answers_429_and_counts_the_outcome(
    relay: Relay, tenant: Tenant, pool: Pool, consumer: EmbeddedConsumer
) -> None:
    await _set_project_quota(pool, tenant.project_id, 2)
    url = f"/api/{tenant.project_id}/envelope/"
    counted_before = _limited("project_quota")

    statuses = []
    for n in range(4):
        response = await relay.client.post(
            url, content=event_envelope({"message": f"e{n}"}), headers=auth_header(tenant.key)
        )
        statuses.append(response.status_code)

    assert statuses == [200, 200, 429, 429]
    retry_after = int(response.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert response.headers["X-Sentry-Rate-Limits"] == (
        f"{retry_after}:{ERRORS}:project:project_quota"
    )
    assert len(await published(consumer)) == 2
    assert _limited("project_quota") == counted_before + 2
    # Counted in memory first; the flush (a background task in production) writes them.
    assert await _outcomes(pool, tenant.project_id) == []
    assert await relay.context.outcomes.flush()
    assert await _outcomes(pool, tenant.project_id) == [
        ("rate_limited", "error", "project_quota", 2)
    ]


async def test_the_project_quota_covers_every_key_and_the_store_probe(
    relay: Relay, tenant: Tenant, pool: Pool
) -> None:
    await _set_project_quota(pool, tenant.project_id, 1)
    first = await relay.client.post(
        f"/api/{tenant.project_id}/envelope/", content=event_envelope({"message": "one"}),
        headers=auth_header(tenant.key),
    )
    # Another key of the same project, on the store endpoint: refused before the body.
    second = await relay.client.post(
        f"/api/{tenant.project_id}/store/", content=compact({"message": "two"}),
        headers=auth_header(tenant.limited_key),
    )

    assert (first.status_code, second.status_code) == (200, 429)
    await relay.context.outcomes.flush()
    assert await _outcomes(pool, tenant.project_id) == [
        ("rate_limited", "error", "project_quota", 1)
    ]


async def test_items_that_are_not_errors_pass_an_exhausted_quota(
    relay: Relay, tenant: Tenant, pool: Pool, consumer: EmbeddedConsumer
) -> None:
    await _set_project_quota(pool, tenant.project_id, 0)
    session = ({"type": "session"}, compact({"sid": "a" * 32, "status": "ok"}))
    report = ({"type": "client_report"}, compact({"discarded_events": [
        {"reason": "ratelimit_backoff", "category": "error", "quantity": 3}]}))

    response = await relay.client.post(
        f"/api/{tenant.project_id}/envelope/", content=envelope(session, report),
        headers=auth_header(tenant.key),
    )

    assert response.status_code == 200
    assert [m.item_type for _, m in await published(consumer)] == ["session", "client_report"]


async def test_the_key_limit_is_counted_with_its_own_reason(
    relay: Relay, tenant: Tenant, pool: Pool
) -> None:
    for n in range(3):  # the limited key allows two events per minute
        await relay.client.post(
            f"/api/{tenant.project_id}/envelope/", content=event_envelope({"message": str(n)}),
            headers=auth_header(tenant.limited_key),
        )
    await relay.context.close()  # stopping flushes what is left

    assert await _outcomes(pool, tenant.project_id) == [
        ("rate_limited", "error", "key_quota", 1)
    ]
