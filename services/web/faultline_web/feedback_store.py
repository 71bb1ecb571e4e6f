"""PostgreSQL reads and writes of user feedback (the ``user_reports`` table).

A report names the event it is about, not an issue: it may be stored before its event is
processed. The issue is found at read time through ``processed_events``, so a report
shows on its issue as soon as the event has been grouped. Every query is scoped by
project id.

Pages are newest first, keyed by ``(created_at, report_id)``; a cursor is
``<microseconds since the epoch>:<report id hex>``, the last row of the previous page.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faultline_core.storage.postgres.pool import Pool

_CURSOR = re.compile(r"(\d{1,20}):([0-9a-f]{32})")
_COLUMNS = (
    "r.report_id::text AS report_id, r.event_id::text AS event_id, r.name, r.email,"
    " r.comments, r.created_at, e.issue_id"
)
_JOIN = (
    " LEFT JOIN processed_events e ON e.project_id = r.project_id AND e.event_id = r.event_id"
)
_FROM = " FROM user_reports r" + _JOIN


class BadCursor(ValueError):
    """The cursor was not made by this module."""


@dataclass(frozen=True)
class StoredReport:
    report_id: str
    """32 lowercase hex."""
    event_id: str
    """32 lowercase hex: the event the report is about."""
    name: str
    email: str
    comments: str
    created_at: datetime
    issue_id: int | None
    """The issue of the report's event, once that event has been processed."""


@dataclass(frozen=True)
class ReportPage:
    reports: list[StoredReport]
    next_cursor: str
    """Empty on the last page."""


@dataclass(frozen=True)
class NewReport:
    event_id: str
    name: str
    email: str
    comments: str


def _report(row: dict[str, Any]) -> StoredReport:
    return StoredReport(
        report_id=row["report_id"].replace("-", ""), event_id=row["event_id"].replace("-", ""),
        name=row["name"], email=row["email"], comments=row["comments"],
        created_at=row["created_at"], issue_id=row["issue_id"],
    )


def _cursor_for(report: StoredReport) -> str:
    micros = int(report.created_at.timestamp() * 1_000_000)
    return f"{micros}:{report.report_id}"


def _parse_cursor(cursor: str) -> tuple[datetime, str] | None:
    if not cursor:
        return None
    match = _CURSOR.fullmatch(cursor)
    if match is None:
        raise BadCursor("cursor is not valid for this list")
    try:
        moment = datetime.fromtimestamp(int(match.group(1)) / 1_000_000, UTC)
    except (OverflowError, ValueError, OSError) as exc:
        raise BadCursor("cursor is not valid for this list") from exc
    return moment, match.group(2)


async def _page(pool: Pool, where: str, params: dict[str, Any], limit: int,
                cursor: str) -> ReportPage:
    after = _parse_cursor(cursor)
    if after is not None:
        where += " AND (r.created_at, r.report_id) < (%(after_at)s, %(after_id)s::uuid)"
        params = {**params, "after_at": after[0], "after_id": after[1]}
    sql = (f"SELECT {_COLUMNS}{_FROM} WHERE {where}"
           " ORDER BY r.created_at DESC, r.report_id DESC LIMIT %(limit)s")
    async with pool.connection() as conn:
        cur = await conn.execute(sql, {**params, "limit": limit + 1})
        rows = await cur.fetchall()
    reports = [_report(row) for row in rows[:limit]]
    next_cursor = _cursor_for(reports[-1]) if len(rows) > limit else ""
    return ReportPage(reports, next_cursor)


async def project_reports(pool: Pool, project_id: int, limit: int, cursor: str = "") -> (
    ReportPage
):
    """A page of the project's reports, newest first (with or without an issue)."""
    return await _page(pool, "r.project_id = %(project)s", {"project": project_id},
                       limit, cursor)


async def issue_reports(pool: Pool, project_id: int, issue_id: int, limit: int,
                        cursor: str = "") -> ReportPage:
    """A page of the reports about the issue's events, newest first."""
    return await _page(pool, "r.project_id = %(project)s AND e.issue_id = %(issue)s",
                       {"project": project_id, "issue": issue_id}, limit, cursor)


async def issue_report_count(pool: Pool, project_id: int, issue_id: int) -> int:
    """How many reports are about the issue's events."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT count(*) AS n{_FROM} WHERE r.project_id = %s AND e.issue_id = %s",
            (project_id, issue_id),
        )
        row = await cur.fetchone()
    return int(row["n"]) if row else 0


async def create_report(pool: Pool, project_id: int, report: NewReport) -> StoredReport:
    """Store a report submitted through the API, under a fresh id; returns it as stored."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "WITH r AS (INSERT INTO user_reports"
            " (project_id, report_id, event_id, name, email, comments)"
            " VALUES (%s, %s, %s, %s, %s, %s) RETURNING *)"
            f" SELECT {_COLUMNS} FROM r{_JOIN}",  # the CTE's row, not the table's snapshot
            (project_id, uuid.uuid4().hex, report.event_id, report.name, report.email,
             report.comments),
        )
        row = await cur.fetchone()
    if row is None:  # INSERT ... RETURNING always yields the row
        raise RuntimeError("the new user report was not returned")
    return _report(row)
