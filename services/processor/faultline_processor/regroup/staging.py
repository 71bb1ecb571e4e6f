"""The regroup's staging tables: session-temporary tables on the run's own connection.

* ``rg_events(event_id, key_idx, old_hash)``: every event the run has considered, with
  its grouping key under the new config (NULL: not regrouped, e.g. its stored data could
  not be read; such an event follows its old issue, see ``docs/regroup.md``);
* ``rg_keys(key_idx, issue_idx)``: each key's shadow issue;
* ``rg_final(issue_idx, issue_id)``, ``rg_target(old_id, new_id)``: the swap's id maps.

Temporary tables vanish with the session, so a crashed or interrupted run leaves nothing
behind and nothing to clean up; two runs on one project are kept apart by a session
advisory lock. Bulk loads use ``COPY``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

_TABLES = (
    "CREATE TEMP TABLE rg_events (event_id uuid NOT NULL, key_idx int, old_hash text)",
    "CREATE TEMP TABLE rg_keys (key_idx int PRIMARY KEY, issue_idx int NOT NULL)",
    "CREATE TEMP TABLE rg_final (issue_idx int PRIMARY KEY, issue_id bigint NOT NULL)",
    "CREATE TEMP TABLE rg_target (old_id bigint PRIMARY KEY, new_id bigint NOT NULL)",
)

_DELTA = """
SELECT p.event_id FROM processed_events p
WHERE p.project_id = %(project)s {since}
  AND NOT EXISTS (SELECT 1 FROM rg_events e WHERE e.event_id = p.event_id)
"""

# Per (old issue, old primary hash, new issue): how many counted events move. Only events
# in the ledger count: one stored in ClickHouse but not counted yet is counted later by
# the processor, on the issue its hash leads to.
_MOVES = """
SELECT p.issue_id AS old_id, coalesce(p.primary_hash, '') AS old_hash, k.issue_idx,
       count(*) AS n
FROM rg_events e
JOIN rg_keys k ON k.key_idx = e.key_idx
JOIN processed_events p ON p.project_id = %(project)s AND p.event_id = e.event_id
GROUP BY 1, 2, 3
"""


_NULL = "\\N"


@dataclass(frozen=True)
class Move:
    old_id: int
    old_hash: str
    issue_idx: int
    events: int


async def create_tables(conn: AsyncConnection[Any]) -> None:
    for statement in _TABLES:
        await conn.execute(statement)


async def copy_events(
    conn: AsyncConnection[Any], rows: Iterable[tuple[str, int | None, str]]
) -> int:
    """Append (event id, key index or None, old primary hash) rows; returns how many."""
    lines = [f"{e}\t{_NULL if k is None else k}\t{h}\n" for e, k, h in rows]
    if lines:
        async with conn.cursor() as cur, cur.copy(
            "COPY rg_events (event_id, key_idx, old_hash) FROM STDIN"
        ) as copy:
            await copy.write("".join(lines).encode())
    return len(lines)


async def replace_keys(conn: AsyncConnection[Any], pairs: Sequence[tuple[int, int]]) -> None:
    """Store the key → shadow issue map (small: one row per distinct key)."""
    await conn.execute("TRUNCATE rg_keys")
    async with conn.cursor() as cur, cur.copy("COPY rg_keys (key_idx, issue_idx) FROM STDIN") as c:
        await c.write("".join(f"{k}\t{i}\n" for k, i in pairs).encode())
    await conn.execute("ANALYZE rg_events")
    await conn.execute("ANALYZE rg_keys")


async def delta(
    conn: AsyncConnection[Any], project_id: int, since: datetime | None
) -> list[str]:
    """Counted events of the project (received since ``since``) not considered yet."""
    sql = _DELTA.format(since="AND p.received >= %(since)s" if since is not None else "")
    cur = await conn.execute(sql, {"project": project_id, "since": since})
    return [_row(r, "event_id", 0).hex for r in await cur.fetchall()]


async def moves(conn: AsyncConnection[Any], project_id: int) -> list[Move]:
    cur = await conn.execute(_MOVES, {"project": project_id})
    return [
        Move(int(_row(r, "old_id", 0)), str(_row(r, "old_hash", 1)),
             int(_row(r, "issue_idx", 2)), int(_row(r, "n", 3)))
        for r in await cur.fetchall()
    ]


def _row(row: Any, name: str, index: int) -> Any:
    return row[name] if isinstance(row, dict) else row[index]
