"""The per-issue counters beside ``times_seen``: distinct users, first/last seen per
environment and per release, and each project's releases in order of first appearance.

All of it is one statement per batch, run by :mod:`event_ledger` after it has locked the
issues, for the events whose ledger rows were just inserted (so a redelivered event is
never counted twice). Every value can be recomputed from ``processed_events``:

* ``issue_users``: the distinct non-empty ``user_key`` of the issue's events;
* ``issue_environments`` / ``issue_releases``: min/max event timestamp and count per
  non-empty environment / release (events without one are in no row);
* ``project_releases.first_seen``: the earliest relay receive time of any event of that
  release in the project. Kept exact when events arrive out of order, except that two
  transactions first seeing the same release at the same moment keep the first
  committed time (their receive times differ by the batching delay at most).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import dict_row

from faultline_core.storage.postgres.text import pg_text
from faultline_processor.event_record import EventRecord


def _span_upsert(table: str, column: str, prefix: str) -> str:
    """The upsert adding per-(issue, name) first/last seen and counts to ``table``, from
    the arrays :func:`_span_params` builds under ``prefix``: environments and releases are
    counted alike."""
    return f"""
    INSERT INTO {table} AS t (issue_id, {column}, first_seen, last_seen, times_seen)
    SELECT * FROM unnest(%({prefix}_issue)s::bigint[], %({prefix}_name)s::text[],
                         %({prefix}_first)s::timestamptz[], %({prefix}_last)s::timestamptz[],
                         %({prefix}_n)s::bigint[]) AS u(issue_id, name, first_seen, last_seen, n)
    ORDER BY issue_id, name
    ON CONFLICT (issue_id, {column}) DO UPDATE SET
        first_seen = least(t.first_seen, excluded.first_seen),
        last_seen = greatest(t.last_seen, excluded.last_seen),
        times_seen = t.times_seen + excluded.times_seen
"""


# Data-modifying CTEs: one round trip. Each input is aggregated per key beforehand (an
# upsert cannot touch a row twice in one statement) and sorted, so concurrent batches take
# the index locks in the same order. project_releases rows are only locked when a batch
# moves their first appearance earlier: a plain DO UPDATE would lock the project's current
# release for every batch and serialize all processors on it.
_COUNT = f"""
WITH envs AS ({_span_upsert("issue_environments", "environment", "e")}
), rels AS ({_span_upsert("issue_releases", "release", "r")}
), new_releases AS (
    INSERT INTO project_releases (project_id, release, first_seen)
    SELECT * FROM unnest(%(p_project)s::bigint[], %(p_name)s::text[],
                         %(p_first)s::timestamptz[]) AS u(project_id, name, first_seen)
    ORDER BY project_id, name
    ON CONFLICT DO NOTHING
), earlier_releases AS (
    UPDATE project_releases p SET first_seen = u.first_seen
    FROM unnest(%(p_project)s::bigint[], %(p_name)s::text[], %(p_first)s::timestamptz[])
         AS u(project_id, name, first_seen)
    WHERE p.project_id = u.project_id AND p.release = u.name AND p.first_seen > u.first_seen
)
INSERT INTO issue_users (issue_id, user_key)
SELECT * FROM unnest(%(u_issue)s::bigint[], %(u_key)s::text[]) AS u(issue_id, user_key)
ORDER BY issue_id, user_key
ON CONFLICT DO NOTHING
RETURNING issue_id
"""


@dataclass
class _Span:
    first_seen: datetime
    last_seen: datetime
    count: int = 1

    def add(self, at: datetime) -> None:
        self.first_seen = min(self.first_seen, at)
        self.last_seen = max(self.last_seen, at)
        self.count += 1


def _spans(records: Sequence[EventRecord], attr: str) -> dict[tuple[int, str], _Span]:
    spans: dict[tuple[int, str], _Span] = {}
    for record in records:
        name = pg_text(getattr(record, attr))
        if not name:
            continue
        span = spans.get((record.issue_id, name))
        if span is None:
            spans[(record.issue_id, name)] = _Span(record.timestamp, record.timestamp)
        else:
            span.add(record.timestamp)
    return spans


def _span_params(prefix: str, spans: dict[tuple[int, str], _Span]) -> dict[str, list[Any]]:
    return {
        f"{prefix}_issue": [issue for issue, _ in spans],
        f"{prefix}_name": [name for _, name in spans],
        f"{prefix}_first": [s.first_seen for s in spans.values()],
        f"{prefix}_last": [s.last_seen for s in spans.values()],
        f"{prefix}_n": [s.count for s in spans.values()],
    }


def _parameters(records: Sequence[EventRecord]) -> dict[str, list[Any]]:
    releases: dict[tuple[int, str], datetime] = {}
    users: set[tuple[int, str]] = set()
    for record in records:
        if release := pg_text(record.release):
            key = (record.project_id, release)
            releases[key] = min(releases.get(key, record.received), record.received)
        if user := pg_text(record.user_key):
            users.add((record.issue_id, user))
    return {
        **_span_params("e", _spans(records, "environment")),
        **_span_params("r", _spans(records, "release")),
        "p_project": [project for project, _ in releases],
        "p_name": [name for _, name in releases],
        "p_first": list(releases.values()),
        "u_issue": [issue for issue, _ in users],
        "u_key": [key for _, key in users],
    }


async def add_counters(
    conn: AsyncConnection[Any], records: Sequence[EventRecord]
) -> Counter[int]:
    """Count ``records`` (newly ledgered events of locked issues) in the per-environment,
    per-release and user tables; returns how many users each issue has gained."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_COUNT, _parameters(records))
        rows = await cur.fetchall()
    return Counter(int(row["issue_id"]) for row in rows)
