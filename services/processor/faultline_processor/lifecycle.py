"""What arriving events do to an issue's status.

* A **resolved** issue regresses (unresolved, substatus ``regressed``) when one of the new
  events was received by the relay after the resolution, and, when it was resolved in a
  release (or "in the next release", stored as the latest release at resolution time),
  only when the event's release is newer (:func:`release_order.is_newer`). An event
  without a release never regresses a release-resolved issue.
* An **ignored** issue becomes unresolved when an event was received after
  ``ignore_until``, or once ``times_seen`` / ``users_seen`` reach
  ``ignore_until_times_seen`` / ``ignore_until_users_seen`` (Sentry's snooze: the API
  stores the current count plus N). Ignored without any of these is ignored forever.

Either change resets the resolution and ignore columns and ``status_details`` and logs an
activity row (``set_regression`` with the release, ``set_unresolved`` with the reason).
The decision is made in Python on the issue rows that :func:`lock_issues` read under lock,
so it cannot race with another batch or with the API changing the status.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from faultline_core.storage.postgres.text import pg_text
from faultline_processor.event_record import EventRecord
from faultline_processor.release_order import is_newer

# NO KEY UPDATE, not UPDATE: the counter tables' foreign keys take KEY SHARE locks on the
# issue, which NO KEY UPDATE does not conflict with. Sorted: concurrent batches lock their
# shared issues in the same order.
_LOCK_ISSUES = """
SELECT id, project_id, status, status_changed_at, times_seen, users_seen,
       resolved_in_release, resolved_in_next_release, ignore_until,
       ignore_until_times_seen, ignore_until_users_seen
FROM issues WHERE id = ANY(%s::bigint[]) ORDER BY id FOR NO KEY UPDATE
"""

_RELEASES_FIRST_SEEN = """
SELECT p.project_id, p.release, p.first_seen FROM project_releases p
JOIN unnest(%s::bigint[], %s::text[]) AS k(project_id, release)
  ON p.project_id = k.project_id AND p.release = k.release
"""

_INSERT_ACTIVITY = """
INSERT INTO issue_activity (project_id, issue_id, type, data)
SELECT * FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::jsonb[])
"""


@dataclass(frozen=True)
class IssueState:
    """An issue's lifecycle columns, as read under lock before the batch is counted."""

    id: int
    project_id: int
    status: str
    status_changed_at: datetime | None
    times_seen: int
    users_seen: int
    resolved_in_release: str | None
    resolved_in_next_release: bool
    ignore_until: datetime | None
    ignore_until_times_seen: int | None
    ignore_until_users_seen: int | None

    @property
    def release_resolved(self) -> bool:
        return self.resolved_in_release is not None or self.resolved_in_next_release


@dataclass(frozen=True)
class Transition:
    """An issue that the batch makes unresolved, and the activity that says why."""

    issue_id: int
    project_id: int
    substatus: str | None
    activity: str
    data: Mapping[str, str]


async def lock_issues(
    conn: AsyncConnection[Any], issue_ids: Sequence[int]
) -> dict[int, IssueState]:
    """Lock the issues and read their state; issues deleted meanwhile are left out."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_LOCK_ISSUES, (sorted(issue_ids),))
        return {int(row["id"]): IssueState(**row) for row in await cur.fetchall()}


async def decide(
    conn: AsyncConnection[Any],
    states: Mapping[int, IssueState],
    records: Sequence[EventRecord],
    new_users: Counter[int],
) -> list[Transition]:
    """The issues that ``records`` (new events of locked issues) make unresolved."""
    by_issue: dict[int, list[EventRecord]] = {}
    for record in records:
        by_issue.setdefault(record.issue_id, []).append(record)
    first_seen = await _first_seen(conn, states, by_issue)
    transitions: list[Transition] = []
    for issue_id, events in by_issue.items():
        state = states[issue_id]
        if state.status == "resolved":
            culprit = _regressing(state, events, first_seen.get(state.project_id, {}))
            if culprit is not None:
                transitions.append(Transition(issue_id, state.project_id, "regressed",
                                              "set_regression",
                                              {"version": pg_text(culprit.release)}))
        elif state.status == "ignored":
            reason = _unignore_reason(state, events, new_users[issue_id])
            if reason is not None:
                transitions.append(Transition(issue_id, state.project_id, None,
                                              "set_unresolved", {"reason": reason}))
    return transitions


def _after_resolution(state: IssueState, events: Sequence[EventRecord]) -> list[EventRecord]:
    resolved_at = state.status_changed_at
    late = [e for e in events if resolved_at is None or e.received > resolved_at]
    return sorted(late, key=lambda e: e.received)


def _regressing(
    state: IssueState, events: Sequence[EventRecord], first_seen: Mapping[str, datetime]
) -> EventRecord | None:
    """The first new event (by receive time) that reopens a resolved issue, if any."""
    for event in _after_resolution(state, events):
        if not state.release_resolved or is_newer(
            pg_text(event.release), state.resolved_in_release, first_seen,
            state.status_changed_at,
        ):
            return event
    return None


def _unignore_reason(
    state: IssueState, events: Sequence[EventRecord], new_users: int
) -> str | None:
    if state.ignore_until is not None and any(e.received > state.ignore_until for e in events):
        return "duration"
    threshold = state.ignore_until_times_seen
    if threshold is not None and state.times_seen + len(events) >= threshold:
        return "count"
    threshold = state.ignore_until_users_seen
    if threshold is not None and state.users_seen + new_users >= threshold:
        return "users"
    return None


async def _first_seen(
    conn: AsyncConnection[Any],
    states: Mapping[int, IssueState],
    by_issue: Mapping[int, Sequence[EventRecord]],
) -> dict[int, dict[str, datetime]]:
    """First appearances of the releases that release-resolved issues need compared.

    Only read when the batch has events after such a resolution: most batches skip it.
    """
    wanted: set[tuple[int, str]] = set()
    for issue_id, events in by_issue.items():
        state = states[issue_id]
        if state.status != "resolved" or not state.release_resolved:
            continue
        late = _after_resolution(state, events)
        wanted.update((state.project_id, pg_text(e.release)) for e in late if e.release)
        if late and state.resolved_in_release is not None:
            wanted.add((state.project_id, pg_text(state.resolved_in_release)))
    if not wanted:
        return {}
    keys = sorted(wanted)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_RELEASES_FIRST_SEEN, ([p for p, _ in keys], [r for _, r in keys]))
        rows = await cur.fetchall()
    found: dict[int, dict[str, datetime]] = {}
    for row in rows:
        found.setdefault(int(row["project_id"]), {})[str(row["release"])] = row["first_seen"]
    return found


async def record_activity(conn: AsyncConnection[Any], transitions: Sequence[Transition]) -> None:
    """One activity row per transition (``user_id`` NULL: the system did it)."""
    if not transitions:
        return
    await conn.execute(
        _INSERT_ACTIVITY,
        (
            [t.project_id for t in transitions],
            [t.issue_id for t in transitions],
            [t.activity for t in transitions],
            [json.dumps(dict(t.data)) for t in transitions],
        ),
    )
