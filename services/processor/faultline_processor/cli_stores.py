"""Where the ``faultline`` subcommands find PostgreSQL and ClickHouse.

From the ``FAULTLINE_*`` environment, like the services (the distributed stack, online),
or, with ``--data-dir``, the all-in-one's embedded engines started from its data
directory (the all-in-one must be stopped first: chDB and the embedded PostgreSQL cluster
can each be used by one process only). This package never imports the all-in-one; core's
helpers start the engines.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from faultline_core.settings import AppSettings, ClickHouseSettings, PostgresSettings
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.clickhouse.factory import connect_clickhouse

EMBEDDED_DATABASE = "faultline"
DATA_DIR_HELP = "the all-in-one's data directory (stop the all-in-one first)"


@dataclass(frozen=True)
class Stores:
    dsn: str
    clickhouse: ClickHouse


@asynccontextmanager
async def open_stores(data_dir: Path | None) -> AsyncIterator[Stores]:
    """PostgreSQL and ClickHouse from the environment, or the embedded engines."""
    if data_dir is None:
        clickhouse = await connect_clickhouse(ClickHouseSettings(), AppSettings().data_dir)
        try:
            yield Stores(PostgresSettings().dsn.get_secret_value(), clickhouse)
        finally:
            await clickhouse.close()
        return
    from faultline_core.pgserver import start_postgres  # only needed for --data-dir

    server = await asyncio.to_thread(start_postgres, data_dir / "postgres")
    try:
        settings = ClickHouseSettings(backend="chdb", chdb_path=data_dir / "clickhouse",
                                      database=EMBEDDED_DATABASE)
        clickhouse = await connect_clickhouse(settings)
        try:
            yield Stores(server.dsn(EMBEDDED_DATABASE), clickhouse)
        finally:
            await clickhouse.close()
    finally:
        await asyncio.to_thread(server.stop)
