"""The async PostgreSQL connection pool shared by a service's request handlers."""

from __future__ import annotations

from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool

from faultline_core.settings import PostgresSettings


async def open_pool(settings: PostgresSettings, name: str = "faultline") -> AsyncConnectionPool:
    """Open a pool and wait until its first connections are up (fails fast if unreachable)."""
    pool = AsyncConnectionPool(
        settings.dsn.get_secret_value(),
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        kwargs={"row_factory": dict_row, "autocommit": True},
        name=name,
        open=False,
    )
    await pool.open(wait=True, timeout=30)
    return pool
