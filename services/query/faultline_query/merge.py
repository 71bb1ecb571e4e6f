"""Merging issues and unmerging grouping hashes, with counters recomputed from the ledger.

``processed_events`` holds one row per counted event with its issue and primary hash, so
after events move between issues every counter (times seen, first and last seen, users,
per-environment and per-release rows) is recomputed from it rather than adjusted: the
result is exact whatever the history. ClickHouse is never rewritten; its reads select an
issue's events by the primary hashes that ``grouphashes`` maps to the issue.

Everything runs in one transaction with the issue rows locked in id order (the order the
processor locks them in too), so a concurrent event either lands before the move and is
moved with it, or after it and follows the hash to its new issue.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from faultline_core.storage.postgres.pool import Pool
from faultline_core.storage.postgres.recount import recount_issues
from faultline_query import activity
from faultline_query.lifecycle import lock_issues
from faultline_query.lifecycle_errors import Invalid, Missing

MAX_HASHES = 100

async def recompute_counters(conn: AsyncConnection[Any], project_id: int, issue_id: int) -> None:
    """Rebuild the issue's counters from its ledger rows (the issue must be locked); the
    statements are shared with regrouping (``faultline_core...recount``)."""
    await recount_issues(conn, project_id, [issue_id])


@dataclass(frozen=True)
class MergeResult:
    parent_id: int
    child_ids: list[int]


def merge_target(rows: Sequence[dict[str, Any]]) -> int:
    """The issue with the most events; ties go to the oldest (first seen, then lowest id)."""
    best = min(rows, key=lambda row: (-row["times_seen"], row["first_seen"], row["id"]))
    return int(best["id"])


async def merge_issues(
    pool: Pool, project_id: int, issue_ids: Sequence[int], acting_user: int
) -> MergeResult:
    """Merge the issues into the one with the most events; the others redirect to it."""
    async with pool.connection() as conn, conn.transaction():
        rows = await lock_issues(conn, project_id, issue_ids)
        if len(rows) < 2:
            raise Invalid("merging needs at least two different issues")
        actor = await activity.acting_user(conn, acting_user)
        target = merge_target(rows)
        sources = [int(row["id"]) for row in rows if row["id"] != target]
        params = {"target": target, "sources": sources, "project": project_id}
        for statement in _MOVE_TO_TARGET:
            await conn.execute(statement, params)
        await recompute_counters(conn, project_id, target)
        await conn.execute("DELETE FROM issues WHERE id = ANY(%(sources)s)", params)
        await activity.record(conn, project_id, target, "merge",
                              {"issues": [{"id": str(s)} for s in sources]}, actor)
    return MergeResult(target, sources)


_MOVE_TO_TARGET = (
    """UPDATE grouphashes SET issue_id = %(target)s
    WHERE project_id = %(project)s AND issue_id = ANY(%(sources)s)""",
    """UPDATE processed_events SET issue_id = %(target)s
    WHERE project_id = %(project)s AND issue_id = ANY(%(sources)s)""",
    # The sources' history stays readable on the target, like Sentry's merge.
    """UPDATE issue_activity SET issue_id = %(target)s
    WHERE project_id = %(project)s AND issue_id = ANY(%(sources)s)""",
    # Earlier redirects to a source now lead to the target (before the source's row,
    # and with it these rows, would be deleted by the foreign key's cascade).
    """UPDATE issue_redirects SET to_issue_id = %(target)s
    WHERE project_id = %(project)s AND to_issue_id = ANY(%(sources)s)""",
    """INSERT INTO issue_redirects (project_id, from_issue_id, to_issue_id)
    SELECT %(project)s, s, %(target)s FROM unnest(%(sources)s::bigint[]) AS s
    ON CONFLICT (from_issue_id) DO UPDATE SET to_issue_id = excluded.to_issue_id""",
)

_NEW_ISSUE_FROM = """
INSERT INTO issues (project_id, title, culprit, level, type, metadata, platform,
                    first_seen, last_seen, times_seen, grouping_config)
SELECT project_id, title, culprit, level, type, metadata, platform,
       first_seen, last_seen, 0, grouping_config
FROM issues WHERE id = %s
RETURNING id
"""


@dataclass(frozen=True)
class UnmergeResult:
    source_id: int
    destination_id: int


async def _issue_hashes(
    conn: AsyncConnection[Any], project_id: int, issue_id: int
) -> set[str]:
    cur = await conn.execute(
        "SELECT hash FROM grouphashes WHERE project_id = %s AND issue_id = %s",
        (project_id, issue_id),
    )
    return {str(row["hash"]) for row in await cur.fetchall()}


def _check_hashes(requested: Sequence[str], owned: set[str]) -> list[str]:
    wanted = sorted(set(requested))
    if not wanted:
        raise Invalid("at least one hash is required")
    if len(wanted) > MAX_HASHES:
        raise Invalid(f"at most {MAX_HASHES} hashes at once")
    foreign = [h for h in wanted if h not in owned]
    if foreign:
        raise Missing(f"hash {foreign[0]} does not belong to this issue")
    if len(wanted) == len(owned):
        raise Invalid("cannot unmerge every hash of an issue")
    return wanted


async def unmerge_hashes(
    pool: Pool, project_id: int, issue_id: int, hashes: Sequence[str], acting_user: int
) -> UnmergeResult:
    """Move ``hashes`` and the ledger rows of events with those primary hashes to a new
    issue (copying the source's title and metadata); both issues' counters are rebuilt."""
    async with pool.connection() as conn, conn.transaction():
        source = int((await lock_issues(conn, project_id, [issue_id]))[0]["id"])
        wanted = _check_hashes(hashes, await _issue_hashes(conn, project_id, source))
        actor = await activity.acting_user(conn, acting_user)
        cur = await conn.execute(_NEW_ISSUE_FROM, (source,))
        created = await cur.fetchone()
        assert created is not None
        destination = int(created["id"])
        params = {"src": source, "dst": destination, "project": project_id, "hashes": wanted}
        await conn.execute(
            "UPDATE grouphashes SET issue_id = %(dst)s"
            " WHERE project_id = %(project)s AND hash = ANY(%(hashes)s)", params)
        await conn.execute(
            "UPDATE processed_events SET issue_id = %(dst)s WHERE project_id = %(project)s"
            " AND issue_id = %(src)s AND primary_hash = ANY(%(hashes)s)", params)
        await recompute_counters(conn, project_id, source)
        await recompute_counters(conn, project_id, destination)
        await activity.record(conn, project_id, source, "unmerge_source",
                              {"fingerprints": wanted, "destination_id": str(destination)},
                              actor)
        await activity.record(conn, project_id, destination, "unmerge_destination",
                              {"fingerprints": wanted, "source_id": str(source)}, actor)
    return UnmergeResult(source, destination)


@dataclass(frozen=True)
class HashRow:
    hash: str
    latest_event_id: str
    event_count: int


_LIST_HASHES = """
SELECT g.hash, l.event_id, coalesce(l.n, 0) AS n
FROM grouphashes g
LEFT JOIN (
    SELECT DISTINCT ON (primary_hash) primary_hash, event_id,
           count(*) OVER (PARTITION BY primary_hash) AS n
    FROM processed_events
    WHERE project_id = %(project)s AND issue_id = %(issue)s AND primary_hash IS NOT NULL
    ORDER BY primary_hash, timestamp DESC, event_id
) l ON l.primary_hash = g.hash
WHERE g.project_id = %(project)s AND g.issue_id = %(issue)s
ORDER BY g.hash
"""


async def list_hashes(pool: Pool, project_id: int, issue_id: int) -> list[HashRow]:
    """The issue's grouping hashes with their latest event (from the ledger's index)."""
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        target = await activity.visible_issue(conn, project_id, issue_id)
        await cur.execute(_LIST_HASHES, {"project": project_id, "issue": target})
        return [
            HashRow(str(row["hash"]), row["event_id"].hex if row["event_id"] else "",
                    int(row["n"]))
            for row in await cur.fetchall()
        ]



async def issue_of_hash(pool: Pool, project_id: int, primary_hash: str) -> int | None:
    """The issue a primary hash belongs to now, if the hash is known."""
    if not primary_hash:
        return None
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT issue_id FROM grouphashes WHERE project_id = %s AND hash = %s",
            (project_id, primary_hash),
        )
        row = await cur.fetchone()
    return int(row["issue_id"]) if row else None
