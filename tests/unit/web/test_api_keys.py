"""DSN keys and project quotas through the API (issue 4): Sentry's shapes, validation,
tenant isolation and who may change them."""

from __future__ import annotations

from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row
from pydantic import SecretStr

from faultline_core.settings import PostgresSettings
from faultline_core.storage.postgres import tenancy
from faultline_core.storage.postgres.pool import open_pool
from tests.unit.web.conftest import Seeded, bearer
from tests.unit.web.tenants import member_token, new_project, transaction


async def _own_project(seeded: Seeded, org: str = "acme") -> tuple[str, str]:
    """A project of its own in ``org`` (these tests change state), with one key."""
    async with transaction(seeded) as conn:
        project_id, slug = await new_project(conn, org, "quota")
        public_key = await tenancy.create_project_key(conn, project_id)
    return f"/api/0/projects/{org}/{slug}/", public_key


async def test_keys_are_listed_in_sentrys_shape(client: httpx.AsyncClient, seeded: Seeded) -> None:
    project_url, public_key = await _own_project(seeded)

    response = await client.get(project_url + "keys/", headers=bearer(seeded.tokens["alice"]))

    assert response.status_code == 200
    [key] = response.json()
    project_id = key["projectId"]
    assert key["id"] == key["public"] == public_key
    assert key["name"] == key["label"] == "Default"
    assert key["isActive"] is True and key["rateLimit"] is None
    assert key["dsn"]["public"] == f"http://{public_key}@faultline.test/{project_id}"
    assert key["dsn"]["secret"] == (
        f"http://{public_key}:{key['secret']}@faultline.test/{project_id}"
    )
    assert key["dsn"]["security"].endswith(f"/api/{project_id}/security/?sentry_key={public_key}")


async def test_a_key_update_sets_and_clears_its_rate_limit(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    project_url, public_key = await _own_project(seeded)
    url, auth = f"{project_url}keys/{public_key}/", bearer(seeded.tokens["alice"])

    limited = await client.put(url, json={"rateLimit": {"window": 60, "count": 100},
                                          "name": " Backend ", "isActive": False}, headers=auth)
    cleared = await client.put(url, json={"rateLimit": None}, headers=auth)

    assert limited.status_code == 200, limited.text
    assert limited.json()["rateLimit"] == {"window": 60, "count": 100}
    assert (limited.json()["name"], limited.json()["isActive"]) == ("Backend", False)
    assert cleared.json()["rateLimit"] is None
    assert cleared.json()["name"] == "Backend"  # fields not sent stay as they are
    connect = psycopg.AsyncConnection.connect(seeded.pg_dsn, row_factory=dict_row)
    async with await connect as conn:
        cur = await conn.execute(
            "SELECT rate_limit_count, rate_limit_window, is_active FROM project_keys"
            " WHERE public_key = %s", (public_key,),
        )
        assert await cur.fetchone() == {
            "rate_limit_count": None, "rate_limit_window": None, "is_active": False
        }


async def test_a_key_can_be_created_with_a_rate_limit(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    project_url, _ = await _own_project(seeded)
    auth = bearer(seeded.tokens["alice"])

    created = await client.post(project_url + "keys/", headers=auth,
                                json={"name": "ci", "rateLimit": {"window": 3600, "count": 5}})

    assert created.status_code == 201, created.text
    assert created.json()["rateLimit"] == {"window": 3600, "count": 5}
    listed = await client.get(project_url + "keys/", headers=auth)
    assert [k["name"] for k in listed.json()] == ["Default", "ci"]
    one = await client.get(f"{project_url}keys/{created.json()['id']}/", headers=auth)
    assert one.json() == created.json()


@pytest.mark.parametrize("body", [
    {"rateLimit": {"window": 0, "count": 10}},
    {"rateLimit": {"window": 60}},
    {"rateLimit": {"window": 60, "count": -1}},
    {"rateLimit": {"window": "60", "count": 1}},
    {"rateLimit": {"window": 60, "count": True}},
    {"rateLimit": {"window": 60, "count": 1, "extra": 1}},
    {"rateLimit": 100},
    {"isActive": "yes"},
    {"name": ""},
    {"name": "x" * 65},
    [1, 2],
])
async def test_invalid_key_updates_are_400_with_detail(
    client: httpx.AsyncClient, seeded: Seeded, body: Any
) -> None:
    project_url, public_key = await _own_project(seeded)

    response = await client.put(f"{project_url}keys/{public_key}/", json=body,
                                headers=bearer(seeded.tokens["alice"]))

    assert response.status_code == 400
    assert response.json()["detail"]


async def test_project_quotas_are_set_read_and_validated(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    project_url, _ = await _own_project(seeded)
    auth = bearer(seeded.tokens["alice"])

    before = await client.get(project_url, headers=auth)
    both = await client.put(project_url, json={"quotas": {"perMinute": 2, "perHour": 100}},
                            headers=auth)
    one = await client.put(project_url, json={"quotas": {"perHour": None}}, headers=auth)
    bad = [await client.put(project_url, json=body, headers=auth) for body in (
        {"quotas": {"perMinute": -1}}, {"quotas": {"perDay": 5}}, {"quotas": 5},
        {"quotas": {"perMinute": 2**31}}, {"quotas": {"perMinute": 1.5}},
    )]

    assert before.json()["quotas"] == {"perMinute": None, "perHour": None}
    assert before.json()["organization"]["slug"] == "acme"
    assert both.json()["quotas"] == {"perMinute": 2, "perHour": 100}
    assert one.json()["quotas"] == {"perMinute": 2, "perHour": None}
    assert [r.status_code for r in bad] == [400] * len(bad)
    assert all(r.json()["detail"] for r in bad)
    after = await client.get(project_url, headers=auth)
    assert after.json()["quotas"] == {"perMinute": 2, "perHour": None}
    key = await _find_quotas(seeded, project_url)
    assert key == (2, None)


async def _find_quotas(seeded: Seeded, project_url: str) -> tuple[int | None, int | None]:
    """What the relay's key lookup reads for the project's first key."""
    slug = project_url.rstrip("/").rsplit("/", 1)[1]
    connect = psycopg.AsyncConnection.connect(seeded.pg_dsn, row_factory=dict_row)
    async with await connect as conn:
        cur = await conn.execute(
            "SELECT k.public_key FROM project_keys k JOIN projects p ON p.id = k.project_id"
            " WHERE p.slug = %s", (slug,),
        )
        row = await cur.fetchone()
    assert row is not None
    pool = await open_pool(PostgresSettings(dsn=SecretStr(seeded.pg_dsn), pool_min_size=1,
                                            pool_max_size=1), name="keys-test")
    try:
        key = await tenancy.find_project_key(pool, row["public_key"])
    finally:
        await pool.close()
    assert key is not None
    return key.quota_per_minute, key.quota_per_hour


async def test_another_tenants_keys_and_project_are_404(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    project_url, public_key = await _own_project(seeded, org="acme")
    bob = bearer(seeded.tokens["bob"])
    limit = {"rateLimit": {"window": 60, "count": 1}}

    responses = [
        await client.get(project_url + "keys/", headers=bob),
        await client.post(project_url + "keys/", json={}, headers=bob),
        await client.get(f"{project_url}keys/{public_key}/", headers=bob),
        await client.put(f"{project_url}keys/{public_key}/", json=limit, headers=bob),
        await client.get(project_url, headers=bob),
        await client.put(project_url, json={"quotas": {"perMinute": 1}}, headers=bob),
        # A key of another project, addressed through a project the caller may see.
        await client.get(f"/api/0/projects/globex/shop/keys/{public_key}/", headers=bob),
    ]

    assert [r.status_code for r in responses] == [404] * len(responses)
    alice = await client.get(f"{project_url}keys/{public_key}/",
                             headers=bearer(seeded.tokens["alice"]))
    assert alice.json()["rateLimit"] is None


async def test_only_managers_and_superusers_may_change_limits(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    project_url, public_key = await _own_project(seeded)
    member = bearer(await member_token(seeded, "member"))
    admin = bearer(await member_token(seeded, "admin"))
    root = bearer(seeded.superuser_token)
    limit = {"rateLimit": {"window": 60, "count": 1}}
    quota = {"quotas": {"perMinute": 1}}

    assert (await client.get(project_url + "keys/", headers=member)).status_code == 200
    refused = [
        await client.put(f"{project_url}keys/{public_key}/", json=limit, headers=member),
        await client.put(project_url, json=quota, headers=member),
        await client.post(project_url + "keys/", json={}, headers=member),
    ]
    assert [r.status_code for r in refused] == [403, 403, 403]
    assert all(r.json()["detail"] for r in refused)
    for token in (admin, root):
        ok = await client.put(f"{project_url}keys/{public_key}/", json=limit, headers=token)
        assert ok.status_code == 200
        assert (await client.put(project_url, json=quota, headers=token)).status_code == 200
