"""Versioned PostgreSQL migrations: idempotent, and safe to run concurrently.

Each ``migrations/postgres/NNNN_name.sql`` runs once, in its own transaction, recorded in
``schema_migrations``. A transaction-level advisory lock serialises concurrent runners (two
Kubernetes Job pods, or two processes starting at once).
"""

from __future__ import annotations

from importlib import resources

import psycopg

_LOCK_ID = 0x6661756C746C696E  # "faultlin"


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) pairs in order."""
    folder = resources.files("faultline_core.migrations").joinpath("postgres")
    found = [(entry.name.removesuffix(".sql"), entry.read_text())
             for entry in folder.iterdir() if entry.name.endswith(".sql")]
    return sorted(found)


async def migrate_postgres(dsn: str) -> list[str]:
    """Apply pending migrations; return the versions applied by this call."""
    applied: list[str] = []
    async with await psycopg.AsyncConnection.connect(dsn) as conn:
        for version, sql in migration_files():
            async with conn.transaction():
                await conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_ID,))
                await conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    " version TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                cur = await conn.execute(
                    "SELECT 1 FROM schema_migrations WHERE version = %s", (version,)
                )
                if await cur.fetchone():
                    continue
                await conn.execute(sql.encode())
                await conn.execute(
                    "INSERT INTO schema_migrations (version) VALUES (%s)", (version,)
                )
                applied.append(version)
    return applied
