"""ClickHouse fixtures: the process's chDB engine and a private 18.16 server, with a fresh
migrated database per test.

chDB binds one data directory per process, so every test that opens chDB must use
``chdb_path`` (or the ``clickhouse_chdb`` fixture) rather than a directory of its own.
"""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

from faultline_core.migrations.clickhouse_migrate import migrate_clickhouse
from faultline_core.settings import ClickHouseSettings
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.clickhouse.chdb import ChdbClickHouse, close_process_session
from faultline_core.storage.clickhouse.native import NativeClickHouse
from faultline_core.storage.clickhouse.sql import Identifier
from tests.integration.harness.clickhouse import (
    ClickHouseServer,
    ClickHouseServerError,
    ensure_server_installed,
    remove_workdir,
    start_clickhouse_server,
)

_counter = itertools.count()


def fresh_database_name() -> str:
    return f"t_{os.getpid()}_{next(_counter)}"


@pytest.fixture(scope="session")
def chdb_path() -> Iterator[Path]:
    """The chDB data directory of this test process (the only one it may open)."""
    path = Path(tempfile.mkdtemp(prefix="faultline-chdb-"))
    yield path
    close_process_session()
    shutil.rmtree(path, ignore_errors=True)


@pytest_asyncio.fixture
async def clickhouse_chdb(chdb_path: Path) -> AsyncIterator[ClickHouse]:
    """A fresh, migrated database on the process's chDB engine; dropped afterwards."""
    ch = await ChdbClickHouse.open(chdb_path, fresh_database_name())
    await migrate_clickhouse(ch)
    yield ch
    await ch.execute("DROP DATABASE IF EXISTS %(db)s", {"db": Identifier(ch.database)})
    await ch.close()


@pytest_asyncio.fixture
async def clickhouse(clickhouse_chdb: ClickHouse) -> AsyncIterator[ClickHouse]:
    """The ClickHouse the other suites use: chDB for now."""
    yield clickhouse_chdb


@pytest.fixture(scope="session")
def clickhouse_server() -> Iterator[ClickHouseServer]:
    """A private ClickHouse 18.16 server for the whole test session."""
    try:
        ensure_server_installed()
    except ClickHouseServerError as exc:
        # Never a skip: the suite's point is that the SQL runs on the real 18.16 server.
        pytest.fail(f"no ClickHouse server to test against ({exc}); .ci/run installs it")
    server = start_clickhouse_server(Path(tempfile.mkdtemp(prefix="faultline-ch-")))
    yield server
    server.stop()
    remove_workdir(server)


def native_settings(server: ClickHouseServer, database: str) -> ClickHouseSettings:
    return ClickHouseSettings(
        backend="native", host=server.host, port=server.tcp_port, database=database
    )


@pytest_asyncio.fixture
async def clickhouse_native(clickhouse_server: ClickHouseServer) -> AsyncIterator[ClickHouse]:
    """A fresh, migrated database on the 18.16 server; dropped afterwards."""
    ch = await NativeClickHouse.connect(native_settings(clickhouse_server, fresh_database_name()))
    await migrate_clickhouse(ch)
    yield ch
    await ch.execute("DROP DATABASE IF EXISTS %(db)s", {"db": Identifier(ch.database)})
    await ch.close()
