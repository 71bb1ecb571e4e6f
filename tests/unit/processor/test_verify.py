"""``faultline verify`` after a mixed workload through the real processor, and after each
kind of corruption injected by hand."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from faultline_core.storage.postgres.pool import Pool
from faultline_processor.issue_store import EventRecord, record_events
from faultline_processor.verify import verify_project
from tests.unit.processor.conftest import Pipeline
from tests.unit.processor.lifecycle_helpers import rows
from tests.unit.processor.verify_workload import Workload, run_workload

Expect = tuple[str, int | None, str | None]
"""A difference expected: kind, issue id, subject (None: any subject)."""


async def test_mixed_workload_is_consistent(pipeline: Pipeline) -> None:
    workload = await run_workload(pipeline)

    report = await verify_project(pipeline.pool, pipeline.clickhouse, pipeline.project_id)

    assert report.differences == []
    assert report.consistent
    assert report.events == workload.events


async def test_workload_does_what_it_says(pipeline: Pipeline) -> None:
    workload = await run_workload(pipeline)

    issues = {row["id"]: row for row in await pipeline.issues()}
    assert (issues[workload.regressed]["status"],
            issues[workload.regressed]["substatus"]) == ("unresolved", "regressed")
    assert issues[workload.regressed]["users_seen"] == 3
    assert issues[workload.next_release]["status"] == "resolved"
    assert issues[workload.next_release]["times_seen"] == 2
    assert issues[workload.unignored]["status"] == "unresolved"
    assert issues[workload.ignored]["status"] == "ignored"
    assert issues[workload.ignored]["times_seen"] == 3
    assert issues[workload.merged]["times_seen"] == 3
    assert issues[workload.unmerged]["times_seen"] == 2
    assert sum(row["times_seen"] for row in issues.values()) == workload.events


async def execute(pool: Pool, statement: str, *params: Any) -> None:
    async with pool.connection() as conn, conn.transaction():
        # Lets a test insert rows whose foreign keys point nowhere, as a bug or a manual
        # edit with the constraints dropped would leave them.
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(statement, params)


async def one_ledger_row(pool: Pool, issue_id: int) -> dict[str, Any]:
    found = await rows(pool, "SELECT * FROM processed_events WHERE issue_id = %s"
                             " AND user_key IS NULL ORDER BY received LIMIT 1", issue_id)
    return found[0]


async def counter_off_by_one(pool: Pool, w: Workload) -> set[Expect]:
    await execute(pool, "UPDATE issues SET times_seen = times_seen + 1 WHERE id = %s",
                  w.merged)
    return {("issue_counter", w.merged, "times_seen")}


async def missing_ledger_row(pool: Pool, w: Workload) -> set[Expect]:
    row = await one_ledger_row(pool, w.ignored)
    await execute(pool, "DELETE FROM processed_events WHERE event_id = %s", row["event_id"])
    return {("ledger_missing", w.ignored, row["event_id"].hex)}


async def ledger_row_without_event(pool: Pool, w: Workload) -> set[Expect]:
    event_id = uuid.uuid4()
    await execute(pool, "INSERT INTO processed_events (project_id, event_id, issue_id,"
                        " timestamp) SELECT project_id, %s, id, now() FROM issues"
                        " WHERE id = %s", event_id, w.ignored)
    return {("ledger_orphan", w.ignored, event_id.hex)}


async def event_counted_twice(pool: Pool, w: Workload) -> set[Expect]:
    # A lost ledger row and a redelivery: the processor counts the event again.
    row = await one_ledger_row(pool, w.ignored)
    await execute(pool, "DELETE FROM processed_events WHERE event_id = %s", row["event_id"])
    again = EventRecord(
        project_id=row["project_id"], event_id=row["event_id"].hex, issue_id=w.ignored,
        timestamp=row["timestamp"], received=row["received"], level="error", title="t",
        culprit="c", primary_hash=row["primary_hash"], environment=row["environment"],
        release=row["release"])
    await record_events(pool, [again])
    return {("issue_counter", w.ignored, "times_seen"),
            ("environment", w.ignored, "production"), ("release", w.ignored, "shop@1.4.2")}


async def dangling_grouphash(pool: Pool, w: Workload) -> set[Expect]:
    await execute(pool, "INSERT INTO grouphashes (project_id, hash, issue_id)"
                        " SELECT project_id, %s, 999999999 FROM issues WHERE id = %s",
                  "f" * 32, w.merged)
    return {("dangling_grouphash", 999999999, "f" * 32)}


async def redirect_from_live_issue(pool: Pool, w: Workload) -> set[Expect]:
    await execute(pool, "INSERT INTO issue_redirects (project_id, from_issue_id, to_issue_id)"
                        " SELECT project_id, id, %s FROM issues WHERE id = %s",
                  w.merged, w.ignored)
    return {("dangling_redirect", w.ignored, f"redirect to {w.merged}")}


async def resolved_with_later_event(pool: Pool, w: Workload) -> set[Expect]:
    await execute(pool, "UPDATE issues SET status = 'resolved', substatus = NULL,"
                        " status_changed_at = (SELECT max(received) - interval '1 ms'"
                        " FROM processed_events WHERE issue_id = %s) WHERE id = %s",
                  w.unignored, w.unignored)
    return {("missed_regression", w.unignored, None)}


async def ignored_past_its_time(pool: Pool, w: Workload) -> set[Expect]:
    await execute(pool, "UPDATE issues SET ignore_until = status_changed_at WHERE id = %s",
                  w.ignored)
    return {("missed_unignore", w.ignored, None)}


async def regression_without_activity(pool: Pool, w: Workload) -> set[Expect]:
    await execute(pool, "DELETE FROM issue_activity WHERE issue_id = %s"
                        " AND type = 'set_regression'", w.regressed)
    return {("regression_without_activity", w.regressed, "set_regression")}


async def missing_user(pool: Pool, w: Workload) -> set[Expect]:
    await execute(pool, "DELETE FROM issue_users WHERE issue_id = %s AND user_key = 'id:u2'",
                  w.regressed)
    return {("issue_user_missing", w.regressed, "id:u2")}


CORRUPTIONS: list[Callable[[Pool, Workload], Awaitable[set[Expect]]]] = [
    counter_off_by_one, missing_ledger_row, ledger_row_without_event, event_counted_twice,
    dangling_grouphash, redirect_from_live_issue, resolved_with_later_event,
    ignored_past_its_time, regression_without_activity, missing_user,
]


@pytest.mark.parametrize("corrupt", CORRUPTIONS, ids=lambda c: c.__name__)
async def test_each_corruption_is_reported_exactly(
    pipeline: Pipeline, corrupt: Callable[[Pool, Workload], Awaitable[set[Expect]]]
) -> None:
    workload = await run_workload(pipeline)
    expected = await corrupt(pipeline.pool, workload)

    report = await verify_project(pipeline.pool, pipeline.clickhouse, pipeline.project_id)

    found = {(d.kind, d.issue_id, d.subject) for d in report.differences}
    wildcards = {(kind, issue) for kind, issue, subject in expected if subject is None}
    found_loose = {(k, i, None if (k, i) in wildcards else s) for k, i, s in found}
    assert found_loose == expected, report.summary()
    assert len(report.differences) == len(expected)
    assert not report.consistent
