"""Issue reads from PostgreSQL: one issue, and keyset-paginated lists.

Issues with ``times_seen = 0`` are invisible: the processor creates an issue row before it
counts the issue's first event, so such a row is not an issue yet.

Lists are sorted descending on one column with ``id`` descending as the tie-break, which
matches the ``issues_project_*`` indexes. A page ends with an opaque cursor holding the
sort column's value and the id of its last issue; the next page starts strictly after
that pair, so walking the cursors visits every issue exactly once (as long as the sort
values do not change meanwhile).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from psycopg.rows import DictRow, dict_row

from faultline_core.storage.postgres.pool import Pool

STATUSES = frozenset({"unresolved", "resolved", "ignored"})
DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_BIGINT = 2**63 - 1


class IssueSortKey(Enum):
    """The column an issue list is sorted on (always descending)."""

    LAST_SEEN = "last_seen"
    FIRST_SEEN = "first_seen"
    TIMES_SEEN = "times_seen"
    USERS_SEEN = "users_seen"


class InvalidCursor(ValueError):
    """A cursor that this service did not produce, or one for a different sort."""


@dataclass(frozen=True)
class Issue:
    id: int
    project_id: int
    title: str
    culprit: str
    level: str
    type: str
    metadata: dict[str, Any]
    platform: str
    first_seen: datetime
    last_seen: datetime
    times_seen: int
    status: str
    substatus: str | None = None
    status_details: dict[str, Any] | None = None
    assignee_id: int | None = None
    assignee_email: str | None = None
    users_seen: int = 0
    hashes: tuple[str, ...] = ()
    """The issue's grouping hashes (filled by :func:`get_issue` only)."""
    environments: tuple[SeenIn, ...] = ()
    """Per environment, last seen first (filled by :func:`get_issue` only)."""
    releases: tuple[SeenIn, ...] = ()
    """Per release, first seen first (filled by :func:`get_issue` only)."""


@dataclass(frozen=True)
class SeenIn:
    """An issue's counters in one environment or release."""

    name: str
    first_seen: datetime
    last_seen: datetime
    times_seen: int


@dataclass(frozen=True)
class Cursor:
    """Where a page ended: the sort column's value and the id of the last issue."""

    sort: IssueSortKey
    value: datetime | int
    issue_id: int

    def encode(self) -> str:
        value = self.value.isoformat() if isinstance(self.value, datetime) else self.value
        payload = {"s": self.sort.value, "v": value, "id": self.issue_id}
        raw = json.dumps(payload, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> Cursor:
        """Parse a cursor from :meth:`encode`; ``InvalidCursor`` for anything else."""
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            payload = json.loads(raw)
            sort = IssueSortKey(payload["s"])
            issue_id = payload["id"]
            value = _cursor_value(sort, payload["v"])
        except (binascii.Error, ValueError, KeyError, TypeError) as exc:
            raise InvalidCursor("cursor is not valid") from exc
        if type(issue_id) is not int or not 1 <= issue_id <= MAX_BIGINT:
            raise InvalidCursor("cursor is not valid")
        return cls(sort, value, issue_id)


def _cursor_value(sort: IssueSortKey, value: Any) -> datetime | int:
    if sort in (IssueSortKey.TIMES_SEEN, IssueSortKey.USERS_SEEN):
        if type(value) is not int or not 0 <= value <= MAX_BIGINT:
            raise TypeError("counter cursor value must be a bigint")
        return value
    if not isinstance(value, str):
        raise TypeError("timestamp cursor value must be a string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError("timestamp cursor value must carry its offset")
    return parsed


@dataclass(frozen=True)
class IssuePage:
    issues: list[Issue]
    next_cursor: Cursor | None
    """None when this is the last page."""


_COLUMNS = (
    "id, project_id, title, culprit, level, type, metadata, platform,"
    " first_seen, last_seen, times_seen, status, substatus, status_details, assignee_id,"
    " users_seen, (SELECT u.email FROM users u WHERE u.id = assignee_id) AS assignee_email"
)


def _issue(row: DictRow) -> Issue:
    if "hashes" in row:
        row["hashes"] = tuple(row["hashes"] or ())
    return Issue(**row)


# A merged issue's id keeps working: it stands for the issue it was merged into.
_GET_ISSUE = f"""
SELECT {_COLUMNS},
       (SELECT array_agg(g.hash ORDER BY g.hash) FROM grouphashes g
         WHERE g.project_id = issues.project_id AND g.issue_id = issues.id) AS hashes
FROM issues
WHERE project_id = %(project)s AND times_seen > 0
  AND id = coalesce((SELECT r.to_issue_id FROM issue_redirects r
                      WHERE r.from_issue_id = %(issue)s AND r.project_id = %(project)s),
                    %(issue)s)
"""


# Per-environment / per-release counters kept by the processor. Capped so an issue seen in
# thousands of releases stays a small reply: the environments seen most recently, and the
# issue's first release plus the newest others, so that both ends (Sentry's firstRelease
# and lastRelease) are always exact.
SEEN_IN_LIMIT = 100
_SEEN_IN_ENVIRONMENTS = """
SELECT s.environment AS name, s.first_seen, s.last_seen, s.times_seen
FROM issue_environments s JOIN issues i ON i.id = s.issue_id
WHERE i.project_id = %(project)s AND s.issue_id = %(issue)s
ORDER BY s.last_seen DESC, s.environment LIMIT %(limit)s
"""
_RELEASES = """
(SELECT s.release AS name, s.first_seen, s.last_seen, s.times_seen
 FROM issue_releases s JOIN issues i ON i.id = s.issue_id
 WHERE i.project_id = %(project)s AND s.issue_id = %(issue)s
 ORDER BY s.first_seen {direction}, s.release {direction} LIMIT {limit})
"""
_SEEN_IN_RELEASES = (
    _RELEASES.format(direction="ASC", limit="1") + " UNION "
    + _RELEASES.format(direction="DESC", limit="%(limit)s - 1")
    + " ORDER BY first_seen, name"
)


async def get_issue(pool: Pool, project_id: int, issue_id: int) -> Issue | None:
    """The issue (or the one it was merged into), only if it belongs to ``project_id``
    and has been seen; with its grouping hashes and where it was seen (at most
    :data:`SEEN_IN_LIMIT` environments, most recent first, and releases, oldest first)."""
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_GET_ISSUE, {"project": project_id, "issue": issue_id})
        row = await cur.fetchone()
        if row is None:
            return None
        seen: list[tuple[SeenIn, ...]] = []
        for sql in (_SEEN_IN_ENVIRONMENTS, _SEEN_IN_RELEASES):
            params = {"project": project_id, "issue": row["id"], "limit": SEEN_IN_LIMIT}
            await cur.execute(sql, params)
            seen.append(tuple(SeenIn(**item) for item in await cur.fetchall()))
    row["environments"], row["releases"] = seen
    return _issue(row)


async def list_issues(
    pool: Pool,
    project_id: int,
    *,
    sort: IssueSortKey = IssueSortKey.LAST_SEEN,
    status: str | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: Cursor | None = None,
) -> IssuePage:
    """One page of the project's issues, sorted by ``sort`` descending, then id descending.

    ``status`` None lists every status. Raises ``ValueError`` for a limit outside
    1..100 or an unknown status, ``InvalidCursor`` for a cursor of another sort.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    if status is not None and status not in STATUSES:
        raise ValueError(f"unknown issue status {status!r}")
    if cursor is not None and cursor.sort is not sort:
        raise InvalidCursor("cursor belongs to a different sort order")
    # The column name comes from the enum, never from the request.
    column = sort.value
    conditions = ["project_id = %s", "times_seen > 0"]
    params: list[Any] = [project_id]
    if status is not None:
        conditions.append("status = %s")
        params.append(status)
    if cursor is not None:
        conditions.append(f"({column}, id) < (%s, %s)")
        params.extend((cursor.value, cursor.issue_id))
    params.append(limit + 1)
    sql = (
        f"SELECT {_COLUMNS} FROM issues WHERE {' AND '.join(conditions)}"
        f" ORDER BY {column} DESC, id DESC LIMIT %s"
    )
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        rows = await cur.fetchall()
    issues = [_issue(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        last = issues[-1]
        next_cursor = Cursor(sort, getattr(last, column), last.id)
    return IssuePage(issues, next_cursor)
