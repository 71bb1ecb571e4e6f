"""``faultline verify`` on the ClickHouse 18.16 server, and as a command run with the usual
environment settings (exit status 0 consistent, 1 differences, 2 usage errors)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from faultline_core.storage.clickhouse.native import NativeClickHouse
from faultline_core.storage.postgres.pool import Pool
from faultline_processor.verify import verify_project
from tests.integration.harness.clickhouse import ClickHouseServer
from tests.unit.processor.conftest import Pipeline, run_faultline_cli
from tests.unit.processor.verify_workload import Workload, run_workload


async def corrupt_counter(pool: Pool, workload: Workload) -> None:
    async with pool.connection() as conn:
        await conn.execute("UPDATE issues SET times_seen = times_seen + 1 WHERE id = %s",
                           (workload.merged,))


async def test_clickhouse_18_16_in_small_slices(
    native_pipeline: Pipeline,
) -> None:
    workload = await run_workload(native_pipeline)

    # A batch of 2 splits the ledger and the users into several slices and buckets.
    for batch_size in (2, 1000):
        report = await verify_project(native_pipeline.pool, native_pipeline.clickhouse,
                                      native_pipeline.project_id, batch_size)
        assert report.differences == [], report.summary()
        assert report.events == workload.events

    async with native_pipeline.pool.connection() as conn:
        await conn.execute("DELETE FROM issue_users WHERE issue_id = %s"
                           " AND user_key = 'id:u2'", (workload.regressed,))
    report = await verify_project(native_pipeline.pool, native_pipeline.clickhouse,
                                  native_pipeline.project_id, 2)
    assert [(d.kind, d.issue_id, d.subject) for d in report.differences] == [
        ("issue_user_missing", workload.regressed, "id:u2")]


async def test_cli_exit_status_and_reports(
    native_pipeline: Pipeline, pg_dsn: str, clickhouse_server: ClickHouseServer,
) -> None:
    workload = await run_workload(native_pipeline)
    database = native_pipeline.clickhouse.database  # type: ignore[attr-defined]
    project = str(native_pipeline.project_id)

    ok = await asyncio.to_thread(run_faultline_cli, pg_dsn, clickhouse_server, database, "verify",
                                 "--project", project)
    assert ok.returncode == 0, ok.stderr
    assert f"{workload.events} events" in ok.stdout and "consistent" in ok.stdout

    by_slug = await asyncio.to_thread(
        run_faultline_cli, pg_dsn, clickhouse_server, database, "verify",
        "--project", "acme/shop", "--json")
    assert by_slug.returncode == 0, by_slug.stderr
    assert json.loads(by_slug.stdout)["consistent"] is True

    await corrupt_counter(native_pipeline.pool, workload)
    bad = await asyncio.to_thread(run_faultline_cli, pg_dsn, clickhouse_server, database, "verify",
                                  "--project", project, "--json")
    assert bad.returncode == 1, bad.stderr
    report: dict[str, Any] = json.loads(bad.stdout)
    assert [(d["kind"], d["issue_id"], d["subject"], d["actual"] - d["expected"])
            for d in report["differences"]] == [
        ("issue_counter", workload.merged, "times_seen", 1)]
    text = await asyncio.to_thread(run_faultline_cli, pg_dsn, clickhouse_server, database, "verify",
                                   "--project", project)
    assert text.returncode == 1
    assert "1 difference(s)" in text.stdout and "times_seen" in text.stdout


async def test_cli_usage_errors_exit_2(
    pg_dsn: str, clickhouse_server: ClickHouseServer, clickhouse_native: NativeClickHouse,
) -> None:
    database = clickhouse_native.database
    for args in ((), ("--project", "999999"), ("--project", "not a project"),
                 ("--project", "1", "--batch-size", "0")):
        result = await asyncio.to_thread(
            run_faultline_cli, pg_dsn, clickhouse_server, database, "verify", *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert result.stderr
