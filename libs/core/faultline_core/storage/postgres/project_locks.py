"""Per-project advisory locks that let a regroup swap a project's issue projection atomically.

The processor's write transactions (``resolve_issues``, ``record_events``) take the lock of
every project of their batch in *shared* mode, in project id order; a regroup takes its
project's lock in *exclusive* mode for the transaction that applies the last events and
swaps the projection. Shared holders never wait for each other, so ingestion is only held
up for the one project, and only while the swap runs.

Keys use PostgreSQL's two-``int4`` form with a fixed first key, so they cannot collide with
the embedded bus's locks or the migration runner's one-key lock. Project ids are folded
into 31 bits: two projects sharing a key only ever wait for each other needlessly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from psycopg import AsyncConnection

LOCK_CLASS = 0x46_4C_52_47  # "FLRG"
_FOLD = 2**31

_SHARED = """
SELECT pg_advisory_xact_lock_shared(%s, k)
FROM (SELECT DISTINCT (p %% %s)::int AS k FROM unnest(%s::bigint[]) AS p ORDER BY k) s
"""


async def lock_projects_shared(conn: AsyncConnection[Any], project_ids: Iterable[int]) -> None:
    """Take the projects' regroup locks in shared mode until the transaction ends."""
    ids = sorted(set(project_ids))
    if ids:
        await conn.execute(_SHARED, (LOCK_CLASS, _FOLD, ids))


async def lock_project_exclusive(conn: AsyncConnection[Any], project_id: int) -> None:
    """Take the project's regroup lock exclusively until the transaction ends: waits for
    every processor transaction on the project to finish and holds new ones back."""
    await conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, project_id % _FOLD))


async def try_lock_regroup_run(conn: AsyncConnection[Any], project_id: int) -> bool:
    """A session lock (second class) that keeps two regroups of a project apart."""
    cur = await conn.execute(
        "SELECT pg_try_advisory_lock(%s, %s) AS ok", (LOCK_CLASS + 1, project_id % _FOLD)
    )
    row = await cur.fetchone()
    return bool(row and (row["ok"] if isinstance(row, dict) else row[0]))


async def unlock_regroup_run(conn: AsyncConnection[Any], project_id: int) -> None:
    """Release :func:`try_lock_regroup_run`'s lock (also released when the session ends)."""
    if not conn.closed:
        await conn.execute("SELECT pg_advisory_unlock(%s, %s)",
                           (LOCK_CLASS + 1, project_id % _FOLD))
