"""Conversions between stored rows and the protobuf messages of ``faultline.v1`` (pure)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from faultline.v1 import query_pb2
from faultline_query.issues import Issue, IssueSortKey, SeenIn
from faultline_query.sql import Interval

STATUS_TO_PROTO: dict[str, query_pb2.IssueStatus] = {
    "unresolved": query_pb2.ISSUE_STATUS_UNRESOLVED,
    "resolved": query_pb2.ISSUE_STATUS_RESOLVED,
    "ignored": query_pb2.ISSUE_STATUS_IGNORED,
}
STATUS_FROM_PROTO = {proto: name for name, proto in STATUS_TO_PROTO.items()}

SORT_FROM_PROTO: dict[query_pb2.IssueSort, IssueSortKey] = {
    query_pb2.ISSUE_SORT_UNSPECIFIED: IssueSortKey.LAST_SEEN,
    query_pb2.ISSUE_SORT_LAST_SEEN: IssueSortKey.LAST_SEEN,
    query_pb2.ISSUE_SORT_FIRST_SEEN: IssueSortKey.FIRST_SEEN,
    query_pb2.ISSUE_SORT_COUNT: IssueSortKey.TIMES_SEEN,
    query_pb2.ISSUE_SORT_USERS: IssueSortKey.USERS_SEEN,
}

RANGE_FROM_PROTO: dict[query_pb2.VolumeRange, timedelta] = {
    query_pb2.VOLUME_RANGE_UNSPECIFIED: timedelta(hours=24),
    query_pb2.VOLUME_RANGE_24H: timedelta(hours=24),
    query_pb2.VOLUME_RANGE_14D: timedelta(days=14),
}

INTERVAL_FROM_PROTO: dict[query_pb2.VolumeInterval, Interval] = {
    query_pb2.VOLUME_INTERVAL_HOUR: Interval.HOUR,
    query_pb2.VOLUME_INTERVAL_DAY: Interval.DAY,
}


def default_interval(span: timedelta) -> Interval:
    """Hourly buckets up to a day, daily beyond (the proto's UNSPECIFIED interval)."""
    return Interval.HOUR if span <= timedelta(hours=24) else Interval.DAY


def timestamp(moment: datetime, millisecond: int = 0) -> Timestamp:
    """A protobuf Timestamp for an aware datetime plus an optional millisecond part."""
    message = Timestamp()
    message.FromDatetime(moment.astimezone(UTC) + timedelta(milliseconds=millisecond))
    return message


def issue_message(issue: Issue, user_count: int) -> query_pb2.Issue:
    """The Issue message. ``user_count`` is ClickHouse's distinct-user count, used only
    for issues whose ledger knows no user (``users_seen`` 0: issues from before the
    ledger kept user keys); otherwise ``users_seen`` is exact and wins."""
    return query_pb2.Issue(
        substatus=issue.substatus or "",
        status_details_json=json.dumps(issue.status_details or {}, sort_keys=True),
        assignee_user_id=issue.assignee_id or 0,
        assignee_email=issue.assignee_email or "",
        users_seen=issue.users_seen,
        id=issue.id,
        project_id=issue.project_id,
        title=issue.title,
        culprit=issue.culprit,
        level=issue.level,
        status=STATUS_TO_PROTO.get(issue.status, query_pb2.ISSUE_STATUS_UNSPECIFIED),
        count=issue.times_seen,
        user_count=issue.users_seen or user_count,
        first_seen=timestamp(issue.first_seen),
        last_seen=timestamp(issue.last_seen),
        platform=issue.platform,
        type=issue.type,
        metadata_json=json.dumps(issue.metadata, separators=(",", ":"), sort_keys=True),
        environments=[seen_in_message(seen) for seen in issue.environments],
        releases=[seen_in_message(seen) for seen in issue.releases],
    )


def seen_in_message(seen: SeenIn) -> query_pb2.IssueSeenIn:
    """One environment's or release's counters of an issue."""
    return query_pb2.IssueSeenIn(
        name=seen.name,
        first_seen=timestamp(seen.first_seen),
        last_seen=timestamp(seen.last_seen),
        times_seen=seen.times_seen,
    )


def event_message(row: dict[str, Any]) -> query_pb2.Event:
    """An ``Event`` from a row of :func:`faultline_query.sql.event_by_id` or ``latest_event``."""
    return query_pb2.Event(
        event_id=row["event_id"],
        project_id=row["project_id"],
        issue_id=row["group_id"],
        timestamp=timestamp(row["timestamp"], row["timestamp_ms"]),
        data_json=row["data"],
    )


def tag_breakdown_message(
    keys: list[str], totals: list[dict[str, Any]], top_values: list[dict[str, Any]]
) -> query_pb2.TagBreakdownResponse:
    """Breakdowns in the order of ``keys``; keys no event carries are left out."""
    values_by_key: dict[str, list[query_pb2.TagValue]] = {}
    for row in top_values:
        values_by_key.setdefault(row["tag_key"], []).append(
            query_pb2.TagValue(
                value=row["tag_value"],
                count=row["times_seen"],
                first_seen=timestamp(row["first_seen"]),
                last_seen=timestamp(row["last_seen"]),
            )
        )
    totals_by_key = {row["tag_key"]: row for row in totals}
    response = query_pb2.TagBreakdownResponse()
    for key in keys:
        total = totals_by_key.get(key)
        if total is None:
            continue
        response.tags.append(
            query_pb2.TagKeyBreakdown(
                key=key,
                total=total["total"],
                unique_values=total["unique_values"],
                top_values=values_by_key.get(key, []),
            )
        )
    return response
