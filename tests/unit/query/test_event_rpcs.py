"""Event RPCs (volume, tags, single events) through a real gRPC server, on each
ClickHouse engine: chDB 26.x and a ClickHouse 18.16 server."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest

from faultline.v1 import query_pb2
from tests.unit.query.conftest import NOW, QueryService, insert_issue, make_event, store_events

CURRENT_HOUR = datetime(2025, 3, 12, 15, tzinfo=UTC)


def _buckets(response: query_pb2.EventVolumeResponse) -> list[tuple[datetime, int]]:
    return [(bucket.start.ToDatetime(UTC), bucket.count) for bucket in response.buckets]


async def _expect(code: grpc.StatusCode, call: Awaitable[Any]) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    assert error.value.code() == code


async def test_hourly_volume_has_24_buckets_with_zeros_and_counts_once(
    service_any: QueryService,
) -> None:
    project = service_any.tenants.project_a
    issue = await insert_issue(service_any.pool, project)
    other_issue = await insert_issue(service_any.pool, project)
    redelivered = make_event(project, NOW - timedelta(minutes=10))
    await store_events(service_any.clickhouse, issue, [
        redelivered,
        make_event(project, NOW - timedelta(minutes=40)),
        make_event(project, NOW - timedelta(hours=2)),
        make_event(project, NOW - timedelta(hours=23)),
        make_event(project, NOW - timedelta(hours=25)),  # before the window
    ])
    await store_events(service_any.clickhouse, issue, [redelivered])
    await store_events(service_any.clickhouse, other_issue, [make_event(project, NOW)])
    foreign_project = service_any.tenants.project_b
    await store_events(service_any.clickhouse, issue, [make_event(foreign_project, NOW)])

    by_issue = _buckets(await service_any.stub.EventVolume(
        query_pb2.EventVolumeRequest(project_id=project, issue_id=issue)
    ))
    expected_starts = [CURRENT_HOUR - timedelta(hours=h) for h in range(23, -1, -1)]
    assert [start for start, _ in by_issue] == expected_starts
    expected = dict.fromkeys(expected_starts, 0)
    expected[CURRENT_HOUR] = 2
    expected[CURRENT_HOUR - timedelta(hours=2)] = 1
    expected[CURRENT_HOUR - timedelta(hours=23)] = 1
    assert by_issue == list(expected.items())

    whole_project = _buckets(await service_any.stub.EventVolume(
        query_pb2.EventVolumeRequest(project_id=project, range=query_pb2.VOLUME_RANGE_24H)
    ))
    expected[CURRENT_HOUR] = 3
    assert whole_project == list(expected.items())


async def test_fourteen_days_daily_and_hourly(service_any: QueryService) -> None:
    project = service_any.tenants.project_a
    issue = await insert_issue(service_any.pool, project)
    await store_events(service_any.clickhouse, issue, [
        make_event(project, NOW - timedelta(days=13, hours=15)),  # first day, 00:42
        make_event(project, NOW - timedelta(days=3)),
        make_event(project, NOW - timedelta(days=3, minutes=1)),
        make_event(project, NOW - timedelta(days=14)),  # before the window
    ])
    daily = _buckets(await service_any.stub.EventVolume(query_pb2.EventVolumeRequest(
        project_id=project, issue_id=issue, range=query_pb2.VOLUME_RANGE_14D
    )))
    today = datetime(2025, 3, 12, tzinfo=UTC)
    assert [start for start, _ in daily] == [today - timedelta(days=d) for d in range(13, -1, -1)]
    assert [count for _, count in daily] == [1] + [0] * 9 + [2] + [0] * 3
    hourly = _buckets(await service_any.stub.EventVolume(query_pb2.EventVolumeRequest(
        project_id=project, issue_id=issue, range=query_pb2.VOLUME_RANGE_14D,
        interval=query_pb2.VOLUME_INTERVAL_HOUR,
    )))
    assert len(hourly) == 14 * 24
    assert sum(count for _, count in hourly) == 3
    assert hourly[-1][0] == CURRENT_HOUR


async def test_tag_breakdown_top_values(service_any: QueryService) -> None:
    project = service_any.tenants.project_a
    issue = await insert_issue(service_any.pool, project)
    first, last = NOW - timedelta(hours=5), NOW - timedelta(minutes=1)
    browsers = ["Chrome", "Firefox", "Chrome", "Safari", "Firefox", "Chrome", "Opera"]
    events = [
        make_event(project, first if n == 0 else last if n == 5 else NOW - timedelta(hours=2),
                   tags=[("browser", name)] + ([("os", "Linux")] if n % 2 else []))
        for n, name in enumerate(browsers)
    ]
    await store_events(service_any.clickhouse, issue, events)
    await store_events(service_any.clickhouse, issue, events[:1])  # redelivered
    other_issue = await insert_issue(service_any.pool, project)
    await store_events(service_any.clickhouse, other_issue,
                       [make_event(project, NOW, tags=[("browser", "Edge")])])

    response = await service_any.stub.TagBreakdown(
        query_pb2.TagBreakdownRequest(project_id=project, issue_id=issue, top_n=3)
    )
    assert [tag.key for tag in response.tags] == ["browser", "os"]
    browser, os_tag = response.tags
    assert (browser.total, browser.unique_values) == (7, 4)
    assert [(v.value, v.count) for v in browser.top_values] == [
        ("Chrome", 3), ("Firefox", 2), ("Opera", 1),
    ]
    chrome = browser.top_values[0]
    assert (chrome.first_seen.ToDatetime(UTC), chrome.last_seen.ToDatetime(UTC)) == (first, last)
    assert (os_tag.total, os_tag.unique_values) == (3, 1)
    assert [(v.value, v.count) for v in os_tag.top_values] == [("Linux", 3)]

    project_wide = await service_any.stub.TagBreakdown(
        query_pb2.TagBreakdownRequest(project_id=project, keys=["os", "browser", "absent"])
    )
    assert [tag.key for tag in project_wide.tags] == ["os", "browser"]
    assert project_wide.tags[1].total == 8
    assert len(project_wide.tags[1].top_values) == 5


async def test_get_event_by_id(service_any: QueryService) -> None:
    project = service_any.tenants.project_a
    issue = await insert_issue(service_any.pool, project)
    event = make_event(project, NOW - timedelta(hours=1, microseconds=-123_456),
                       tags=[("url", "http://x/")])
    await store_events(service_any.clickhouse, issue, [event, event])
    for spelling in (event.event_id, event.event_id.upper(),
                     f"{event.event_id[:8]}-{event.event_id[8:12]}-{event.event_id[12:16]}"
                     f"-{event.event_id[16:20]}-{event.event_id[20:]}"):
        found = await service_any.stub.GetEvent(
            query_pb2.GetEventRequest(project_id=project, event_id=spelling)
        )
        assert (found.event_id, found.project_id, found.issue_id) == (
            event.event_id, project, issue
        )
        assert found.timestamp.ToDatetime(UTC) == NOW - timedelta(hours=1) + timedelta(
            milliseconds=123
        )
        assert json.loads(found.data_json) == event.data
    await _expect(grpc.StatusCode.NOT_FOUND, service_any.stub.GetEvent(query_pb2.GetEventRequest(
        project_id=service_any.tenants.project_b, event_id=event.event_id
    )))
    await _expect(grpc.StatusCode.NOT_FOUND, service_any.stub.GetEvent(
        query_pb2.GetEventRequest(project_id=project, event_id="0" * 32)
    ))


async def test_latest_event_is_the_newest_with_a_stable_tie_break(
    service_any: QueryService,
) -> None:
    project = service_any.tenants.project_a
    issue = await insert_issue(service_any.pool, project)
    tied = NOW - timedelta(minutes=1) + timedelta(milliseconds=900)
    await store_events(service_any.clickhouse, issue, [
        make_event(project, NOW - timedelta(hours=3)),
        make_event(project, tied, event_id="b" * 32),
        make_event(project, tied, event_id="a" * 32),
        make_event(project, NOW - timedelta(minutes=1) + timedelta(milliseconds=100)),
    ])
    other_issue = await insert_issue(service_any.pool, project)
    await store_events(service_any.clickhouse, other_issue, [make_event(project, NOW)])
    latest = await service_any.stub.LatestEvent(
        query_pb2.LatestEventRequest(project_id=project, issue_id=issue)
    )
    assert (latest.event_id, latest.issue_id) == ("a" * 32, issue)
    assert latest.timestamp.ToDatetime(UTC) == tied.replace(microsecond=900_000)


async def test_issue_scoped_event_rpcs_refuse_other_projects_issues(
    service_any: QueryService,
) -> None:
    project_a, project_b = service_any.tenants.project_a, service_any.tenants.project_b
    foreign = await insert_issue(service_any.pool, project_b)
    await store_events(service_any.clickhouse, foreign,
                       [make_event(project_b, NOW, tags=[("browser", "Chrome")])])
    stub = service_any.stub
    await _expect(grpc.StatusCode.NOT_FOUND, stub.LatestEvent(
        query_pb2.LatestEventRequest(project_id=project_a, issue_id=foreign)))
    await _expect(grpc.StatusCode.NOT_FOUND, stub.EventVolume(
        query_pb2.EventVolumeRequest(project_id=project_a, issue_id=foreign)))
    await _expect(grpc.StatusCode.NOT_FOUND, stub.TagBreakdown(
        query_pb2.TagBreakdownRequest(project_id=project_a, issue_id=foreign)))
    own_volume = await stub.EventVolume(query_pb2.EventVolumeRequest(project_id=project_a))
    assert sum(bucket.count for bucket in own_volume.buckets) == 0
    own_tags = await stub.TagBreakdown(query_pb2.TagBreakdownRequest(project_id=project_a))
    assert list(own_tags.tags) == []
    # The owner sees its own data, so the refusals above are about scope, not absence.
    theirs = await stub.TagBreakdown(
        query_pb2.TagBreakdownRequest(project_id=project_b, issue_id=foreign))
    assert [tag.key for tag in theirs.tags] == ["browser"]


async def test_deleted_events_are_invisible(service_any: QueryService) -> None:
    project = service_any.tenants.project_a
    issue = await insert_issue(service_any.pool, project)
    kept = make_event(project, NOW - timedelta(hours=1), tags=[("browser", "Chrome")])
    gone = make_event(project, NOW, tags=[("browser", "Lynx")])
    await store_events(service_any.clickhouse, issue, [kept])
    await store_events(service_any.clickhouse, issue, [gone], deleted=True)
    stub = service_any.stub
    volume = await stub.EventVolume(query_pb2.EventVolumeRequest(project_id=project))
    assert [bucket.count for bucket in volume.buckets][-2:] == [1, 0]
    tags = await stub.TagBreakdown(query_pb2.TagBreakdownRequest(project_id=project))
    assert [value.value for value in tags.tags[0].top_values] == ["Chrome"]
    latest = await stub.LatestEvent(
        query_pb2.LatestEventRequest(project_id=project, issue_id=issue))
    assert latest.event_id == kept.event_id
    await _expect(grpc.StatusCode.NOT_FOUND, stub.GetEvent(
        query_pb2.GetEventRequest(project_id=project, event_id=gone.event_id)))


async def test_latest_event_of_an_issue_without_stored_events(service: QueryService) -> None:
    issue = await insert_issue(service.pool, service.tenants.project_a)
    await _expect(grpc.StatusCode.NOT_FOUND, service.stub.LatestEvent(
        query_pb2.LatestEventRequest(project_id=service.tenants.project_a, issue_id=issue)))
