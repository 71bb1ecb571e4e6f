"""Issues in PostgreSQL: the projection of the event stream that the processor maintains.

Two steps, each one short transaction with a handful of batched statements:

* :func:`resolve_issues` maps each distinct (project, hashes) to an issue id, creating
  issues (with ``times_seen = 0``) and their grouphashes when no hash is known yet.
  Concurrent processors creating the same issue converge on one: hashes are inserted
  with ``ON CONFLICT DO NOTHING`` and re-read, and an issue that lost the race is merged
  into the winner before the transaction commits (so nobody ever sees it).
* :func:`record_events` (in :mod:`event_ledger`, re-exported here) inserts the events'
  ledger rows and, for the events that are new, bumps their issues' counters and applies
  the status changes they cause, so a redelivered event is never counted twice.

A new issue gets a ``first_seen`` activity row in the transaction that creates it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import DictRow, dict_row

from faultline_core.storage.postgres.pool import Pool
from faultline_core.storage.postgres.project_locks import lock_projects_shared
from faultline_core.storage.postgres.text import pg_text
from faultline_processor.event_ledger import record_events
from faultline_processor.event_record import EventRecord, RecordResult
from faultline_processor.grouping_settings import effective_config

IssueKey = tuple[int, tuple[str, ...]]
"""(project id, grouping hashes): events with the same key always share an issue."""


@dataclass(frozen=True)
class IssueSeed:
    """What a new issue is created from: the first event of its key in the batch."""

    project_id: int
    hashes: tuple[str, ...]
    grouping_config: str
    timestamp: datetime
    title: str
    culprit: str
    level: str
    type: str
    platform: str
    metadata: Mapping[str, Any]

    @property
    def key(self) -> IssueKey:
        return (self.project_id, self.hashes)


@dataclass(frozen=True)
class Resolution:
    issue_ids: dict[IssueKey, int]
    unknown_projects: frozenset[int]
    """Projects that no longer exist: their events cannot get an issue."""
    configs: Mapping[int, str] = field(default_factory=dict)
    """Each existing project's grouping config, read under the regroup lock. Seeds
    grouped with another config (a regroup swapped the project since) get no issue:
    the caller groups their events again and resolves them anew."""


# --- resolve -------------------------------------------------------------------------

_LOOKUP_HASHES = """
SELECT g.project_id, g.hash, g.issue_id
FROM grouphashes g
JOIN unnest(%s::bigint[], %s::text[]) AS k(project_id, hash)
  ON g.project_id = k.project_id AND g.hash = k.hash
"""

_ALLOCATE_IDS = (
    "SELECT nextval(pg_get_serial_sequence('issues', 'id')) AS id FROM generate_series(1, %s)"
)

# The activity row in the same statement: an issue that loses a creation race is deleted
# before commit, and its activity with it (ON DELETE CASCADE).
_INSERT_ISSUES = """
WITH created AS (
INSERT INTO issues (id, project_id, title, culprit, level, type, metadata, platform,
                    first_seen, last_seen, times_seen, grouping_config)
SELECT u.id, u.project_id, u.title, u.culprit, u.level, u.type, u.metadata::jsonb,
       u.platform, u.ts, u.ts, 0, u.config
FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::text[], %s::text[], %s::text[],
            %s::text[], %s::text[], %s::timestamptz[], %s::text[])
     AS u(id, project_id, title, culprit, level, type, metadata, platform, ts, config)
RETURNING id, project_id
)
INSERT INTO issue_activity (project_id, issue_id, type)
SELECT project_id, id, 'first_seen' FROM created ORDER BY id
"""

# Sorted so that concurrent processors take the unique-index locks in the same order.
_INSERT_HASHES = """
INSERT INTO grouphashes (project_id, hash, issue_id)
SELECT u.project_id, u.hash, u.issue_id
FROM unnest(%s::bigint[], %s::text[], %s::bigint[]) AS u(project_id, hash, issue_id)
ORDER BY u.project_id, u.hash
ON CONFLICT DO NOTHING
"""

_MERGE_HASHES = """
UPDATE grouphashes g SET issue_id = m.winner
FROM unnest(%s::bigint[], %s::bigint[]) AS m(loser, winner)
WHERE g.issue_id = m.loser
"""


async def resolve_issues(
    pool: Pool, seeds: Sequence[IssueSeed]
) -> Resolution:
    """The issue id of every seed's key, creating issues and grouphashes as needed.

    An event joins the issue of the first of its hashes already known; all of its hashes
    then point at that issue. Seeds whose project does not exist are left out and listed
    in ``unknown_projects``.
    """
    firsts: dict[IssueKey, IssueSeed] = {}
    for seed in seeds:
        firsts.setdefault(seed.key, seed)
    if not firsts:
        return Resolution({}, frozenset())
    async with pool.connection() as conn, conn.transaction():
        # Shared: a regroup swapping a project's projection waits for this transaction.
        await lock_projects_shared(conn, {key[0] for key in firsts})
        configs = await _project_configs(conn, {key[0] for key in firsts})
        live = [seed for seed in firsts.values()
                if configs.get(seed.project_id) == seed.grouping_config]
        unknown = frozenset({key[0] for key in firsts} - configs.keys())
        if not live:
            return Resolution({}, unknown, configs)
        existing = await _lookup(conn, live)
        assignment, new_seeds = _assign(live, existing)
        new_ids = await _create_issues(conn, new_seeds)
        assigned = {key: _real_id(issue, new_ids) for key, issue in assignment.items()}
        wanted = {
            (seed.project_id, h): assigned[seed.key]
            for seed in reversed(live)  # reversed: the first seed's choice wins
            for h in seed.hashes
        }
        await _insert_hashes(conn, wanted)
        stored = await _lookup(conn, live)
        issue_ids = await _converge(conn, live, assigned, new_ids, stored)
    return Resolution(issue_ids, unknown, configs)


async def _project_configs(conn: AsyncConnection[Any], project_ids: set[int]) -> dict[int, str]:
    """The grouping config each existing project's events are grouped with now."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, grouping_config FROM projects WHERE id = ANY(%s::bigint[])",
            (sorted(project_ids),),
        )
        return {int(row["id"]): effective_config(str(row["grouping_config"]))
                for row in await cur.fetchall()}


async def _lookup(
    conn: AsyncConnection[Any], seeds: Iterable[IssueSeed]
) -> dict[tuple[int, str], int]:
    pairs = sorted({(seed.project_id, h) for seed in seeds for h in seed.hashes})
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_LOOKUP_HASHES, ([p for p, _ in pairs], [h for _, h in pairs]))
        rows: list[DictRow] = await cur.fetchall()
    return {(int(r["project_id"]), str(r["hash"])): int(r["issue_id"]) for r in rows}


def _assign(
    seeds: Sequence[IssueSeed], existing: Mapping[tuple[int, str], int]
) -> tuple[dict[IssueKey, int], list[IssueSeed]]:
    """Each key's issue: an existing id (>= 0), or ``-n - 1`` for the n-th new issue.

    Keys are taken in batch order, and each decision is remembered per hash, so two new
    keys of one batch that share a hash also share one new issue.
    """
    by_hash: dict[tuple[int, str], int] = dict(existing)
    assignment: dict[IssueKey, int] = {}
    new_seeds: list[IssueSeed] = []
    for seed in seeds:
        found = next(
            (by_hash[(seed.project_id, h)] for h in seed.hashes
             if (seed.project_id, h) in by_hash),
            None,
        )
        if found is None:
            new_seeds.append(seed)
            found = -len(new_seeds)
        assignment[seed.key] = found
        for h in seed.hashes:
            by_hash.setdefault((seed.project_id, h), found)
    return assignment, new_seeds


def _real_id(assigned: int, new_ids: Sequence[int]) -> int:
    return assigned if assigned >= 0 else new_ids[-assigned - 1]


async def _create_issues(conn: AsyncConnection[Any], seeds: Sequence[IssueSeed]) -> list[int]:
    if not seeds:
        return []
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_ALLOCATE_IDS, (len(seeds),))
        ids = [int(row["id"]) for row in await cur.fetchall()]
        columns: list[list[Any]] = [
            ids,
            [s.project_id for s in seeds],
            [pg_text(s.title) for s in seeds],
            [pg_text(s.culprit) for s in seeds],
            [pg_text(s.level) for s in seeds],
            [pg_text(s.type) for s in seeds],
            [_metadata_json(s.metadata) for s in seeds],
            [pg_text(s.platform) for s in seeds],
            [s.timestamp for s in seeds],
            [pg_text(s.grouping_config) for s in seeds],
        ]
        await cur.execute(_INSERT_ISSUES, columns)
    return ids


def _metadata_json(metadata: Mapping[str, Any]) -> str:
    return json.dumps(_pg_json(metadata), default=str)


def _pg_json(value: Any) -> Any:
    """``value`` with every string made acceptable to ``jsonb`` (see :func:`pg_text`)."""
    if isinstance(value, str):
        return pg_text(value)
    if isinstance(value, Mapping):
        return {pg_text(str(k)): _pg_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_pg_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None  # JSON has no NaN or Infinity
    return value


async def _insert_hashes(conn: AsyncConnection[Any], wanted: Mapping[tuple[int, str], int]) -> None:
    keys = list(wanted)
    await conn.execute(
        _INSERT_HASHES, ([p for p, _ in keys], [h for _, h in keys], list(wanted.values()))
    )


async def _converge(
    conn: AsyncConnection[Any],
    seeds: Sequence[IssueSeed],
    assigned: Mapping[IssueKey, int],
    new_ids: Sequence[int],
    stored: Mapping[tuple[int, str], int],
) -> dict[IssueKey, int]:
    """Final ids once the hashes are in: each key's first hash decides.

    They differ from ``assigned`` only when another processor committed one of the hashes
    first. A new issue of ours that lost such a race is merged into the winner (its hashes
    re-pointed, the issue deleted) before this transaction commits, so nobody sees it.
    """
    final = {seed.key: stored[(seed.project_id, seed.hashes[0])] for seed in seeds}
    created = set(new_ids)
    merges: dict[int, int] = {}
    for seed in seeds:
        mine = assigned[seed.key]
        if mine in created and final[seed.key] != mine:
            merges.setdefault(mine, final[seed.key])
    if not merges:
        return final
    for loser in merges:  # follow chains, should a winner itself have lost
        winner = merges[loser]
        while winner in merges and winner != loser:
            winner = merges[winner]
        merges[loser] = winner
    await conn.execute(_MERGE_HASHES, (list(merges), list(merges.values())))
    await conn.execute("DELETE FROM issues WHERE id = ANY(%s::bigint[])", (list(merges),))
    return {key: merges.get(issue_id, issue_id) for key, issue_id in final.items()}


__all__ = [
    "EventRecord", "IssueKey", "IssueSeed", "RecordResult", "Resolution", "record_events",
    "resolve_issues",
]
