"""Helpers for the lifecycle and counter tests: issues and events on a real PostgreSQL."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from psycopg.rows import dict_row

from faultline_core.grouping import LATEST_GROUPING_CONFIG
from faultline_core.storage.postgres.pool import Pool
from faultline_processor.issue_store import EventRecord, IssueSeed, resolve_issues

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


async def new_issue(pool: Pool, project_id: int, hash_: str = "a" * 32) -> int:
    """A fresh issue (times_seen 0) for ``hash_``."""
    seed = IssueSeed(project_id=project_id, hashes=(hash_,), grouping_config=LATEST_GROUPING_CONFIG,
                     timestamp=T0, title="ValueError: bad", culprit="app.views",
                     level="error", type="error", platform="python", metadata={})
    return (await resolve_issues(pool, [seed])).issue_ids[(project_id, (hash_,))]


def event(project_id: int, issue_id: int, at: datetime, *, user: str = "",
          environment: str = "", release: str = "", received: datetime | None = None,
          event_id: str | None = None) -> EventRecord:
    """An event at ``at`` (received then too unless ``received`` says otherwise)."""
    return EventRecord(
        project_id=project_id, event_id=event_id or uuid.uuid4().hex, issue_id=issue_id,
        timestamp=at, received=received or at, level="error", title="ValueError: bad",
        culprit="app.views", primary_hash="a" * 32, user_key=user, environment=environment,
        release=release,
    )


async def rows(pool: Pool, sql: str, *params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(sql, params)
        return list(await cur.fetchall())


async def issue(pool: Pool, issue_id: int) -> dict[str, Any]:
    [row] = await rows(pool, "SELECT * FROM issues WHERE id = %s", issue_id)
    return row


async def set_issue(pool: Pool, issue_id: int, **columns: Any) -> None:
    """Change issue columns directly, as the status API does."""
    assignments = ", ".join(f"{name} = %s" for name in columns)
    async with pool.connection() as conn:
        await conn.execute(f"UPDATE issues SET {assignments} WHERE id = %s",
                           (*columns.values(), issue_id))


async def activity(pool: Pool, issue_id: int) -> list[tuple[str, Any, Any]]:
    """The issue's activity as (type, data, user_id), oldest first."""
    found = await rows(pool, "SELECT type, data, user_id FROM issue_activity"
                             " WHERE issue_id = %s ORDER BY id", issue_id)
    return [(r["type"], r["data"], r["user_id"]) for r in found]
