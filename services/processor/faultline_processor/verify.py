"""``faultline verify``: rebuild a project's issue projection from the raw events in
ClickHouse and report every way the live one in PostgreSQL differs.

The rebuild is independent of the live counters: each stored event (``errors`` FINAL, not
deleted) belongs to the issue its primary hash maps to in ``grouphashes`` now (which
embodies merges and unmerges). ClickHouse aggregates per primary hash; only the ledger
comparison reads single events, a slice of event ids at a time, so memory stays bounded
by ``batch_size`` whatever the project's size. The comparisons themselves are pure
(:mod:`verify_diff`, :mod:`verify_lifecycle`).

PostgreSQL is read in one snapshot, but ClickHouse cannot share it: on a project that is
receiving events, an event between its ClickHouse insert and its ledger row shows as a
difference for a moment. Verify a quiet project, or run it again to tell such an event
from a lasting inconsistency.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg import AsyncConnection

from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.postgres import issue_projection as sql
from faultline_core.storage.postgres.pool import Pool
from faultline_processor.verify_diff import (
    Difference,
    Expected,
    LedgerRow,
    LiveIssue,
    Span,
    StoredEvent,
    add_span,
    compare_issues,
    compare_ledger,
    compare_spans,
    compare_users,
    text_key,
    to_ms,
    users_differing,
)
from faultline_processor.verify_lifecycle import IssueStatus, LateEvents, check_lifecycle

DEFAULT_BATCH = 200_000
_EVENTS = "FROM errors FINAL WHERE project_id = %(project)s AND deleted = 0"
_TS_MS = "toUInt64(timestamp) * 1000 + timestamp_ms"
_SPANS = (f"SELECT primary_hash, {{key}} AS name, count() AS n, min({_TS_MS}) AS first_ms,"
          f" max({_TS_MS}) AS last_ms {_EVENTS} {{where}} GROUP BY primary_hash, name")
_USER_PAIRS = (f"SELECT primary_hash, user_key {_EVENTS} AND user_key != ''"
               " AND cityHash64(user_key) % %(buckets)s = %(bucket)s"
               " GROUP BY primary_hash, user_key")
_ISSUE_USERS = (f"SELECT DISTINCT user_key {_EVENTS} AND user_key != ''"
                " AND has(%(hashes)s, toString(primary_hash))")
_EVENT_SLICE = (f"SELECT event_id, primary_hash, {_TS_MS} AS ts_ms {_EVENTS}"
                " AND toString(event_id) >= %(lo)s AND toString(event_id) < %(hi)s")


@dataclass
class Report:
    """What verify found for one project."""

    project_id: int
    events: int = 0
    issues: int = 0
    differences: list[Difference] = field(default_factory=list)

    @property
    def consistent(self) -> bool:
        return not self.differences

    def as_json(self) -> dict[str, Any]:
        return {"project_id": self.project_id, "consistent": self.consistent,
                "events": self.events, "issues": self.issues,
                "differences": [d.as_json() for d in self.differences]}

    def summary(self, limit: int = 50) -> str:
        """Readable text: a verdict line, then up to ``limit`` differences."""
        head = (f"project {self.project_id}: {self.events} events, {self.issues} issues: "
                + ("consistent" if self.consistent
                   else f"{len(self.differences)} difference(s)"))
        lines = [head, *(f"  {d.message()}" for d in self.differences[:limit])]
        if len(self.differences) > limit:
            lines.append(f"  ... and {len(self.differences) - limit} more (see --json)")
        return "\n".join(lines)


@dataclass
class _Live:
    issues: dict[int, LiveIssue]
    statuses: list[IssueStatus]
    hashes: dict[str, int]


async def verify_project(
    pool: Pool, clickhouse: ClickHouse, project_id: int, batch_size: int = DEFAULT_BATCH
) -> Report:
    """Compare the project's live projection with the one rebuilt from its events."""
    report = Report(project_id)
    async with pool.connection() as conn, conn.transaction():
        # One snapshot of PostgreSQL for every read, so the tables agree with each other.
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        live = await _read_live(conn, project_id, report)
        expected = await _expected(clickhouse, project_id, live.hashes, batch_size)
        report.differences.extend(compare_issues(expected, live.issues))
        for kind, statement in (("environment", sql.ENVIRONMENTS), ("release", sql.RELEASES)):
            actual = _live_spans(await sql.fetch(conn, statement, {"project": project_id}))
            wanted = expected.environments if kind == "environment" else expected.releases
            report.differences.extend(compare_spans(kind, wanted, actual, live.issues))
        report.differences.extend(await _compare_users(conn, clickhouse, project_id,
                                                       expected, live))
        report.events = await _compare_ledger(conn, clickhouse, project_id, live.hashes,
                                              batch_size, report)
        report.differences.extend(await _lifecycle(conn, project_id, live, expected))
    return report


async def _read_live(conn: AsyncConnection[Any], project_id: int, report: Report) -> _Live:
    """The issues and hash mapping; dangling hashes and redirects go into ``report``."""
    params = {"project": project_id}
    rows = await sql.fetch(conn, sql.ISSUES, params)
    issues = {int(r["id"]): LiveIssue(int(r["id"]), int(r["times_seen"]), r["first_seen"],
                                      r["last_seen"], int(r["users_seen"])) for r in rows}
    statuses = [IssueStatus(int(r["id"]), r["status"], r["substatus"], r["status_changed_at"],
                            r["resolved_in_release"],
                            bool(r["resolved_in_next_release"]), r["ignore_until"],
                            r["ignore_until_times_seen"], r["ignore_until_users_seen"])
                for r in rows]
    report.issues = len(issues)
    hashes: dict[str, int] = {}
    for row in await sql.fetch(conn, sql.GROUPHASHES, params):
        if row["issue_project"] != project_id:
            report.differences.append(Difference(
                "dangling_grouphash", int(row["issue_id"]), str(row["hash"]),
                "an issue of the project", row["issue_project"]))
        else:
            hashes[str(row["hash"])] = int(row["issue_id"])
    for row in await sql.fetch(conn, sql.REDIRECTS, params):
        if row["to_project"] != project_id or row["from_exists"]:
            report.differences.append(Difference(
                "dangling_redirect", int(row["from_issue_id"]),
                f"redirect to {row['to_issue_id']}",
                "a merged-away issue redirecting into the project",
                {"to_project": row["to_project"], "from_exists": row["from_exists"]}))
    return _Live(issues, statuses, hashes)


def _live_spans(rows: list[dict[str, Any]]) -> dict[tuple[int, str], Span]:
    return {(int(r["issue_id"]), str(r["name"])): Span(int(r["times_seen"]),
                                                         to_ms(r["first_seen"]),
                                                         to_ms(r["last_seen"]))
            for r in rows}


async def _expected(
    clickhouse: ClickHouse, project_id: int, hashes: Mapping[str, int], batch_size: int
) -> Expected:
    """Counters rebuilt from ClickHouse, aggregated per primary hash there."""
    expected = Expected()
    params: dict[str, Any] = {"project": project_id}
    for key, where, target in (("''", "", expected.issues),
                               ("environment", "AND environment != ''", expected.environments),
                               ("release", "AND release != ''", expected.releases)):
        for row in await clickhouse.query(_SPANS.format(key=key, where=where), params):
            issue_id = hashes.get(str(row["primary_hash"]))
            if issue_id is None:
                continue  # reported per event by the ledger comparison
            span = Span(int(row["n"]), int(row["first_ms"]), int(row["last_ms"]))
            name = text_key(str(row["name"]))
            add_span(target, issue_id if target is expected.issues else (issue_id, name), span)
    expected.users = await _distinct_users(clickhouse, project_id, hashes, batch_size)
    return expected


async def _distinct_users(
    clickhouse: ClickHouse, project_id: int, hashes: Mapping[str, int], batch_size: int
) -> dict[int, int]:
    """Distinct users per issue, reading the (hash, user) pairs in buckets of users: a user
    is in one bucket only, so the per-bucket counts add up."""
    params: dict[str, Any] = {"project": project_id}
    [row] = await clickhouse.query(
        f"SELECT uniq(primary_hash, user_key) AS n {_EVENTS} AND user_key != ''", params)
    buckets = max(1, math.ceil(int(row["n"]) / batch_size))
    users: dict[int, int] = {}
    for bucket in range(buckets):
        pairs: set[tuple[int, str]] = set()
        for row in await clickhouse.query(_USER_PAIRS, {**params, "buckets": buckets,
                                                        "bucket": bucket}):
            issue_id = hashes.get(str(row["primary_hash"]))
            if issue_id is not None:
                pairs.add((issue_id, text_key(str(row["user_key"]))))
        for issue_id, _ in pairs:
            users[issue_id] = users.get(issue_id, 0) + 1
    return users


async def _compare_users(
    conn: AsyncConnection[Any], clickhouse: ClickHouse, project_id: int, expected: Expected,
    live: _Live,
) -> list[Difference]:
    """Name the users of the issues whose ``issue_users`` rows are off in number."""
    params: dict[str, Any] = {"project": project_id}
    counts = {int(r["issue_id"]): int(r["n"])
              for r in await sql.fetch(conn, sql.USER_ROWS, params)}
    found: list[Difference] = []
    for issue_id in users_differing(expected, counts, live.issues):
        hashes = sorted(h for h, i in live.hashes.items() if i == issue_id)
        rows = await clickhouse.query(_ISSUE_USERS, {**params, "hashes": hashes})
        want = {text_key(str(r["user_key"])) for r in rows} - {""}
        have = {str(r["user_key"]) for r in await sql.fetch(
            conn, sql.ISSUE_USERS, {**params, "issue": issue_id})}
        found.extend(compare_users(issue_id, want, have))
    return found


def _slices(count: int, batch_size: int) -> list[tuple[str, str | None]]:
    """Event id ranges (on the first 32 bits) of about ``batch_size`` events each: event
    ids are random, so they spread evenly. The last range is open-ended (None)."""
    parts = max(1, math.ceil(count / batch_size))
    starts = [i * 2**32 // parts for i in range(parts)]
    bounds = [f"{start:08x}-0000-0000-0000-000000000000" for start in starts]
    return [(lo, bounds[i + 1] if i + 1 < parts else None) for i, lo in enumerate(bounds)]


async def _compare_ledger(
    conn: AsyncConnection[Any], clickhouse: ClickHouse, project_id: int,
    hashes: Mapping[str, int], batch_size: int, report: Report,
) -> int:
    """Compare the events with ``processed_events`` a slice at a time; returns how many
    events ClickHouse holds."""
    params: dict[str, Any] = {"project": project_id}
    [row] = await clickhouse.query(f"SELECT count() AS n {_EVENTS}", params)
    events = int(row["n"])
    for lo, hi in _slices(events, batch_size):
        # "~" sorts after every hex digit: the open end of the last slice.
        rows = await clickhouse.query(_EVENT_SLICE, {**params, "lo": lo, "hi": hi or "~"})
        stored = [StoredEvent(str(r["event_id"]).replace("-", ""), str(r["primary_hash"]),
                              int(r["ts_ms"])) for r in rows]
        ledger = [LedgerRow(r["event_id"].hex, int(r["issue_id"]), r["primary_hash"],
                            r["timestamp"])
                  for r in await sql.fetch(conn, sql.LEDGER_SLICE, {**params, "lo": lo,
                                                                    "hi": hi})]
        report.differences.extend(compare_ledger(stored, ledger, hashes))
    return events


async def _lifecycle(
    conn: AsyncConnection[Any], project_id: int, live: _Live, expected: Expected
) -> list[Difference]:
    params: dict[str, Any] = {"project": project_id}
    late = [LateEvents(int(r["issue_id"]), str(r["release"]), int(r["n"]),
                       r["first_received"], r["last_received"])
            for r in await sql.fetch(conn, sql.LATE_EVENTS, params)]
    first_seen = {str(r["release"]): r["first_seen"]
                  for r in await sql.fetch(conn, sql.PROJECT_RELEASES, params)}
    regressed = [int(r["id"])
                 for r in await sql.fetch(conn, sql.REGRESSED_WITHOUT_ACTIVITY, params)]
    times_seen = {issue_id: span.count for issue_id, span in expected.issues.items()}
    return check_lifecycle(live.statuses, late, first_seen, times_seen, expected.users,
                           regressed)


async def resolve_project(pool: Pool, project: str) -> int | None:
    """A project named by id or as ``organization-slug/project-slug``; None if unknown."""
    async with pool.connection() as conn:
        if project.isdigit():
            rows = await sql.fetch(conn, "SELECT id FROM projects WHERE id = %(id)s",
                                   {"id": int(project)})
        elif project.count("/") == 1:
            org, slug = project.split("/")
            rows = await sql.fetch(conn, sql.PROJECT_BY_SLUG, {"org": org, "project": slug})
        else:
            return None
    return int(rows[0]["id"]) if rows else None
