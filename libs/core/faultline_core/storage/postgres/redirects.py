"""Issue ids that no longer exist and where their events go now (``issue_redirects``)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import AsyncConnection

# Only ids whose issue is gone: a live issue is never redirected.
_REDIRECTED = """
SELECT r.from_issue_id AS old, r.to_issue_id AS new
FROM issue_redirects r
JOIN unnest(%s::bigint[], %s::bigint[]) AS k(project_id, issue_id)
  ON r.from_issue_id = k.issue_id AND r.project_id = k.project_id
WHERE NOT EXISTS (SELECT 1 FROM issues i WHERE i.id = k.issue_id)
"""


async def redirected_issues(
    conn: AsyncConnection[Any], issues: Iterable[tuple[int, int]]
) -> dict[int, int]:
    """For the (project id, issue id) pairs whose issue was merged or regrouped away, the
    issue that replaced it (redirects are kept pointing at live issues)."""
    pairs = sorted(set(issues))
    if not pairs:
        return {}
    cur = await conn.execute(_REDIRECTED, ([p for p, _ in pairs], [i for _, i in pairs]))
    rows = await cur.fetchall()
    return {int(_get(row, "old", 0)): int(_get(row, "new", 1)) for row in rows}


def _get(row: Any, name: str, index: int) -> Any:
    return row[name] if isinstance(row, dict) else row[index]
