"""The embedded engines of the all-in-one: a PostgreSQL child process and chDB."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path

import psycopg
from pydantic import SecretStr

from faultline_core.migrations.clickhouse_migrate import migrate_clickhouse
from faultline_core.migrations.postgres_migrate import migrate_postgres
from faultline_core.pgserver import PostgresServer, start_postgres
from faultline_core.settings import ClickHouseSettings, PostgresSettings
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.clickhouse.factory import connect_clickhouse

log = logging.getLogger(__name__)

DATABASE = "faultline"


@dataclass
class EmbeddedEngines:
    postgres: PostgresServer
    pg_settings: PostgresSettings
    clickhouse: ClickHouse

    async def close(self) -> None:
        await self.clickhouse.close()
        await asyncio.to_thread(self.postgres.stop)


async def start_engines(data_dir: Path) -> EmbeddedEngines:
    """Start PostgreSQL and chDB under ``data_dir`` and bring both schemas up to date."""
    server = await asyncio.to_thread(start_postgres, data_dir / "postgres")
    try:
        await _ensure_database(server)
        dsn = server.dsn(DATABASE)
        applied = await migrate_postgres(dsn)
        if applied:
            log.info("PostgreSQL migrations applied: %s", ", ".join(applied))
        clickhouse = await connect_clickhouse(
            ClickHouseSettings(backend="chdb", chdb_path=data_dir / "clickhouse",
                               database=DATABASE)
        )
        await migrate_clickhouse(clickhouse)
    except BaseException:
        await asyncio.to_thread(server.stop)
        raise
    pg = PostgresSettings(dsn=SecretStr(dsn), pool_min_size=2, pool_max_size=12)
    return EmbeddedEngines(server, pg, clickhouse)


async def _ensure_database(server: PostgresServer) -> None:
    async with await psycopg.AsyncConnection.connect(server.dsn(), autocommit=True) as conn:
        cur = await conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (DATABASE,))
        if await cur.fetchone() is None:
            await conn.execute(f"CREATE DATABASE {DATABASE}")
