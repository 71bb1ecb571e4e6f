"""Counting events on their issues: the ledger (``processed_events``) and everything derived
from it, in one transaction per batch.

The ledger insert decides which events are new (a redelivered event is already there);
only those are counted. Then, with the issues locked in id order: the counter tables
(:mod:`issue_counters`), the status changes the events cause (:mod:`lifecycle`), one
``UPDATE`` of all the issues and the activity rows. Every step is a batched statement
(``unnest``), never one per event.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from faultline_core.storage.postgres.pool import Pool
from faultline_core.storage.postgres.project_locks import lock_projects_shared
from faultline_core.storage.postgres.text import pg_text
from faultline_processor import issue_counters, lifecycle
from faultline_processor.event_record import EventRecord, RecordResult
from faultline_processor.lifecycle import Transition
from faultline_processor.redirects import follow_redirects

# Sorted by the primary key so that two processors replaying overlapping batches take
# the index locks in the same order. Empty optional values are stored as NULL.
_INSERT_PROCESSED = """
INSERT INTO processed_events (project_id, event_id, issue_id, timestamp, primary_hash,
                              user_key, environment, release, received)
SELECT u.project_id, u.event_id, u.issue_id, u.ts, nullif(u.primary_hash, ''),
       nullif(u.user_key, ''), nullif(u.environment, ''), nullif(u.release, ''), u.received
FROM unnest(%s::bigint[], %s::uuid[], %s::bigint[], %s::timestamptz[], %s::text[],
            %s::text[], %s::text[], %s::text[], %s::timestamptz[])
     AS u(project_id, event_id, issue_id, ts, primary_hash, user_key, environment, release,
          received)
ORDER BY u.project_id, u.event_id
ON CONFLICT DO NOTHING
RETURNING project_id, event_id
"""

# The latest event (by timestamp) sets level, title and culprit. ``reopen`` comes from
# lifecycle.decide: the issue becomes unresolved and its resolution/ignore state is reset.
_BUMP_ISSUES = """
UPDATE issues i SET
    times_seen = i.times_seen + u.n,
    users_seen = i.users_seen + u.users,
    first_seen = least(i.first_seen, u.first_seen),
    last_seen = greatest(i.last_seen, u.last_seen),
    level = CASE WHEN u.last_seen >= i.last_seen THEN u.level ELSE i.level END,
    title = CASE WHEN u.last_seen >= i.last_seen THEN u.title ELSE i.title END,
    culprit = CASE WHEN u.last_seen >= i.last_seen THEN u.culprit ELSE i.culprit END,
    status = CASE WHEN u.reopen THEN 'unresolved' ELSE i.status END,
    substatus = CASE WHEN u.reopen THEN u.substatus ELSE i.substatus END,
    status_changed_at = CASE WHEN u.reopen THEN now() ELSE i.status_changed_at END,
    status_details = CASE WHEN u.reopen THEN '{}'::jsonb ELSE i.status_details END,
    resolved_in_release = CASE WHEN u.reopen THEN NULL ELSE i.resolved_in_release END,
    resolved_in_next_release = i.resolved_in_next_release AND NOT u.reopen,
    ignore_until = CASE WHEN u.reopen THEN NULL ELSE i.ignore_until END,
    ignore_until_times_seen = CASE WHEN u.reopen THEN NULL ELSE i.ignore_until_times_seen END,
    ignore_until_users_seen = CASE WHEN u.reopen THEN NULL ELSE i.ignore_until_users_seen END
FROM unnest(%s::bigint[], %s::bigint[], %s::bigint[], %s::timestamptz[], %s::timestamptz[],
            %s::text[], %s::text[], %s::text[], %s::boolean[], %s::text[])
     AS u(issue_id, n, users, first_seen, last_seen, level, title, culprit, reopen, substatus)
WHERE i.id = u.issue_id
"""


@dataclass
class _IssueDelta:
    count: int
    first_seen: datetime
    latest: EventRecord

    def add(self, record: EventRecord) -> None:
        self.count += 1
        self.first_seen = min(self.first_seen, record.timestamp)
        if record.timestamp >= self.latest.timestamp:
            self.latest = record


async def record_events(pool: Pool, records: Sequence[EventRecord]) -> RecordResult:
    """Count each event once on its issue, in one transaction.

    An event already in ``processed_events`` (or repeated in ``records``) is skipped, so
    replaying a batch after a crash changes nothing.
    """
    unique: dict[tuple[int, str], EventRecord] = {}
    for record in records:
        unique.setdefault((record.project_id, record.event_id), record)
    if not unique:
        return RecordResult([], 0)
    candidates = list(unique.values())
    async with pool.connection() as conn, conn.transaction():
        # Shared: a regroup swapping a project's projection waits for this transaction.
        await lock_projects_shared(conn, {r.project_id for r in candidates})
        # An issue retired since the batch resolved it (merged, regrouped) has a redirect.
        candidates = await follow_redirects(conn, candidates)
        inserted = await _insert_processed(conn, candidates)
        new = [r for r in candidates if (r.project_id, r.event_id) in inserted]
        if new:
            await _count(conn, new)
    return RecordResult(new, len(records) - len(new))


async def _insert_processed(
    conn: AsyncConnection[Any], records: Sequence[EventRecord]
) -> set[tuple[int, str]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _INSERT_PROCESSED,
            (
                [r.project_id for r in records],
                [r.event_id for r in records],
                [r.issue_id for r in records],
                [r.timestamp for r in records],
                [pg_text(r.primary_hash) for r in records],
                [pg_text(r.user_key) for r in records],
                [pg_text(r.environment) for r in records],
                [pg_text(r.release) for r in records],
                [r.received for r in records],
            ),
        )
        rows = await cur.fetchall()
    return {(int(row["project_id"]), row["event_id"].hex) for row in rows}


async def _count(conn: AsyncConnection[Any], records: Sequence[EventRecord]) -> None:
    states = await lifecycle.lock_issues(conn, list({r.issue_id for r in records}))
    # An issue deleted since the batch resolved it (merged away) has nothing to count on;
    # its events stay in the ledger for whoever rebuilds the projection.
    live = [r for r in records if r.issue_id in states]
    if not live:
        return
    new_users = await issue_counters.add_counters(conn, live)
    transitions = await lifecycle.decide(conn, states, live, new_users)
    await _bump_issues(conn, live, new_users, {t.issue_id: t for t in transitions})
    await lifecycle.record_activity(conn, transitions)


async def _bump_issues(
    conn: AsyncConnection[Any],
    records: Sequence[EventRecord],
    new_users: Counter[int],
    transitions: Mapping[int, Transition],
) -> None:
    deltas: dict[int, _IssueDelta] = {}
    for record in records:
        delta = deltas.get(record.issue_id)
        if delta is None:
            deltas[record.issue_id] = _IssueDelta(1, record.timestamp, record)
        else:
            delta.add(record)
    items = sorted(deltas.items())
    await conn.execute(
        _BUMP_ISSUES,
        (
            [issue_id for issue_id, _ in items],
            [d.count for _, d in items],
            [new_users[issue_id] for issue_id, _ in items],
            [d.first_seen for _, d in items],
            [d.latest.timestamp for _, d in items],
            [pg_text(d.latest.level) for _, d in items],
            [pg_text(d.latest.title) for _, d in items],
            [pg_text(d.latest.culprit) for _, d in items],
            [issue_id in transitions for issue_id, _ in items],
            [_substatus(transitions.get(issue_id)) for issue_id, _ in items],
        ),
    )


def _substatus(transition: Transition | None) -> str | None:
    return transition.substatus if transition is not None else None

