"""Log search (pure): the request's filters, the keyset cursor, the SQL and the reply rows.

The SQL follows :mod:`faultline_query.sql`'s conventions (project first, ``FINAL``,
``deleted = 0``, every value a rendered parameter) and runs on ClickHouse 18.16 and chDB.
Lines are listed newest first, ordered by (timestamp, microseconds, log id), all
descending; a page's cursor holds that triple of its last line, and the next page starts
strictly after it, so walking the cursors visits every line once.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from faultline.v1 import query_pb2
from faultline_core.storage.clickhouse.logs_table import LEVELS
from faultline_query.convert import timestamp as proto_timestamp
from faultline_query.issues import InvalidCursor
from faultline_query.sql import Query

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
DEFAULT_PERIOD = timedelta(hours=24)
MAX_PERIOD = timedelta(days=90)
MAX_QUERY_CHARS = 500
MAX_FILTERS = 20
MAX_FILTER_KEY_CHARS = 200
MAX_FILTER_VALUE_CHARS = 1000

# Filter keys that match a column of their own rather than an attribute.
COLUMN_FILTERS: dict[str, str] = {
    "release": "release",
    "environment": "environment",
    "trace": "trace_id",
}
_HEX32 = re.compile(r"[0-9a-f]{32}")
_MAX_EPOCH = 2**32 - 1  # DateTime's range


class InvalidSearch(ValueError):
    """The search request is malformed; the message is safe to show to the caller."""


@dataclass(frozen=True)
class LogCursor:
    """The sort key of the last line of a page."""

    seconds: int
    micros: int
    log_id: str

    def encode(self) -> str:
        raw = json.dumps([self.seconds, self.micros, self.log_id], separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str) -> LogCursor:
        """Parse a cursor from :meth:`encode`; :class:`InvalidCursor` for anything else."""
        try:
            payload = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
        except (binascii.Error, ValueError) as exc:
            raise InvalidCursor("cursor is not valid") from exc
        if not (isinstance(payload, list) and len(payload) == 3
                and type(payload[0]) is int and 0 <= payload[0] <= _MAX_EPOCH
                and type(payload[1]) is int and 0 <= payload[1] <= 999_999
                and isinstance(payload[2], str) and _HEX32.fullmatch(payload[2])):
            raise InvalidCursor("cursor is not valid")
        return cls(payload[0], payload[1], payload[2])


@dataclass(frozen=True)
class LogSearch:
    """A validated search."""

    project_id: int
    text: str
    levels: tuple[str, ...]
    filters: tuple[tuple[str, str], ...]
    start: datetime
    end: datetime | None
    limit: int
    cursor: LogCursor | None


def _window(
    request: query_pb2.SearchLogsRequest, now: datetime
) -> tuple[datetime, datetime | None]:
    if request.period_seconds < 0:
        raise InvalidSearch("period_seconds must not be negative")
    if request.period_seconds:
        if request.period_seconds > MAX_PERIOD.total_seconds():
            raise InvalidSearch(f"the period may be at most {MAX_PERIOD.days} days")
        return now - timedelta(seconds=request.period_seconds), None
    start = request.start.ToDatetime(UTC) if request.HasField("start") else now - DEFAULT_PERIOD
    end = request.end.ToDatetime(UTC) if request.HasField("end") else None
    if end is not None and end <= start:
        raise InvalidSearch("end must be after start")
    if not datetime(1970, 1, 1, tzinfo=UTC) <= start <= datetime(2106, 1, 1, tzinfo=UTC):
        raise InvalidSearch("start is out of range")
    return start, end


def _filters(request: query_pb2.SearchLogsRequest) -> tuple[tuple[str, str], ...]:
    if len(request.attributes) > MAX_FILTERS:
        raise InvalidSearch(f"at most {MAX_FILTERS} attribute filters are allowed")
    filters = []
    for item in request.attributes:
        if not 1 <= len(item.key) <= MAX_FILTER_KEY_CHARS:
            raise InvalidSearch(f"filter keys must be 1 to {MAX_FILTER_KEY_CHARS} characters")
        if len(item.value) > MAX_FILTER_VALUE_CHARS:
            raise InvalidSearch(f"filter values may be {MAX_FILTER_VALUE_CHARS} characters")
        filters.append((item.key, item.value))
    return tuple(filters)


def log_search(request: query_pb2.SearchLogsRequest, now: datetime) -> LogSearch:
    """Validate ``request`` (project id checked by the caller); :class:`InvalidSearch`."""
    if len(request.query) > MAX_QUERY_CHARS:
        raise InvalidSearch(f"the query may be at most {MAX_QUERY_CHARS} characters")
    levels = tuple(dict.fromkeys(request.levels))
    unknown = [level for level in levels if level not in LEVELS]
    if unknown:
        raise InvalidSearch(f"level must be one of {', '.join(LEVELS)}")
    limit = request.limit or DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidSearch(f"limit must be between 1 and {MAX_LIMIT}")
    start, end = _window(request, now)
    cursor = LogCursor.decode(request.cursor) if request.cursor else None
    return LogSearch(request.project_id, request.query.strip(), levels, _filters(request),
                     start, end, limit, cursor)


def _level_condition(levels: Sequence[str], params: dict[str, Any]) -> str:
    names = []
    for index, level in enumerate(levels):
        params[f"level_{index}"] = level
        names.append(f"%(level_{index})s")
    return f"level IN ({', '.join(names)})"


def _filter_condition(index: int, key: str, value: str, params: dict[str, Any]) -> str:
    params[f"filter_value_{index}"] = value
    column = COLUMN_FILTERS.get(key)
    if column is not None:
        return f"{column} = %(filter_value_{index})s"
    params[f"filter_key_{index}"] = key
    return (f"arrayExists((k, v) -> k = %(filter_key_{index})s AND v = %(filter_value_{index})s,"
            " attributes.key, attributes.value)")


def _cursor_condition(cursor: LogCursor, params: dict[str, Any]) -> str:
    params.update(cursor_s=datetime.fromtimestamp(cursor.seconds, UTC), cursor_us=cursor.micros,
                  cursor_id=str(uuid.UUID(hex=cursor.log_id)))  # 18.16's toUUID wants dashes
    return ("(timestamp < toDateTime(%(cursor_s)s) OR (timestamp = toDateTime(%(cursor_s)s)"
            " AND (timestamp_us < %(cursor_us)s OR (timestamp_us = %(cursor_us)s"
            " AND log_id < toUUID(%(cursor_id)s)))))")


_LOG_COLUMNS = (
    "log_id, timestamp, timestamp_us, level, severity_number, body, trace_id, span_id,"
    " release, environment, template, attributes.key AS attribute_keys,"
    " attributes.value AS attribute_values, attributes.type AS attribute_types"
)


def search_logs_sql(search: LogSearch) -> Query:
    """The page of ``search`` plus one line (to tell whether another page follows)."""
    params: dict[str, Any] = {"project_id": search.project_id, "start": search.start,
                              "limit": search.limit + 1}
    conditions = ["project_id = %(project_id)s", "deleted = 0",
                  "timestamp >= toDateTime(%(start)s)"]
    if search.end is not None:
        params["end"] = search.end
        conditions.append("timestamp < toDateTime(%(end)s)")
    if search.text:
        params["text"] = search.text
        conditions.append("positionCaseInsensitiveUTF8(body, %(text)s) > 0")
    if search.levels:
        conditions.append(_level_condition(search.levels, params))
    conditions.extend(_filter_condition(index, key, value, params)
                      for index, (key, value) in enumerate(search.filters))
    if search.cursor is not None:
        conditions.append(_cursor_condition(search.cursor, params))
    sql = (
        f"SELECT {_LOG_COLUMNS} FROM logs FINAL WHERE {' AND '.join(conditions)}"
        " ORDER BY timestamp DESC, timestamp_us DESC, log_id DESC LIMIT %(limit)s"
    )
    return sql, params


def log_row(row: dict[str, Any]) -> query_pb2.LogRow:
    """A ``LogRow`` from a row of :func:`search_logs_sql`."""
    attributes = [
        query_pb2.LogAttribute(key=key, value=value, type=kind)
        for key, value, kind in zip(row["attribute_keys"], row["attribute_values"],
                                    row["attribute_types"], strict=False)
    ]
    moment = row["timestamp"] + timedelta(microseconds=row["timestamp_us"])
    return query_pb2.LogRow(
        log_id=row["log_id"], timestamp=proto_timestamp(moment), level=row["level"],
        severity_number=row["severity_number"], body=row["body"], trace_id=row["trace_id"],
        span_id=row["span_id"], release=row["release"], environment=row["environment"],
        template=row["template"], attributes=attributes,
    )


def search_logs_response(
    search: LogSearch, rows: Sequence[dict[str, Any]]
) -> query_pb2.SearchLogsResponse:
    """The reply: at most ``search.limit`` lines and the cursor of the next page, if any."""
    page = rows[:search.limit]
    next_cursor = ""
    if len(rows) > search.limit:
        last = page[-1]
        seconds = int(last["timestamp"].timestamp())
        next_cursor = LogCursor(seconds, int(last["timestamp_us"]), last["log_id"]).encode()
    return query_pb2.SearchLogsResponse(rows=[log_row(row) for row in page],
                                        next_cursor=next_cursor)
