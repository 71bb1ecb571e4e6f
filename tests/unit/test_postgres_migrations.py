from __future__ import annotations

import asyncio

import psycopg

from faultline_core.migrations.postgres_migrate import migrate_postgres, migration_files


async def test_migrations_are_recorded_and_rerun_is_a_noop(pg_dsn: str) -> None:
    # pg_dsn is already migrated from the template: a rerun must apply nothing.
    assert await migrate_postgres(pg_dsn) == []
    with psycopg.connect(pg_dsn) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [r[0] for r in rows] == [v for v, _ in migration_files()]


async def test_concurrent_runners_apply_each_migration_once(pg_dsn: str) -> None:
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    results = await asyncio.gather(*(migrate_postgres(pg_dsn) for _ in range(3)))
    applied = sorted(v for result in results for v in result)
    assert applied == [v for v, _ in migration_files()]
    with psycopg.connect(pg_dsn) as conn:
        assert conn.execute("SELECT count(*) FROM issues").fetchone() == (0,)
