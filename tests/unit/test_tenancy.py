from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from faultline_core.passwords import verify_password
from faultline_core.settings import PostgresSettings
from faultline_core.storage.postgres import tenancy
from faultline_core.storage.postgres.pool import open_pool


async def _seed(dsn: str, org: str) -> tuple[int, str, str]:
    async with await psycopg.AsyncConnection.connect(dsn, row_factory=dict_row) as conn:
        org_id = await tenancy.create_organization(conn, org, org.title())
        project_id = await tenancy.create_project(conn, org_id, "web", "Web")
        key = await tenancy.create_project_key(conn, project_id)
        user_id = await tenancy.create_user(conn, f"a@{org}.test", "pw-" + org, org_id)
        token = await tenancy.create_api_token(conn, user_id)
    return project_id, key, token


async def test_keys_tokens_and_projects_resolve_within_their_tenant(pg_dsn: str) -> None:
    p1, key1, token1 = await _seed(pg_dsn, "acme")
    p2, _key2, token2 = await _seed(pg_dsn, "globex")
    pool = await open_pool(PostgresSettings(dsn=pg_dsn))  # type: ignore[arg-type]
    try:
        found = await tenancy.find_project_key(pool, key1)
        assert found is not None and found.project_id == p1 and found.is_active
        assert await tenancy.find_project_key(pool, "0" * 32) is None

        user1 = await tenancy.authenticate_token(pool, token1)
        assert user1 is not None and user1.email == "a@acme.test"
        assert await tenancy.authenticate_token(pool, token1 + "x") is None

        acme_web = await tenancy.get_project_by_slug(pool, "acme", "web")
        globex_web = await tenancy.get_project_by_slug(pool, "globex", "web")
        assert acme_web is not None and acme_web.id == p1
        assert globex_web is not None and globex_web.id == p2
        assert user1.can_access(acme_web) and not user1.can_access(globex_web)
        user2 = await tenancy.authenticate_token(pool, token2)
        assert user2 is not None and user2.can_access(globex_web)
    finally:
        await pool.close()


async def test_tokens_and_passwords_are_not_stored_in_clear(pg_dsn: str) -> None:
    _, _, token = await _seed(pg_dsn, "acme")
    with psycopg.connect(pg_dsn) as conn:
        stored = conn.execute("SELECT token_hash FROM api_tokens").fetchone()
        pw_hash = conn.execute("SELECT password_hash FROM users").fetchone()
    assert stored is not None and token not in stored[0]
    assert pw_hash is not None and pw_hash[0].startswith("$argon2id$")
    assert verify_password(pw_hash[0], "pw-acme") and not verify_password(pw_hash[0], "nope")
