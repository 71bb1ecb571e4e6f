"""Recount issues' counters exactly from the event ledger (``processed_events``).

Used wherever events move between issues (merge, unmerge, regroup): rather than adjusting
counters, every counter of the given issues is rebuilt from their ledger rows, so the result
is exact whatever the history. Set-based: one statement per counter for any number of
issues. The caller must hold the issues (or the project's regroup lock) so that no event is
counted on them meanwhile.

* ``times_seen``, ``first_seen``, ``last_seen``: count, min and max event timestamp;
* ``issue_users`` / ``users_seen``: the distinct non-empty ``user_key``;
* ``issue_environments`` / ``issue_releases``: per non-empty value, min/max timestamp and
  count.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

_RECOUNT = (
    """UPDATE issues i SET times_seen = coalesce(a.n, 0),
        first_seen = coalesce(a.first_seen, i.first_seen),
        last_seen = coalesce(a.last_seen, i.last_seen)
    FROM unnest(%(issues)s::bigint[]) AS t(id)
    LEFT JOIN (SELECT issue_id, count(*) AS n, min(timestamp) AS first_seen,
                      max(timestamp) AS last_seen
               FROM processed_events
               WHERE project_id = %(project)s AND issue_id = ANY(%(issues)s::bigint[])
               GROUP BY issue_id) a ON a.issue_id = t.id
    WHERE i.id = t.id AND i.project_id = %(project)s""",
    "DELETE FROM issue_users WHERE issue_id = ANY(%(issues)s::bigint[])",
    """INSERT INTO issue_users (issue_id, user_key)
    SELECT DISTINCT issue_id, user_key FROM processed_events
    WHERE project_id = %(project)s AND issue_id = ANY(%(issues)s::bigint[])
      AND user_key IS NOT NULL AND user_key <> ''""",
    """UPDATE issues i SET users_seen = coalesce(u.n, 0)
    FROM unnest(%(issues)s::bigint[]) AS t(id)
    LEFT JOIN (SELECT issue_id, count(*) AS n FROM issue_users
               WHERE issue_id = ANY(%(issues)s::bigint[]) GROUP BY issue_id) u
      ON u.issue_id = t.id
    WHERE i.id = t.id AND i.project_id = %(project)s""",
    "DELETE FROM issue_environments WHERE issue_id = ANY(%(issues)s::bigint[])",
    """INSERT INTO issue_environments (issue_id, environment, first_seen, last_seen, times_seen)
    SELECT issue_id, environment, min(timestamp), max(timestamp), count(*)
    FROM processed_events
    WHERE project_id = %(project)s AND issue_id = ANY(%(issues)s::bigint[])
      AND environment IS NOT NULL AND environment <> ''
    GROUP BY issue_id, environment""",
    "DELETE FROM issue_releases WHERE issue_id = ANY(%(issues)s::bigint[])",
    """INSERT INTO issue_releases (issue_id, release, first_seen, last_seen, times_seen)
    SELECT issue_id, release, min(timestamp), max(timestamp), count(*)
    FROM processed_events
    WHERE project_id = %(project)s AND issue_id = ANY(%(issues)s::bigint[])
      AND release IS NOT NULL AND release <> ''
    GROUP BY issue_id, release""",
)


async def recount_issues(
    conn: AsyncConnection[Any], project_id: int, issue_ids: Sequence[int]
) -> None:
    """Rebuild every counter of the project's ``issue_ids`` from their ledger rows."""
    ids = sorted(set(issue_ids))
    if not ids:
        return
    for statement in _RECOUNT:
        await conn.execute(statement, {"issues": ids, "project": project_id})
