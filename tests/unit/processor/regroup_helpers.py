"""Helpers for the regroup tests: events that v1 and v2 group differently, running a
regroup on the pipeline's stores, and reading the projection back."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from faultline_core.storage.postgres.pool import Pool
from faultline_processor.regroup import RegroupOptions, RegroupReport, regroup
from faultline_processor.regroup.grouper import GroupingSpec
from tests.unit.processor.conftest import Pipeline, python_error

# v1 keeps JVM lambda names as they are (two issues); v2 normalises lambda$main$N to
# lambda$main (one issue). "other" is its own issue under both.
LAMBDA_0 = "lambda$main$0"
LAMBDA_1 = "lambda$main$1"
OTHER = "other"


def jvm_error(function: str, *, user: str = "u1", environment: str = "production",
              release: str = "shop@1.0", timestamp: float | None = None) -> dict[str, Any]:
    event = python_error(function=function, timestamp=timestamp)
    event["platform"] = "java"
    event["user"] = {"id": user}
    event["environment"] = environment
    event["release"] = release
    return event


async def set_project_config(pool: Pool, project_id: int, config: str) -> None:
    async with pool.connection() as conn:
        await conn.execute("UPDATE projects SET grouping_config = %s WHERE id = %s",
                           (config, project_id))


async def publish_many(pipeline: Pipeline, functions: list[str], *,
                       received_at: float | None = None,
                       environment: str = "production") -> list[str]:
    """Publish one event per function (users vary), oldest first."""
    base = received_at if received_at is not None else time.time()
    ids = []
    for n, function in enumerate(functions):
        event = jvm_error(function, user=f"u{n % 3}", environment=environment,
                          timestamp=base - 100 + n)
        ids.append(await pipeline.publish(event, received_at=base + n * 0.001))
    return ids


async def run_regroup(
    pipeline: Pipeline, config: str, *, set_config: bool = True,
    since: datetime | None = None, dry_run: bool = False, page_size: int = 1000,
) -> RegroupReport:
    options = RegroupOptions(pipeline.project_id, GroupingSpec(config), set_config,
                             since=since, dry_run=dry_run, page_size=page_size)
    async with pipeline.pool.connection() as conn:
        return await regroup(conn, pipeline.clickhouse, options)


async def rows(pool: Pool, sql: str, *params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params)
        return [dict(row) for row in await cur.fetchall()]


async def issue_of(pool: Pool, project_id: int, event_id: str) -> int:
    found = await rows(pool, "SELECT issue_id FROM processed_events"
                       " WHERE project_id = %s AND event_id = %s", project_id, event_id)
    return int(found[0]["issue_id"])


async def snapshot(pool: Pool, project_id: int) -> dict[str, list[dict[str, Any]]]:
    """The whole projection of the project (activity left out: a run records its own)."""
    issue = ("SELECT id, title, status, substatus, assignee_id, times_seen, users_seen,"
             " first_seen, last_seen, grouping_config FROM issues WHERE project_id = %s"
             " ORDER BY id")
    return {
        "issues": await rows(pool, issue, project_id),
        "hashes": await rows(pool, "SELECT hash, issue_id FROM grouphashes"
                             " WHERE project_id = %s ORDER BY hash", project_id),
        "ledger": await rows(pool, "SELECT event_id, issue_id FROM processed_events"
                             " WHERE project_id = %s ORDER BY event_id", project_id),
        "users": await rows(pool, "SELECT u.* FROM issue_users u JOIN issues i"
                            " ON i.id = u.issue_id WHERE i.project_id = %s"
                            " ORDER BY 1, 2", project_id),
        "envs": await rows(pool, "SELECT e.* FROM issue_environments e JOIN issues i"
                           " ON i.id = e.issue_id WHERE i.project_id = %s ORDER BY 1, 2",
                           project_id),
        "redirects": await rows(pool, "SELECT from_issue_id, to_issue_id FROM issue_redirects"
                                " WHERE project_id = %s ORDER BY 1", project_id),
        "config": await rows(pool, "SELECT grouping_config FROM projects WHERE id = %s",
                             project_id),
    }


async def assert_counters_match_ledger(pool: Pool, project_id: int) -> None:
    """Every issue's counters equal a recount from its ledger rows."""
    expected = await rows(pool, """
        SELECT i.id, count(p.event_id) AS n, count(DISTINCT p.user_key) AS users,
               min(p.timestamp) AS first_seen, max(p.timestamp) AS last_seen
        FROM issues i LEFT JOIN processed_events p ON p.issue_id = i.id
        WHERE i.project_id = %s GROUP BY i.id ORDER BY i.id""", project_id)
    actual = await rows(pool, "SELECT id, times_seen AS n, users_seen AS users, first_seen,"
                        " last_seen FROM issues WHERE project_id = %s ORDER BY id", project_id)
    assert actual == expected
    envs = await rows(pool, """
        SELECT p.issue_id, p.environment, count(*) AS n FROM processed_events p
        WHERE p.project_id = %s AND p.environment IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2""",
        project_id)
    stored = await rows(pool, """
        SELECT e.issue_id, e.environment, e.times_seen AS n FROM issue_environments e
        JOIN issues i ON i.id = e.issue_id WHERE i.project_id = %s ORDER BY 1, 2""",
        project_id)
    assert stored == envs
    dangling = await rows(pool, "SELECT count(*) AS n FROM processed_events p WHERE"
                          " p.project_id = %s AND NOT EXISTS (SELECT 1 FROM issues i"
                          " WHERE i.id = p.issue_id)", project_id)
    assert dangling[0]["n"] == 0
