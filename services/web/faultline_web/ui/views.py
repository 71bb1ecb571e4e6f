"""Display models of query-service replies for the templates (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from faultline.v1 import query_pb2
from faultline_core.storage.postgres.tenancy import Project
from faultline_web import serializers

SORT_LABELS = {"date": "Last seen", "new": "First seen", "freq": "Events", "user": "Users"}
CHART_HEIGHT = 60
BAR_WIDTH = 10


@dataclass(frozen=True)
class IssueRow:
    id: int
    url: str
    title: str
    culprit: str
    level: str
    status: str
    count: int
    users: int
    first_seen: datetime
    last_seen: datetime


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    height: int
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    bars: list[Bar]
    total: int
    peak: int


@dataclass(frozen=True)
class TagValueRow:
    value: str
    count: int
    percent: int


@dataclass(frozen=True)
class TagRow:
    key: str
    label: str
    total: int
    unique: int
    values: list[TagValueRow]


@dataclass(frozen=True)
class SeenInRow:
    """One environment or release the issue was seen in."""

    name: str
    first_seen: datetime
    last_seen: datetime
    count: int


def seen_in_rows(seen: Iterable[query_pb2.IssueSeenIn]) -> list[SeenInRow]:
    return [SeenInRow(item.name, serializers.to_datetime(item.first_seen),
                      serializers.to_datetime(item.last_seen), int(item.times_seen))
            for item in seen]


def issue_row(issue: query_pb2.Issue, url: str) -> IssueRow:
    return IssueRow(
        id=issue.id,
        url=url,
        title=issue.title or "<untitled>",
        culprit=issue.culprit,
        level=issue.level or "error",
        status=serializers.status_name(issue.status),
        count=int(issue.count),
        users=int(issue.user_count),
        first_seen=serializers.to_datetime(issue.first_seen),
        last_seen=serializers.to_datetime(issue.last_seen),
    )


def issue_short_id(project: Project, issue_id: int) -> str:
    return serializers.short_id(project.slug, issue_id)


def volume_chart(volume: query_pb2.EventVolumeResponse) -> Chart:
    """An SVG bar chart's geometry: one bar per bucket, scaled to the busiest bucket."""
    counts = [int(bucket.count) for bucket in volume.buckets]
    peak = max(counts, default=0)
    bars = []
    for index, bucket in enumerate(volume.buckets):
        height = round(CHART_HEIGHT * int(bucket.count) / peak) if peak else 0
        if bucket.count and not height:
            height = 1  # a non-empty bucket stays visible
        start = serializers.to_datetime(bucket.start).strftime("%Y-%m-%d %H:%M UTC")
        bars.append(Bar(index * BAR_WIDTH + 1, CHART_HEIGHT - height, height,
                        f"{start}: {bucket.count} event{'' if bucket.count == 1 else 's'}"))
    return Chart(len(counts) * BAR_WIDTH, CHART_HEIGHT, bars, sum(counts), peak)


def tag_rows(breakdown: query_pb2.TagBreakdownResponse) -> list[TagRow]:
    rows = []
    for tag in breakdown.tags:
        total = int(tag.total)
        values = [
            TagValueRow(value.value, int(value.count),
                        round(100 * int(value.count) / total) if total else 0)
            for value in tag.top_values
        ]
        rows.append(TagRow(tag.key, serializers.tag_label(tag.key), total,
                           int(tag.unique_values), values))
    return rows


def event_time(event: query_pb2.Event) -> datetime:
    return serializers.to_datetime(event.timestamp)
