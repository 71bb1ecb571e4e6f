"""Reading a project's issue projection as a whole: the counters, the hash mapping, the
ledger and the lifecycle state, for tools that check or rebuild it (``faultline verify``).

Every statement is scoped by project id. Rows come back as dicts (the pool's row factory);
the callers turn them into their own types.
"""

from __future__ import annotations

from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

ISSUES = """
SELECT id, times_seen, first_seen, last_seen, users_seen, status, substatus,
       status_changed_at, resolved_in_release, resolved_in_next_release, ignore_until,
       ignore_until_times_seen, ignore_until_users_seen
FROM issues WHERE project_id = %(project)s
"""

# The issue's project comes along so that a hash pointing into another project shows.
GROUPHASHES = """
SELECT g.hash, g.issue_id, i.project_id AS issue_project
FROM grouphashes g LEFT JOIN issues i ON i.id = g.issue_id
WHERE g.project_id = %(project)s
"""

REDIRECTS = """
SELECT r.from_issue_id, r.to_issue_id, t.project_id AS to_project,
       f.id IS NOT NULL AS from_exists
FROM issue_redirects r
LEFT JOIN issues t ON t.id = r.to_issue_id
LEFT JOIN issues f ON f.id = r.from_issue_id
WHERE r.project_id = %(project)s
"""

USER_ROWS = """
SELECT u.issue_id, count(*) AS n FROM issue_users u JOIN issues i ON i.id = u.issue_id
WHERE i.project_id = %(project)s GROUP BY u.issue_id
"""

ISSUE_USERS = """
SELECT u.user_key FROM issue_users u JOIN issues i ON i.id = u.issue_id
WHERE i.project_id = %(project)s AND u.issue_id = %(issue)s
"""

ENVIRONMENTS = """
SELECT e.issue_id, e.environment AS name, e.first_seen, e.last_seen, e.times_seen
FROM issue_environments e JOIN issues i ON i.id = e.issue_id
WHERE i.project_id = %(project)s
"""

RELEASES = """
SELECT r.issue_id, r.release AS name, r.first_seen, r.last_seen, r.times_seen
FROM issue_releases r JOIN issues i ON i.id = r.issue_id
WHERE i.project_id = %(project)s
"""

PROJECT_RELEASES = """
SELECT release, first_seen FROM project_releases WHERE project_id = %(project)s
"""

# One slice of the ledger by event id (the primary key's order), so that a large project
# is compared a slice at a time. ``hi`` NULL: to the end.
LEDGER_SLICE = """
SELECT event_id, issue_id, primary_hash, timestamp FROM processed_events
WHERE project_id = %(project)s AND event_id >= %(lo)s::uuid
  AND (%(hi)s::uuid IS NULL OR event_id < %(hi)s::uuid)
"""

# Events of resolved and ignored issues received after the status change, one row per
# release. After a merge the target also holds events that were counted on the sources,
# under their statuses: only events after the last merge say anything about the target's.
LATE_EVENTS = """
SELECT p.issue_id, coalesce(p.release, '') AS release, count(*) AS n,
       min(p.received) AS first_received, max(p.received) AS last_received
FROM processed_events p JOIN issues i ON i.id = p.issue_id AND i.project_id = p.project_id
WHERE p.project_id = %(project)s AND i.status IN ('resolved', 'ignored')
  AND p.received > coalesce(greatest(i.status_changed_at,
        (SELECT max(a.created_at) FROM issue_activity a
         WHERE a.issue_id = i.id AND a.type = 'merge')), '-infinity'::timestamptz)
GROUP BY p.issue_id, coalesce(p.release, '')
"""

REGRESSED_WITHOUT_ACTIVITY = """
SELECT i.id FROM issues i
WHERE i.project_id = %(project)s AND i.substatus = 'regressed'
  AND NOT EXISTS (SELECT 1 FROM issue_activity a
                  WHERE a.issue_id = i.id AND a.type = 'set_regression')
"""

PROJECT_BY_SLUG = """
SELECT p.id FROM projects p JOIN organizations o ON o.id = p.organization_id
WHERE o.slug = %(org)s AND p.slug = %(project)s
"""


async def fetch(
    conn: AsyncConnection[Any], sql: str, params: dict[str, Any]
) -> list[dict[str, Any]]:
    """Run one of this module's statements and return its rows as dicts."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        return list(await cur.fetchall())
