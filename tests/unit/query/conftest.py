"""Fixtures for the query service: real PostgreSQL, real ClickHouse, a real gRPC server.

Time is pinned: the servicer's clock always answers :data:`NOW`, so volume buckets do not
depend on when the suite runs.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
import pytest_asyncio
from psycopg.rows import dict_row
from pydantic import SecretStr

from faultline.v1 import query_pb2_grpc
from faultline_core.event import NormalizedEvent, UserInfo
from faultline_core.settings import PostgresSettings
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.clickhouse.errors_table import ERRORS_COLUMNS, errors_row
from faultline_core.storage.postgres import tenancy
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_query.server import start_query_server_on
from faultline_query.servicer import QueryServicer

NOW = datetime(2025, 3, 12, 15, 42, 7, tzinfo=UTC)
_event_ids = itertools.count(1)


@dataclass(frozen=True)
class Tenants:
    project_a: int
    project_b: int


@dataclass
class QueryService:
    """A running query server and the resources behind it."""

    stub: query_pb2_grpc.QueryServiceStub
    channel: grpc.aio.Channel
    pool: Pool
    clickhouse: ClickHouse
    tenants: Tenants


@pytest_asyncio.fixture
async def pool(pg_dsn: str) -> AsyncIterator[Pool]:
    settings = PostgresSettings(dsn=SecretStr(pg_dsn), pool_min_size=1, pool_max_size=4)
    pool = await open_pool(settings)
    yield pool
    await pool.close()


@pytest_asyncio.fixture
async def tenants(pool: Pool) -> Tenants:
    async with pool.connection() as conn:
        org = await tenancy.create_organization(conn, "acme", "Acme")
        other_org = await tenancy.create_organization(conn, "globex", "Globex")
        project_a = await tenancy.create_project(conn, org, "backend", "Backend", "python")
        project_b = await tenancy.create_project(conn, other_org, "shop", "Shop", "node")
    return Tenants(project_a, project_b)


@pytest.fixture(params=["chdb", "native"])
def any_clickhouse(request: pytest.FixtureRequest) -> ClickHouse:
    """Each ClickHouse engine in turn: chDB 26.x, then a ClickHouse 18.16 server."""
    name = "clickhouse" if request.param == "chdb" else "clickhouse_native"
    engine: ClickHouse = request.getfixturevalue(name)
    return engine


@contextlib.asynccontextmanager
async def running_service(
    clickhouse: ClickHouse, pool: Pool, tenants: Tenants
) -> AsyncIterator[QueryService]:
    """The query server on ``clickhouse`` and ``pool``, and a client channel to it."""
    servicer = QueryServicer(clickhouse, pool, clock=lambda: NOW)
    server, port = await start_query_server_on(servicer, "127.0.0.1", 0)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{port}")
    try:
        yield QueryService(
            query_pb2_grpc.QueryServiceStub(channel),  # type: ignore[no-untyped-call]
            channel, pool, clickhouse, tenants,
        )
    finally:
        await channel.close(None)
        await server.stop(None)


@pytest_asyncio.fixture
async def service(
    clickhouse: ClickHouse, pool: Pool, tenants: Tenants
) -> AsyncIterator[QueryService]:
    """The query server on chDB."""
    async with running_service(clickhouse, pool, tenants) as running:
        yield running


@pytest_asyncio.fixture
async def service_any(
    any_clickhouse: ClickHouse, pool: Pool, tenants: Tenants
) -> AsyncIterator[QueryService]:
    """The query server on each ClickHouse engine in turn."""
    async with running_service(any_clickhouse, pool, tenants) as running:
        yield running


async def insert_issue(
    pool: Pool,
    project_id: int,
    *,
    first_seen: datetime = NOW,
    last_seen: datetime = NOW,
    times_seen: int = 1,
    status: str = "unresolved",
    title: str = "ValueError: bad",
    metadata: dict[str, Any] | None = None,
) -> int:
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "INSERT INTO issues (project_id, title, culprit, level, type, metadata, platform,"
            " first_seen, last_seen, times_seen, status)"
            " VALUES (%s, %s, 'app.views in index', 'error', 'error', %s, 'python',"
            " %s, %s, %s, %s) RETURNING id",
            (project_id, title, json.dumps(metadata or {}), first_seen, last_seen,
             times_seen, status),
        )
        row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


def make_event(
    project_id: int,
    timestamp: datetime,
    *,
    tags: Sequence[tuple[str, str]] = (),
    user: UserInfo | None = None,
    event_id: str | None = None,
) -> NormalizedEvent:
    """A minimal normalised event; ``event_id`` defaults to a new unique id."""
    event_id = event_id or uuid.UUID(int=next(_event_ids)).hex
    data = {"event_id": event_id, "message": "boom", "tags": [list(tag) for tag in tags]}
    return NormalizedEvent(
        project_id=project_id, event_id=event_id, timestamp=timestamp, received=timestamp,
        platform="python", level="error", environment="production", release="", dist="",
        logger="", transaction="", server_name="", title="boom", culprit="", message="boom",
        user=user or UserInfo(), tags=tuple(tags), contexts=(), data=data,
    )


async def store_events(
    clickhouse: ClickHouse, group_id: int, events: Sequence[NormalizedEvent], *,
    deleted: bool = False,
) -> None:
    """Write ``events`` into ``errors`` as issue ``group_id``, the way the processor does
    (or as rows marked deleted)."""
    primary_hash = hashlib.md5(str(group_id).encode()).hexdigest()
    rows = [errors_row(event, group_id, primary_hash) for event in events]
    if deleted:
        assert ERRORS_COLUMNS[-1] == "deleted"
        rows = [(*row[:-1], 1) for row in rows]
    await clickhouse.insert("errors", ERRORS_COLUMNS, rows)
