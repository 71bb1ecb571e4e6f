"""Fixtures for the ClickHouse contract suite: every test runs once per adapter."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from faultline_core.migrations.clickhouse_migrate import migrate_clickhouse
from faultline_core.settings import ClickHouseSettings
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.clickhouse.factory import connect_clickhouse
from faultline_core.storage.clickhouse.normalize import ClickHouseError
from faultline_core.storage.clickhouse.sql import Identifier
from tests.clickhouse_fixtures import fresh_database_name, native_settings
from tests.integration.harness.clickhouse import ClickHouseServer

OpenDatabase = Callable[[], Awaitable[ClickHouse]]


@pytest.fixture(params=["chdb", "native"])
def adapter_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest_asyncio.fixture
async def open_database(
    adapter_name: str, request: pytest.FixtureRequest
) -> AsyncIterator[OpenDatabase]:
    """Opens fresh, empty databases through the factory, as the services do; drops them
    afterwards."""
    if adapter_name == "chdb":
        path: Path = request.getfixturevalue("chdb_path")
        base = ClickHouseSettings(backend="chdb", chdb_path=path)
    else:
        server: ClickHouseServer = request.getfixturevalue("clickhouse_server")
        base = native_settings(server, "default")
    opened: list[tuple[ClickHouse, str]] = []

    async def open_fresh() -> ClickHouse:
        name = fresh_database_name()
        ch = await connect_clickhouse(base.model_copy(update={"database": name}))
        assert ch.engine == adapter_name
        opened.append((ch, name))
        return ch

    yield open_fresh
    for ch, name in opened:
        # A test may have closed its adapter already; the database then stays behind in
        # the throwaway test data directory, which is harmless.
        with contextlib.suppress(ClickHouseError):
            await ch.execute("DROP DATABASE IF EXISTS %(db)s", {"db": Identifier(name)})
        await ch.close()


@pytest_asyncio.fixture
async def ch(open_database: OpenDatabase) -> ClickHouse:
    """A fresh database on the adapter under test, with the schema migrated."""
    database = await open_database()
    await migrate_clickhouse(database)
    return database
