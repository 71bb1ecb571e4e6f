"""Status, status details and assignment of issues, with Sentry's group-update semantics.

A change is planned once per request (:func:`plan_status`, pure apart from the release
lookup), then applied to every issue of the request in one transaction with the rows
locked in id order. Repeating a request changes nothing and records no activity: an issue
is rewritten only when its status or statusDetails really differ, and ``status_changed_at``
(the moment the processor compares regressions with) moves only then.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from faultline_core.storage.postgres.pool import Pool
from faultline_query import activity
from faultline_query.lifecycle_errors import Invalid, Missing

STATUSES = frozenset({"unresolved", "resolved", "ignored"})
MAX_ISSUES = 100
MAX_IGNORE = 10**12


@dataclass(frozen=True)
class Details:
    """The statusDetails a caller asked for (zero / empty: not given)."""

    in_next_release: bool = False
    in_release: str = ""
    ignore_duration_minutes: int = 0
    ignore_count: int = 0
    ignore_user_count: int = 0
    ignore_until: datetime | None = None


@dataclass(frozen=True)
class StatusPlan:
    """What to store for a status change, and the activity it records."""

    status: str
    details: dict[str, Any]
    activity: str
    activity_data: dict[str, Any]
    resolved_in_release: str | None = None
    next_release: bool = False
    ignore_until: datetime | None = None
    ignore_count: int | None = None
    ignore_user_count: int | None = None


@dataclass(frozen=True)
class Update:
    status: str | None
    details: Details = field(default_factory=Details)
    set_assignee: bool = False
    assignee_id: int = 0


@dataclass(frozen=True)
class Outcome:
    """The state of the (last) updated issue after the change."""

    issue_ids: list[int]
    status: str
    substatus: str | None
    details: dict[str, Any]
    assignee_id: int | None
    assignee_email: str | None


def _ignore_plan(details: Details, now: datetime) -> StatusPlan:
    for name in ("ignore_duration_minutes", "ignore_count", "ignore_user_count"):
        if not 0 <= getattr(details, name) <= MAX_IGNORE:
            raise Invalid(f"{name} must be a non-negative integer")
    shown: dict[str, Any] = {}
    until = details.ignore_until
    if details.ignore_duration_minutes:
        until = now + timedelta(minutes=details.ignore_duration_minutes)
        shown["ignoreDuration"] = details.ignore_duration_minutes
    if until is not None:
        shown["ignoreUntil"] = until.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if details.ignore_count:
        shown["ignoreCount"] = details.ignore_count
    if details.ignore_user_count:
        shown["ignoreUserCount"] = details.ignore_user_count
    return StatusPlan(
        "ignored", shown, "set_ignored", dict(shown), ignore_until=until,
        ignore_count=details.ignore_count or None,
        ignore_user_count=details.ignore_user_count or None,
    )


async def _latest_release(conn: AsyncConnection[Any], project_id: int) -> str:
    cur = await conn.execute(
        "SELECT release FROM project_releases WHERE project_id = %s"
        " ORDER BY first_seen DESC, release DESC LIMIT 1",
        (project_id,),
    )
    row = await cur.fetchone()
    if row is None:
        raise Invalid("No release data present in the system to form a basis for 'Next Release'")
    return str(row["release"])


async def _resolve_plan(
    conn: AsyncConnection[Any], project_id: int, details: Details
) -> StatusPlan:
    if details.in_next_release and details.in_release:
        raise Invalid("inNextRelease and inRelease cannot both be set")
    if details.in_next_release:
        latest = await _latest_release(conn, project_id)
        return StatusPlan("resolved", {"inNextRelease": True}, "set_resolved_in_release",
                          {"version": "", "inNextRelease": True},
                          resolved_in_release=latest, next_release=True)
    if details.in_release:
        cur = await conn.execute(
            "SELECT 1 FROM project_releases WHERE project_id = %s AND release = %s",
            (project_id, details.in_release),
        )
        if await cur.fetchone() is None:
            raise Invalid(f"inRelease: release {details.in_release!r} is not known")
        return StatusPlan("resolved", {"inRelease": details.in_release},
                          "set_resolved_in_release", {"version": details.in_release},
                          resolved_in_release=details.in_release)
    return StatusPlan("resolved", {}, "set_resolved", {})


async def plan_status(
    conn: AsyncConnection[Any], project_id: int, status: str, details: Details, now: datetime
) -> StatusPlan:
    """What ``status`` with ``details`` means; Invalid when they do not fit together."""
    resolving = details.in_next_release or details.in_release
    ignoring = (details.ignore_duration_minutes or details.ignore_count
                or details.ignore_user_count or details.ignore_until)
    if status == "resolved":
        if ignoring:
            raise Invalid("ignore details need status 'ignored'")
        return await _resolve_plan(conn, project_id, details)
    if resolving:
        raise Invalid("release details need status 'resolved'")
    if status == "ignored":
        return _ignore_plan(details, now)
    if ignoring:
        raise Invalid("ignore details need status 'ignored'")
    return StatusPlan("unresolved", {}, "set_unresolved", {})


async def lock_issues(
    conn: AsyncConnection[Any], project_id: int, issue_ids: Sequence[int]
) -> list[dict[str, Any]]:
    """The project's issues (merged ids followed), locked in id order; Missing unless
    every id names a visible issue of the project."""
    wanted = sorted(set(issue_ids))
    if not wanted:
        raise Invalid("at least one issue id is required")
    if len(wanted) > MAX_ISSUES:
        raise Invalid(f"at most {MAX_ISSUES} issues at once")
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT coalesce(r.to_issue_id, w.id) AS id FROM unnest(%s::bigint[]) AS w(id)"
            " LEFT JOIN issue_redirects r ON r.from_issue_id = w.id AND r.project_id = %s",
            (wanted, project_id),
        )
        targets = sorted({int(row["id"]) for row in await cur.fetchall()})
        await cur.execute(
            "SELECT id, status, substatus, status_details, times_seen, users_seen,"
            " assignee_id, first_seen FROM issues"
            " WHERE project_id = %s AND id = ANY(%s) AND times_seen > 0"
            " ORDER BY id FOR UPDATE",
            (project_id, targets),
        )
        rows = list(await cur.fetchall())
    if len(rows) != len(targets):
        missing = sorted(set(targets) - {int(row["id"]) for row in rows})
        raise Missing(f"issue {missing[0]} not found")
    return rows


_SET_STATUS = """
UPDATE issues SET status = %(status)s, substatus = NULL, status_details = %(details)s::jsonb,
    status_changed_at = now(), resolved_in_release = %(release)s,
    resolved_in_next_release = %(next)s, ignore_until = %(until)s,
    ignore_until_times_seen = %(times)s, ignore_until_users_seen = %(users)s
WHERE id = %(id)s
"""


async def _apply_status(
    conn: AsyncConnection[Any], project_id: int, row: dict[str, Any], plan: StatusPlan,
    actor: int | None,
) -> None:
    if row["status"] == plan.status and (row["status_details"] or {}) == plan.details:
        return  # idempotent: the same request twice changes nothing
    await conn.execute(_SET_STATUS, {
        "status": plan.status, "details": json.dumps(plan.details),
        "release": plan.resolved_in_release, "next": plan.next_release,
        "until": plan.ignore_until,
        "times": row["times_seen"] + plan.ignore_count if plan.ignore_count else None,
        "users": row["users_seen"] + plan.ignore_user_count if plan.ignore_user_count else None,
        "id": row["id"],
    })
    row.update(status=plan.status, substatus=None, status_details=plan.details)
    await activity.record(conn, project_id, row["id"], plan.activity, plan.activity_data, actor)


async def _assignee_email(
    conn: AsyncConnection[Any], project_id: int, user_id: int
) -> str:
    """The assignee's email; Invalid unless they belong to the project's organization."""
    cur = await conn.execute(
        "SELECT u.email FROM users u JOIN organization_members m ON m.user_id = u.id"
        " JOIN projects p ON p.organization_id = m.organization_id"
        " WHERE p.id = %s AND u.id = %s",
        (project_id, user_id),
    )
    row = await cur.fetchone()
    if row is None:
        raise Invalid("assignedTo: cannot assign to a user outside the organization")
    return str(row["email"])


async def _apply_assignee(
    conn: AsyncConnection[Any], project_id: int, row: dict[str, Any], assignee: int | None,
    email: str | None, actor: int | None,
) -> None:
    if row["assignee_id"] == assignee:
        return
    await conn.execute("UPDATE issues SET assignee_id = %s WHERE id = %s", (assignee, row["id"]))
    row["assignee_id"] = assignee
    if assignee is None:
        await activity.record(conn, project_id, row["id"], "unassigned", {}, actor)
    else:
        data = {"assignee": str(assignee), "assigneeEmail": email, "assigneeType": "user"}
        await activity.record(conn, project_id, row["id"], "assigned", data, actor)


async def update_issues(
    pool: Pool, project_id: int, issue_ids: Sequence[int], update: Update, acting_user: int,
    now: datetime,
) -> Outcome:
    """Apply ``update`` to every issue in one transaction (all or nothing)."""
    if update.status is not None and update.status not in STATUSES:
        raise Invalid("unknown status")
    if update.status is None and not update.set_assignee:
        raise Invalid("nothing to update: give a status or an assignee")
    async with pool.connection() as conn, conn.transaction():
        rows = await lock_issues(conn, project_id, issue_ids)
        actor = await activity.acting_user(conn, acting_user)
        plan = None
        if update.status is not None:
            plan = await plan_status(conn, project_id, update.status, update.details, now)
        assignee = update.assignee_id or None
        email = await _assignee_email(conn, project_id, assignee) if assignee else None
        for row in rows:
            if plan is not None:
                await _apply_status(conn, project_id, row, plan, actor)
            if update.set_assignee:
                await _apply_assignee(conn, project_id, row, assignee, email, actor)
        if not update.set_assignee and rows[-1]["assignee_id"]:
            email = await _assignee_email_any(conn, rows[-1]["assignee_id"])
    last = rows[-1]
    return Outcome([int(row["id"]) for row in rows], last["status"], last["substatus"],
                   last["status_details"] or {}, last["assignee_id"], email)


async def _assignee_email_any(conn: AsyncConnection[Any], user_id: int) -> str | None:
    cur = await conn.execute("SELECT email FROM users WHERE id = %s", (user_id,))
    row = await cur.fetchone()
    return str(row["email"]) if row else None
