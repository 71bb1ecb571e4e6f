"""``faultline regroup`` as a command, on the ClickHouse 18.16 server (the SQL must run
there unchanged), with the usual environment settings."""

from __future__ import annotations

import asyncio

from faultline_core.storage.clickhouse.native import NativeClickHouse
from tests.integration.harness.clickhouse import ClickHouseServer
from tests.unit.processor.conftest import Pipeline, run_faultline_cli
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


async def test_cli_dry_run_then_regroup_on_clickhouse_18_16(
    native_pipeline: Pipeline, pg_dsn: str, clickhouse_server: ClickHouseServer,
) -> None:
    pipeline, pool, project = native_pipeline, native_pipeline.pool, native_pipeline.project_id
    await set_project_config(pool, project, "v1")
    ids = await publish_many(pipeline, [LAMBDA_0] * 4 + [LAMBDA_1] * 3 + [OTHER])
    await pipeline.process_all()
    assert isinstance(pipeline.clickhouse, NativeClickHouse)
    database = pipeline.clickhouse.database
    before = await snapshot(pool, project)

    # Page size 2: groups larger than a page are split by event id hash.
    dry = await asyncio.to_thread(run_faultline_cli, pg_dsn, clickhouse_server, database, "regroup",
                                  "--project", "acme/shop", "--config", "v2", "--dry-run",
                                  "--page-size", "2", "--workers", "0")
    assert dry.returncode == 0, dry.stderr
    assert "dry run, nothing changed" in dry.stdout
    assert "issues: 3 before -> 2 after" in dry.stdout
    assert await snapshot(pool, project) == before

    done = await asyncio.to_thread(
        run_faultline_cli, pg_dsn, clickhouse_server, database, "regroup",
        "--project", str(project), "--config", "v2", "--page-size", "2", "--workers", "1")
    assert done.returncode == 0, done.stderr
    assert "events regrouped: 8" in done.stdout
    assert len({await issue_of(pool, project, e) for e in ids[:7]}) == 1
    assert (await snapshot(pool, project))["config"] == [{"grouping_config": "v2"}]
    await assert_counters_match_ledger(pool, project)


async def test_cli_reports_an_unknown_project(
    pg_dsn: str, clickhouse_server: ClickHouseServer, clickhouse_native: NativeClickHouse,
) -> None:
    missing = await asyncio.to_thread(
        run_faultline_cli, pg_dsn, clickhouse_server, clickhouse_native.database, "regroup",
        "--project", "nope/none")
    assert missing.returncode == 1 and "no project 'nope/none'" in missing.stderr
    bad = await asyncio.to_thread(run_faultline_cli, pg_dsn, clickhouse_server,
                                  clickhouse_native.database, "regroup", "--project", "1",
                                  "--config", "v9")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr
    assert await rows_exist(clickhouse_native) == 0


async def rows_exist(clickhouse: NativeClickHouse) -> int:
    found = await clickhouse.query("SELECT count() AS n FROM errors")
    return int(found[0]["n"])

