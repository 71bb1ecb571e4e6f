"""The activity log of issues: state changes, merges, assignments and comments.

Rows use Sentry's activity type names. Writers call :func:`record` inside the transaction
that made the change, so an activity exists exactly when its change committed.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from faultline_core.storage.postgres.pool import Pool
from faultline_core.storage.postgres.text import pg_text
from faultline_query.lifecycle_errors import Invalid, Missing

MAX_COMMENT_LENGTH = 10_000
DEFAULT_LIMIT = 100
MAX_LIMIT = 500


@dataclass(frozen=True)
class ActivityRow:
    id: int
    issue_id: int
    type: str
    data: dict[str, Any]
    user_id: int | None
    user_email: str | None
    created_at: datetime


_SELECT = """
SELECT a.id, a.issue_id, a.type, a.data, a.user_id, u.email AS user_email, a.created_at
FROM issue_activity a LEFT JOIN users u ON u.id = a.user_id
"""


async def acting_user(conn: AsyncConnection[Any], user_id: int) -> int | None:
    """The acting user's id when that user exists; 0 (the system) is None."""
    if user_id == 0:
        return None
    cur = await conn.execute("SELECT id FROM users WHERE id = %s", (user_id,))
    if await cur.fetchone() is None:
        raise Invalid("unknown acting user")
    return user_id


async def record(
    conn: AsyncConnection[Any], project_id: int, issue_id: int, kind: str,
    data: dict[str, Any], user_id: int | None,
) -> int:
    """Append one activity to the issue's log; returns its id."""
    cur = await conn.execute(
        "INSERT INTO issue_activity (project_id, issue_id, type, data, user_id)"
        " VALUES (%s, %s, %s, %s::jsonb, %s) RETURNING id",
        (project_id, issue_id, kind, json.dumps(data), user_id),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def visible_issue(conn: AsyncConnection[Any], project_id: int, issue_id: int) -> int:
    """The issue's id (following a merge redirect) if it is in the project; else Missing."""
    cur = await conn.execute(
        "SELECT id FROM issues WHERE project_id = %(p)s AND times_seen > 0 AND id ="
        " coalesce((SELECT to_issue_id FROM issue_redirects WHERE from_issue_id = %(i)s"
        "  AND project_id = %(p)s), %(i)s)",
        {"p": project_id, "i": issue_id},
    )
    row = await cur.fetchone()
    if row is None:
        raise Missing(f"issue {issue_id} not found")
    return int(row["id"])


async def add_comment(
    pool: Pool, project_id: int, issue_id: int, text: str, user_id: int
) -> ActivityRow:
    """A ``note`` activity with ``{"text": ...}`` (Sentry's comments)."""
    text = text.strip()
    if not text:
        raise Invalid("text: this field may not be blank")
    if len(text) > MAX_COMMENT_LENGTH:
        raise Invalid(f"text: at most {MAX_COMMENT_LENGTH} characters")
    async with pool.connection() as conn, conn.transaction():
        target = await visible_issue(conn, project_id, issue_id)
        actor = await acting_user(conn, user_id)
        activity_id = await record(conn, project_id, target, "note", {"text": pg_text(text)},
                                   actor)
        rows = await _fetch(conn, "WHERE a.id = %s", (activity_id,))
    return rows[0]


async def list_activity(
    pool: Pool, project_id: int, issue_id: int, limit: int = DEFAULT_LIMIT
) -> list[ActivityRow]:
    """The issue's activities, newest first."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(f"limit must be between 1 and {MAX_LIMIT}")
    async with pool.connection() as conn:
        target = await visible_issue(conn, project_id, issue_id)
        return await _fetch(
            conn, "WHERE a.project_id = %s AND a.issue_id = %s ORDER BY a.id DESC LIMIT %s",
            (project_id, target, limit),
        )


async def _fetch(
    conn: AsyncConnection[Any], where: str, params: tuple[Any, ...]
) -> list[ActivityRow]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_SELECT + where, params)
        return [ActivityRow(**row) for row in await cur.fetchall()]
