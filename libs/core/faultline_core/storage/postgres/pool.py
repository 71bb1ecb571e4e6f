"""The async PostgreSQL connection pool shared by a service's request handlers."""

from __future__ import annotations

from typing import TypeAlias

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row
from psycopg_pool import AsyncConnectionPool

from faultline_core.settings import PostgresSettings

Pool: TypeAlias = AsyncConnectionPool[AsyncConnection[DictRow]]
"""A pool whose connections return rows as dicts and run in autocommit mode."""


async def open_pool(
    settings: PostgresSettings, name: str = "faultline", timeout_s: float = 30
) -> Pool:
    """Open a pool and wait until its first connections are up (fails fast if unreachable)."""
    pool: Pool = AsyncConnectionPool(
        settings.dsn.get_secret_value(),
        connection_class=AsyncConnection[DictRow],
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        kwargs={"row_factory": dict_row, "autocommit": True},
        name=name,
        open=False,
    )
    await pool.open(wait=True, timeout=timeout_s)
    return pool
