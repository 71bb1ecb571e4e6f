"""ClickHouse queries of the query service (pure: each builder returns ``(sql, params)``).

The text runs unchanged on ClickHouse 18.16 and on chDB 26.x, which rules out CTEs,
window functions and ``toStartOfInterval``. Conventions every builder follows:

* the first condition is ``project_id = %(project_id)s``: the table's sorting key starts
  with it, and no query may read across tenants;
* ``FROM errors FINAL``: the processor is at-least-once, and ``FINAL`` collapses a
  redelivered event into one row so it never counts twice;
* ``deleted = 0``: rows marked deleted are invisible;
* timestamps are compared as ``timestamp >= toDateTime(%(name)s)``, which the table's
  ``toStartOfDay(timestamp)`` sorting key requires on 18.16.

Lists of values become one placeholder per item (``IN (%(group_0)s, %(group_1)s)``)
because the shared renderer turns Python lists into array literals, which ``IN`` does not
accept on every version.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

Query = tuple[str, dict[str, Any]]

DEFAULT_TAG_KEYS: tuple[str, ...] = (
    "browser", "os", "server_name", "url", "user", "release", "environment",
)

_SCOPE = "project_id = %(project_id)s AND deleted = 0"
_EVENT_COLUMNS = "event_id, project_id, group_id, primary_hash, timestamp, timestamp_ms, data"


class Interval(Enum):
    """Bucket width of an event-volume series, with the ClickHouse function that floors to it."""

    HOUR = "toStartOfHour"
    DAY = "toStartOfDay"


def _in_list(column: str, prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``column IN (%(prefix_0)s, ...)`` and its params; ``values`` must not be empty."""
    if not values:
        raise ValueError(f"an IN list on {column} needs at least one value")
    params = {f"{prefix}_{index}": value for index, value in enumerate(values)}
    placeholders = ", ".join(f"%({name})s" for name in params)
    return f"{column} IN ({placeholders})", params


def event_volume(
    project_id: int, group_id: GroupScope, start: datetime, end: datetime, interval: Interval
) -> Query:
    """Event counts per bucket in ``[start, end)``, oldest first; empty buckets are absent.

    ``group_id`` None counts the whole project. Columns: ``bucket`` (DateTime), ``events``.
    """
    params: dict[str, Any] = {"project_id": project_id, "start": start, "end": end}
    group_filter = _group_filter(group_id, params)
    sql = (
        f"SELECT {interval.value}(timestamp) AS bucket, count() AS events"
        " FROM errors FINAL"
        f" WHERE {_SCOPE}"
        " AND timestamp >= toDateTime(%(start)s) AND timestamp < toDateTime(%(end)s)"
        f"{group_filter}"
        " GROUP BY bucket ORDER BY bucket"
    )
    return sql, params


def tag_totals(project_id: int, group_id: GroupScope, keys: Sequence[str]) -> Query:
    """Per tag key: events carrying it (``total``) and distinct values (``unique_values``).

    Columns: ``tag_key``, ``total``, ``unique_values``. Keys absent from every event are
    absent from the result.
    """
    key_filter, params = _in_list("tags.key", "key", keys)
    group_filter = _group_filter(group_id, params)
    params["project_id"] = project_id
    sql = (
        "SELECT tags.key AS tag_key, count() AS total, uniq(tags.value) AS unique_values"
        " FROM errors FINAL ARRAY JOIN tags"
        f" WHERE {_SCOPE}{group_filter} AND {key_filter}"
        " GROUP BY tag_key ORDER BY tag_key"
    )
    return sql, params


def tag_top_values(
    project_id: int, group_id: GroupScope, keys: Sequence[str], top_n: int
) -> Query:
    """The ``top_n`` most frequent values of each key, most frequent first (ties by value).

    Columns: ``tag_key``, ``tag_value``, ``times_seen``, ``first_seen``, ``last_seen``.
    """
    if top_n < 1:
        raise ValueError("top_n must be at least 1")
    key_filter, params = _in_list("tags.key", "key", keys)
    group_filter = _group_filter(group_id, params)
    params["project_id"] = project_id
    params["top_n"] = top_n
    sql = (
        "SELECT tags.key AS tag_key, tags.value AS tag_value, count() AS times_seen,"
        " min(timestamp) AS first_seen, max(timestamp) AS last_seen"
        " FROM errors FINAL ARRAY JOIN tags"
        f" WHERE {_SCOPE}{group_filter} AND {key_filter}"
        " GROUP BY tag_key, tag_value"
        " ORDER BY tag_key, times_seen DESC, tag_value"
        " LIMIT %(top_n)s BY tag_key"
    )
    return sql, params


@dataclass(frozen=True)
class IssueEvents:
    """The events of one issue: those whose primary hash is one of its grouping hashes.

    Merges and unmerges move grouphashes between issues but never rewrite ClickHouse, so
    ``group_id`` keeps the issue an event was first counted on; the hashes follow the
    moves. An issue without known hashes (rows from before grouphashes were kept, test
    fixtures) falls back to ``group_id``.
    """

    issue_id: int
    hashes: tuple[str, ...] = ()


GroupScope = int | IssueEvents | None
"""None: the whole project; an int: ``group_id``; :class:`IssueEvents`: by hashes."""


def _group_filter(group: GroupScope, params: dict[str, Any]) -> str:
    if group is None:
        return ""
    if isinstance(group, IssueEvents):
        # primary_hash is FixedString(32): a longer text could never match (and would
        # not convert), so it is left out.
        hashes = [h for h in group.hashes if len(h) <= 32]
        if hashes:
            condition, hash_params = _in_list("primary_hash", "hash", hashes)
            params.update(hash_params)
            return f" AND {condition}"
        group = group.issue_id
    params["group_id"] = group
    return " AND group_id = %(group_id)s"


def user_counts(project_id: int, group_ids: Sequence[int]) -> Query:
    """Distinct users per group, for a page of issues in one query.

    Columns: ``group_id``, ``users``. Groups without identified users are absent.
    """
    group_filter, params = _in_list("group_id", "group", group_ids)
    params["project_id"] = project_id
    sql = (
        "SELECT group_id, uniq(user_key) AS users"
        " FROM errors FINAL"
        f" WHERE {_SCOPE} AND {group_filter} AND user_key != ''"
        " GROUP BY group_id"
    )
    return sql, params


def event_by_id(project_id: int, event_id_hex: str) -> Query:
    """One event of the project by its id (32 hex characters or the dashed form).

    Columns: ``event_id``, ``project_id``, ``group_id``, ``timestamp``, ``timestamp_ms``,
    ``data``.
    """
    sql = (
        f"SELECT {_EVENT_COLUMNS}"
        " FROM errors FINAL"
        f" WHERE {_SCOPE} AND event_id = toUUID(%(event_id)s)"
        " LIMIT 1"
    )
    # 18.16's toUUID only parses the dashed form.
    return sql, {"project_id": project_id, "event_id": str(uuid.UUID(hex=event_id_hex))}


def latest_event(project_id: int, group_id: int | IssueEvents) -> Query:
    """The most recent event of one group; the event id breaks timestamp ties so the
    answer is stable. Same columns as :func:`event_by_id`."""
    params: dict[str, Any] = {"project_id": project_id}
    group_filter = _group_filter(group_id, params)
    sql = (
        f"SELECT {_EVENT_COLUMNS}"
        " FROM errors FINAL"
        f" WHERE {_SCOPE}{group_filter}"
        " ORDER BY timestamp DESC, timestamp_ms DESC, event_id"
        " LIMIT 1"
    )
    return sql, params
