"""PostgreSQL reads the lifecycle endpoints need (writes go through the query service)."""

from __future__ import annotations

from faultline_core.storage.postgres.pool import Pool
from faultline_web.store import MAX_ID


async def follow_issue_redirect(pool: Pool, issue_id: int) -> int:
    """The issue a merged id now stands for, else ``issue_id`` itself."""
    if not 0 < issue_id <= MAX_ID:
        return issue_id
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT to_issue_id FROM issue_redirects WHERE from_issue_id = %s", (issue_id,)
        )
        row = await cur.fetchone()
    return int(row["to_issue_id"]) if row else issue_id


async def user_id_by_email(pool: Pool, email: str) -> int | None:
    """The id of the user with this email (case-insensitive), if any."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id FROM users WHERE lower(email) = lower(%s)", (email,)
        )
        row = await cur.fetchone()
    return int(row["id"]) if row else None
