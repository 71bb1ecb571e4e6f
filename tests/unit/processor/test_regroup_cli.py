"""``faultline regroup`` as a command, on the ClickHouse 18.16 server (the SQL must run
there unchanged), with the usual environment settings."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import AsyncIterator

import pytest_asyncio

from faultline_core.bus.embedded import EmbeddedProducer
from faultline_core.storage.clickhouse.native import NativeClickHouse
from faultline_core.storage.postgres.pool import Pool
from tests.integration.harness.clickhouse import ClickHouseServer
from tests.unit.processor.conftest import Pipeline
from tests.unit.processor.regroup_helpers import (
    LAMBDA_0,
    LAMBDA_1,
    OTHER,
    assert_counters_match_ledger,
    issue_of,
    publish_many,
    set_project_config,
    snapshot,
)

CLI_TIMEOUT_S = 180


@pytest_asyncio.fixture
async def server_pipeline(
    pool: Pool, clickhouse_native: NativeClickHouse, project_id: int
) -> AsyncIterator[Pipeline]:
    """The processor's pipeline writing to the 18.16 server instead of chDB."""
    producer = EmbeddedProducer(pool, publish_timeout_s=5.0)
    await producer.start()
    pipeline = Pipeline(pool, clickhouse_native, producer, project_id)
    yield pipeline
    for running in pipeline.running:
        if not running.task.done():
            running.task.cancel()
            await asyncio.gather(running.task, return_exceptions=True)
        await running.consumer.close()
    await producer.close()


def faultline(pg_dsn: str, server: ClickHouseServer, database: str,
              *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "FAULTLINE_PG_DSN": pg_dsn,
        "FAULTLINE_CLICKHOUSE_BACKEND": "native",
        "FAULTLINE_CLICKHOUSE_HOST": server.host,
        "FAULTLINE_CLICKHOUSE_PORT": str(server.tcp_port),
        "FAULTLINE_CLICKHOUSE_DATABASE": database,
    }
    return subprocess.run(
        [sys.executable, "-m", "faultline_processor.cli", "regroup", *args],
        env=env, capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False)


async def test_cli_dry_run_then_regroup_on_clickhouse_18_16(
    server_pipeline: Pipeline, pg_dsn: str, clickhouse_server: ClickHouseServer,
) -> None:
    pipeline, pool, project = server_pipeline, server_pipeline.pool, server_pipeline.project_id
    await set_project_config(pool, project, "v1")
    ids = await publish_many(pipeline, [LAMBDA_0] * 4 + [LAMBDA_1] * 3 + [OTHER])
    await pipeline.process_all()
    assert isinstance(pipeline.clickhouse, NativeClickHouse)
    database = pipeline.clickhouse.database
    before = await snapshot(pool, project)

    # Page size 2: groups larger than a page are split by event id hash.
    dry = await asyncio.to_thread(faultline, pg_dsn, clickhouse_server, database,
                                  "--project", "acme/shop", "--config", "v2", "--dry-run",
                                  "--page-size", "2", "--workers", "0")
    assert dry.returncode == 0, dry.stderr
    assert "dry run, nothing changed" in dry.stdout
    assert "issues: 3 before -> 2 after" in dry.stdout
    assert await snapshot(pool, project) == before

    done = await asyncio.to_thread(faultline, pg_dsn, clickhouse_server, database,
                                   "--project", str(project), "--config", "v2",
                                   "--page-size", "2", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "events regrouped: 8" in done.stdout
    assert len({await issue_of(pool, project, e) for e in ids[:7]}) == 1
    assert (await snapshot(pool, project))["config"] == [{"grouping_config": "v2"}]
    await assert_counters_match_ledger(pool, project)


async def test_cli_reports_an_unknown_project(
    pg_dsn: str, clickhouse_server: ClickHouseServer, clickhouse_native: NativeClickHouse,
) -> None:
    missing = await asyncio.to_thread(faultline, pg_dsn, clickhouse_server,
                                      clickhouse_native.database, "--project", "nope/none")
    assert missing.returncode == 1 and "no project 'nope/none'" in missing.stderr
    bad = await asyncio.to_thread(faultline, pg_dsn, clickhouse_server,
                                  clickhouse_native.database, "--project", "1",
                                  "--config", "v9")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    assert await rows_exist(clickhouse_native) == 0


async def rows_exist(clickhouse: NativeClickHouse) -> int:
    found = await clickhouse.query("SELECT count() AS n FROM errors")
    return int(found[0]["n"])

