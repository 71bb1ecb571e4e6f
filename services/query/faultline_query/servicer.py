"""The ``faultline.v1.QueryService`` implementation.

Every request is scoped by ``project_id``: issues are read with it in the WHERE clause, and
every ClickHouse query filters on it first. An issue-scoped request for an issue that is
not in the project answers NOT_FOUND, exactly as for an issue that does not exist, so
one tenant cannot even learn that another tenant's ids exist.

Errors map to gRPC status codes in one place, :mod:`rpc_status`: no stack trace ever
reaches a client.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from faultline.v1 import query_pb2
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.postgres.pool import Pool
from faultline_query import convert, issues, logs, merge, search, sql
from faultline_query.lifecycle_rpcs import LifecycleRpcs
from faultline_query.rpc_status import (
    Context,
    InvalidArgument,
    NotFound,
    grpc_errors,
    positive,
)
from faultline_query.volume import INTERVAL_STEP, fill_buckets, volume_window

Clock = Callable[[], datetime]

DEFAULT_TOP_N = 10
MAX_TOP_N = 100
MAX_TAG_KEYS = 50
MAX_TAG_KEY_LENGTH = 200
_EVENT_ID = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(?:-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


def _utc_now() -> datetime:
    return datetime.now(UTC)


def _event_id_hex(value: str) -> str:
    if not _EVENT_ID.fullmatch(value):
        raise InvalidArgument("event_id must be 32 hex characters or a dashed UUID")
    return value.replace("-", "").lower()


def _in_range(value: int, default: int, maximum: int, name: str) -> int:
    if value == 0:
        return default
    if not 1 <= value <= maximum:
        raise InvalidArgument(f"{name} must be between 1 and {maximum}")
    return value


def _tag_keys(requested: Sequence[str]) -> list[str]:
    if not requested:
        return list(sql.DEFAULT_TAG_KEYS)
    keys = list(dict.fromkeys(requested))
    if len(keys) > MAX_TAG_KEYS:
        raise InvalidArgument(f"at most {MAX_TAG_KEYS} tag keys may be requested")
    if any(not 1 <= len(key) <= MAX_TAG_KEY_LENGTH for key in keys):
        raise InvalidArgument(f"tag keys must be 1 to {MAX_TAG_KEY_LENGTH} characters")
    return keys


def _volume_shape(request: query_pb2.EventVolumeRequest) -> tuple[timedelta, sql.Interval]:
    """The range and bucket width asked for, with the proto's defaults applied."""
    span = convert.RANGE_FROM_PROTO.get(request.range)
    if span is None:
        raise InvalidArgument("unknown range")
    if request.interval == query_pb2.VOLUME_INTERVAL_UNSPECIFIED:
        return span, convert.default_interval(span)
    interval = convert.INTERVAL_FROM_PROTO.get(request.interval)
    if interval is None:
        raise InvalidArgument("unknown interval")
    if span // INTERVAL_STEP[interval] < 2:
        raise InvalidArgument("daily buckets need the 14d range")
    return span, interval


class ListOptions(NamedTuple):
    sort: issues.IssueSortKey
    status: str | None
    limit: int
    cursor: issues.Cursor | None


def _list_options(request: query_pb2.ListIssuesRequest) -> ListOptions:
    sort = convert.SORT_FROM_PROTO.get(request.sort)
    if sort is None:
        raise InvalidArgument("unknown sort")
    status: str | None = None
    if request.status != query_pb2.ISSUE_STATUS_UNSPECIFIED:
        status = convert.STATUS_FROM_PROTO.get(request.status)
        if status is None:
            raise InvalidArgument("unknown status")
    # A forged cursor, or one of another sort, raises InvalidCursor: INVALID_ARGUMENT.
    cursor = issues.Cursor.decode(request.cursor) if request.cursor else None
    limit = _in_range(request.limit, issues.DEFAULT_LIMIT, issues.MAX_LIMIT, "limit")
    return ListOptions(sort, status, limit, cursor)


class QueryServicer(LifecycleRpcs):
    """Answers the query RPCs from PostgreSQL (issues) and ClickHouse (raw events); the
    lifecycle writes come from :class:`LifecycleRpcs`."""

    def __init__(
        self, clickhouse: ClickHouse, pool: Pool, clock: Clock = _utc_now
    ) -> None:
        self._clickhouse = clickhouse
        self._pool = pool
        self._clock = clock

    async def _user_counts(self, project_id: int, issue_ids: Sequence[int]) -> dict[int, int]:
        if not issue_ids:
            return {}
        rows = await self._clickhouse.query(*sql.user_counts(project_id, issue_ids))
        return {int(row["group_id"]): int(row["users"]) for row in rows}

    async def _issue(self, project_id: int, issue_id: int) -> issues.Issue:
        issue = await issues.get_issue(self._pool, project_id, issue_id)
        if issue is None:
            raise NotFound(f"issue {issue_id} not found")
        return issue

    @grpc_errors
    async def ListIssues(
        self, request: query_pb2.ListIssuesRequest, context: Context
    ) -> query_pb2.ListIssuesResponse:
        project_id = positive(request.project_id, "project_id")
        options = _list_options(request)
        page_request = search.PageRequest(
            project_id, options.sort, options.status, options.limit, options.cursor,
            self._clock(),
        )
        try:  # the status and the search (Sentry's syntax) must both match
            page = await search.search_issues_text(
                self._pool, self._clickhouse, request.query, page_request)
        except search.INVALID_SEARCH as exc:
            raise InvalidArgument(str(exc)) from exc
        users = await self._user_counts(project_id, [issue.id for issue in page.issues])
        return query_pb2.ListIssuesResponse(
            issues=[convert.issue_message(issue, users.get(issue.id, 0)) for issue in page.issues],
            next_cursor=page.next_cursor.encode() if page.next_cursor else "",
        )

    @grpc_errors
    async def GetIssue(
        self, request: query_pb2.GetIssueRequest, context: Context
    ) -> query_pb2.Issue:
        project_id = positive(request.project_id, "project_id")
        issue = await self._issue(project_id, positive(request.issue_id, "issue_id"))
        users = await self._user_counts(project_id, [issue.id])
        return convert.issue_message(issue, users.get(issue.id, 0))

    @grpc_errors
    async def GetEvent(
        self, request: query_pb2.GetEventRequest, context: Context
    ) -> query_pb2.Event:
        project_id = positive(request.project_id, "project_id")
        event_id = _event_id_hex(request.event_id)
        rows = await self._clickhouse.query(*sql.event_by_id(project_id, event_id))
        if not rows:
            raise NotFound(f"event {event_id} not found")
        message = convert.event_message(rows[0])
        # The event belongs to the issue its primary hash maps to now (merges and
        # unmerges move hashes; ClickHouse keeps the issue it was first counted on).
        moved = await merge.issue_of_hash(self._pool, project_id, rows[0]["primary_hash"])
        message.issue_id = moved or message.issue_id
        return message

    @grpc_errors
    async def LatestEvent(
        self, request: query_pb2.LatestEventRequest, context: Context
    ) -> query_pb2.Event:
        project_id = positive(request.project_id, "project_id")
        issue = await self._issue(project_id, positive(request.issue_id, "issue_id"))
        scope = sql.IssueEvents(issue.id, issue.hashes)
        rows = await self._clickhouse.query(*sql.latest_event(project_id, scope))
        if not rows:
            raise NotFound(f"issue {issue.id} has no stored events")
        message = convert.event_message(rows[0])
        message.issue_id = issue.id  # the issue it belongs to now, not the stored group_id
        return message

    async def _issue_scope(self, project_id: int, issue_id: int) -> sql.IssueEvents | None:
        """None for the whole project (issue id 0), else the issue's events (by its
        grouping hashes) once it is known to belong to the project."""
        if issue_id < 0:
            raise InvalidArgument("issue_id must not be negative")
        if issue_id == 0:
            return None
        issue = await self._issue(project_id, issue_id)
        return sql.IssueEvents(issue.id, issue.hashes)

    @grpc_errors
    async def EventVolume(
        self, request: query_pb2.EventVolumeRequest, context: Context
    ) -> query_pb2.EventVolumeResponse:
        project_id = positive(request.project_id, "project_id")
        span, interval = _volume_shape(request)
        group_id = await self._issue_scope(project_id, request.issue_id)
        window = volume_window(self._clock(), span, interval)
        rows = await self._clickhouse.query(
            *sql.event_volume(project_id, group_id, window.start, window.end, interval)
        )
        buckets = fill_buckets(window, ((row["bucket"], int(row["events"])) for row in rows))
        return query_pb2.EventVolumeResponse(
            buckets=[
                query_pb2.VolumeBucket(start=convert.timestamp(start), count=count)
                for start, count in buckets
            ]
        )

    @grpc_errors
    async def TagBreakdown(
        self, request: query_pb2.TagBreakdownRequest, context: Context
    ) -> query_pb2.TagBreakdownResponse:
        project_id = positive(request.project_id, "project_id")
        keys = _tag_keys(request.keys)
        top_n = _in_range(request.top_n, DEFAULT_TOP_N, MAX_TOP_N, "top_n")
        group_id = await self._issue_scope(project_id, request.issue_id)
        totals, top_values = await asyncio.gather(
            self._clickhouse.query(*sql.tag_totals(project_id, group_id, keys)),
            self._clickhouse.query(*sql.tag_top_values(project_id, group_id, keys, top_n)),
        )
        return convert.tag_breakdown_message(keys, totals, top_values)

    @grpc_errors
    async def SearchLogs(
        self, request: query_pb2.SearchLogsRequest, context: Context
    ) -> query_pb2.SearchLogsResponse:
        positive(request.project_id, "project_id")
        try:
            search = logs.log_search(request, self._clock())
        except logs.InvalidSearch as exc:
            raise InvalidArgument(str(exc)) from exc
        rows = await self._clickhouse.query(*logs.search_logs_sql(search))
        return logs.search_logs_response(search, rows)
