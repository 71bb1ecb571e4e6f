"""DSN-key authentication: every place a key can be given, every way it can be wrong,
and the key cache in front of PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
from httpx import AsyncClient

from faultline_core.bus.embedded import EmbeddedConsumer
from faultline_core.storage.postgres.pool import Pool
from faultline_core.storage.postgres.tenancy import ProjectKey, find_project_key
from faultline_relay.auth import KeyCache
from tests.unit.relay.conftest import Tenant
from tests.unit.relay.support import auth_header, compact, event_envelope, published


def _url(project_id: object, endpoint: str = "envelope") -> str:
    return f"/api/{project_id}/{endpoint}/"


def _dsn(public_key: str, project_id: int, secret: str | None = None) -> str:
    auth = public_key if secret is None else f"{public_key}:{secret}"
    return f"http://{auth}@relay.test/{project_id}"


async def test_each_way_of_giving_the_key_is_accepted(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    body = event_envelope({"message": "hi"})
    in_dsn = event_envelope({"message": "hi"}, header={"dsn": _dsn(tenant.key, tenant.project_id)})
    url = _url(tenant.project_id)

    responses = [
        await client.post(url, content=body, headers=auth_header(tenant.key)),
        await client.post(url, content=body, params={"sentry_key": tenant.key,
                                                     "sentry_version": "7"}),
        await client.post(url, content=in_dsn),
        await client.post(url, content=in_dsn, headers=auth_header(tenant.key),
                          params={"sentry_key": tenant.key}),
        await client.post(url, content=body, headers=auth_header(tenant.key, tenant.secret)),
    ]

    assert [r.status_code for r in responses] == [200] * 5
    assert len(await published(consumer)) == 5


async def test_conflicting_keys_are_refused(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    url = _url(tenant.project_id)
    other_dsn = event_envelope({}, header={"dsn": _dsn(tenant.inactive_key, tenant.project_id)})

    header_vs_query = await client.post(
        url, content=event_envelope({}), headers=auth_header(tenant.key),
        params={"sentry_key": tenant.inactive_key},
    )
    header_vs_dsn = await client.post(url, content=other_dsn, headers=auth_header(tenant.key))
    secrets_differ = await client.post(
        url, content=event_envelope({}), headers=auth_header(tenant.key, tenant.secret),
        params={"sentry_key": tenant.key, "sentry_secret": "0" * 32},
    )

    for response in (header_vs_query, header_vs_dsn, secrets_differ):
        assert response.status_code == 401
        assert "conflicting" in response.json()["detail"]
    assert await published(consumer) == []


@pytest.mark.parametrize(
    ("case", "status"),
    [
        ("missing", 401),
        ("unknown", 401),
        ("malformed_header", 401),
        ("bad_dsn", 401),
        ("wrong_secret", 401),
        ("inactive", 403),
        ("other_project", 403),
        ("non_numeric_project", 403),
        ("missing_project", 403),
    ],
)
async def test_bad_credentials(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer, case: str, status: int
) -> None:
    url, body = _url(tenant.project_id), event_envelope({"message": "x"})
    headers = auth_header(tenant.key)
    match case:
        case "missing":
            headers = {}
        case "unknown":
            headers = auth_header("f" * 32)
        case "malformed_header":
            headers = {"X-Sentry-Auth": "Sentry sentry_version=7"}
        case "bad_dsn":
            headers, body = {}, event_envelope({}, header={"dsn": "not a dsn"})
        case "wrong_secret":
            headers = auth_header(tenant.key, "0" * 32)
        case "inactive":
            headers = auth_header(tenant.inactive_key)
        case "other_project":
            url = _url(tenant.other_project_id)
        case "non_numeric_project":
            url = _url("backend")
        case "missing_project":
            url = _url(tenant.other_project_id + 1000)

    response = await client.post(url, content=body, headers=headers)

    assert response.status_code == status
    assert response.headers["X-Sentry-Error"] == response.json()["detail"]
    assert await published(consumer) == []


async def test_store_does_not_read_keys_from_the_body(
    client: AsyncClient, tenant: Tenant
) -> None:
    body = compact({"message": "x", "dsn": _dsn(tenant.key, tenant.project_id)})

    response = await client.post(_url(tenant.project_id, "store"), content=body)

    assert response.status_code == 401


async def test_wrong_project_and_unknown_project_look_the_same(
    client: AsyncClient, tenant: Tenant
) -> None:
    body = event_envelope({})
    existing = await client.post(
        _url(tenant.other_project_id), content=body, headers=auth_header(tenant.key)
    )
    absent = await client.post(
        _url(tenant.other_project_id + 1000), content=body, headers=auth_header(tenant.key)
    )

    assert existing.status_code == absent.status_code == 403
    assert existing.json() == absent.json()


async def test_known_keys_are_served_from_the_cache(
    client: AsyncClient, tenant: Tenant, pool: Pool
) -> None:
    url, body = _url(tenant.project_id), event_envelope({"message": "cached"})
    first = await client.post(url, content=body, headers=auth_header(tenant.key))
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM project_keys WHERE public_key = %s", (tenant.key,))

    second = await client.post(url, content=body, headers=auth_header(tenant.key))

    assert first.status_code == second.status_code == 200


class _CountingLookup:
    """The real PostgreSQL lookup, counting how often it runs."""

    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.calls = 0

    async def __call__(self, public_key: str) -> ProjectKey | None:
        self.calls += 1
        await asyncio.sleep(0.01)  # hold the lookup open so concurrent callers overlap
        return await find_project_key(self.pool, public_key)


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_key_cache_expires_hits_and_misses(pool: Pool, tenant: Tenant) -> None:
    lookup, clock = _CountingLookup(pool), _Clock()
    cache = KeyCache(lookup, ttl_s=30.0, clock=clock)

    found = await cache.get(tenant.key)
    assert found is not None and found.project_id == tenant.project_id
    assert await cache.get("e" * 32) is None
    assert (await cache.get(tenant.key), await cache.get("e" * 32)) == (found, None)
    assert lookup.calls == 2

    clock.now = 10.0  # past the short negative TTL, within the positive one
    await cache.get(tenant.key)
    await cache.get("e" * 32)
    assert lookup.calls == 3

    clock.now = 31.0
    await cache.get(tenant.key)
    assert lookup.calls == 4


async def test_key_cache_shares_concurrent_lookups_and_stays_bounded(
    pool: Pool, tenant: Tenant
) -> None:
    lookup = _CountingLookup(pool)
    cache = KeyCache(lookup, ttl_s=30.0, max_entries=3)

    results = await asyncio.gather(*(cache.get(tenant.key) for _ in range(20)))
    assert lookup.calls == 1
    assert all(result is not None and result.public_key == tenant.key for result in results)

    for n in range(5):
        await cache.get(f"{n:032x}")
    assert len(cache) == 3

