"""ListIssues and GetIssue through a real gRPC server on real PostgreSQL and chDB."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import grpc
import pytest

from faultline.v1 import query_pb2
from faultline_core.event import UserInfo
from tests.unit.query.conftest import NOW, QueryService, insert_issue, make_event, store_events

SORT_COLUMN = {
    query_pb2.ISSUE_SORT_LAST_SEEN: "last_seen",
    query_pb2.ISSUE_SORT_FIRST_SEEN: "first_seen",
    query_pb2.ISSUE_SORT_COUNT: "count",
}


async def _seed_issues(service: QueryService) -> None:
    """Eight visible issues in project A with ties in every sort column, one hidden one
    (times_seen 0) and one in project B."""
    project = service.tenants.project_a
    specs = [  # (first_seen hours ago, last_seen hours ago, times_seen, status)
        (50, 1, 5, "unresolved"), (40, 1, 9, "resolved"), (50, 3, 5, "ignored"),
        (30, 2, 1, "unresolved"), (20, 5, 9, "unresolved"), (40, 2, 2, "resolved"),
        (10, 0, 5, "unresolved"), (60, 4, 7, "unresolved"),
    ]
    for first, last, times_seen, status in specs:
        await insert_issue(
            service.pool, project, first_seen=NOW - timedelta(hours=first),
            last_seen=NOW - timedelta(hours=last), times_seen=times_seen, status=status,
        )
    await insert_issue(service.pool, project, times_seen=0, title="being created")
    await insert_issue(service.pool, service.tenants.project_b, times_seen=100)


async def _walk(
    service: QueryService, sort: query_pb2.IssueSort, limit: int,
    status: query_pb2.IssueStatus = query_pb2.ISSUE_STATUS_UNSPECIFIED,
) -> tuple[list[query_pb2.Issue], int]:
    """Every issue reachable by following cursors, and how many pages that took."""
    collected: list[query_pb2.Issue] = []
    cursor, pages = "", 0
    while True:
        response = await service.stub.ListIssues(query_pb2.ListIssuesRequest(
            project_id=service.tenants.project_a, sort=sort, limit=limit, cursor=cursor,
            status=status,
        ))
        pages += 1
        assert len(response.issues) <= limit
        collected.extend(response.issues)
        cursor = response.next_cursor
        if not cursor:
            return collected, pages


def _sort_value(issue: query_pb2.Issue, column: str) -> int:
    if column == "count":
        return issue.count
    return getattr(issue, column).ToMicroseconds()  # type: ignore[no-any-return]


@pytest.mark.parametrize("sort", sorted(SORT_COLUMN))
async def test_pages_cover_every_issue_once_in_sort_order(
    service: QueryService, sort: query_pb2.IssueSort
) -> None:
    await _seed_issues(service)
    everything, _ = await _walk(service, sort, limit=100)
    paged, pages = await _walk(service, sort, limit=3)
    assert pages == 3
    assert [issue.id for issue in paged] == [issue.id for issue in everything]
    assert len(everything) == 8
    column = SORT_COLUMN[sort]
    keys = [(_sort_value(issue, column), issue.id) for issue in everything]
    assert keys == sorted(keys, reverse=True)
    assert len({value for value, _ in keys}) < len(keys), "the data must contain ties"


async def test_default_sort_is_last_seen_and_default_limit_25(service: QueryService) -> None:
    for hours in range(30):
        await insert_issue(
            service.pool, service.tenants.project_a, last_seen=NOW - timedelta(hours=hours)
        )
    response = await service.stub.ListIssues(
        query_pb2.ListIssuesRequest(project_id=service.tenants.project_a)
    )
    assert len(response.issues) == 25
    assert response.next_cursor
    seen = [issue.last_seen.ToDatetime() for issue in response.issues]
    assert seen == sorted(seen, reverse=True)


async def test_status_filter(service: QueryService) -> None:
    await _seed_issues(service)
    resolved, _ = await _walk(
        service, query_pb2.ISSUE_SORT_LAST_SEEN, 1, query_pb2.ISSUE_STATUS_RESOLVED
    )
    assert len(resolved) == 2
    assert {issue.status for issue in resolved} == {query_pb2.ISSUE_STATUS_RESOLVED}
    ignored, _ = await _walk(
        service, query_pb2.ISSUE_SORT_COUNT, 10, query_pb2.ISSUE_STATUS_IGNORED
    )
    assert [issue.count for issue in ignored] == [5]


async def test_issue_being_created_is_invisible(service: QueryService) -> None:
    project = service.tenants.project_a
    hidden = await insert_issue(service.pool, project, times_seen=0)
    listed = await service.stub.ListIssues(query_pb2.ListIssuesRequest(project_id=project))
    assert list(listed.issues) == []
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await service.stub.GetIssue(query_pb2.GetIssueRequest(project_id=project, issue_id=hidden))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_get_issue_fields_and_user_count(service: QueryService) -> None:
    project = service.tenants.project_a
    issue_id = await insert_issue(
        service.pool, project, times_seen=4, status="ignored", title="KeyError: 'x'",
        first_seen=NOW - timedelta(days=2), metadata={"type": "KeyError", "value": "'x'"},
    )
    when = NOW - timedelta(minutes=5)
    alice = make_event(project, when, user=UserInfo(id="alice"))
    events = [
        alice, make_event(project, when, user=UserInfo(email="bob@example.com")),
        make_event(project, when, user=UserInfo(id="alice")), make_event(project, when),
    ]
    await store_events(service.clickhouse, issue_id, events)
    await store_events(service.clickhouse, issue_id, [alice])  # redelivered
    issue = await service.stub.GetIssue(
        query_pb2.GetIssueRequest(project_id=project, issue_id=issue_id)
    )
    assert (issue.id, issue.project_id, issue.title) == (issue_id, project, "KeyError: 'x'")
    assert (issue.count, issue.user_count) == (4, 2)
    assert issue.status == query_pb2.ISSUE_STATUS_IGNORED
    assert (issue.culprit, issue.level, issue.platform) == ("app.views in index", "error", "python")
    assert issue.first_seen.ToDatetime(UTC) == NOW - timedelta(days=2)
    assert json.loads(issue.metadata_json) == {"type": "KeyError", "value": "'x'"}


async def test_list_carries_user_counts_per_issue(service: QueryService) -> None:
    project = service.tenants.project_a
    busy = await insert_issue(service.pool, project, last_seen=NOW)
    quiet = await insert_issue(service.pool, project, last_seen=NOW - timedelta(hours=1))
    users = [UserInfo(id=str(n)) for n in range(3)]
    await store_events(service.clickhouse, busy, [make_event(project, NOW, user=u) for u in users])
    response = await service.stub.ListIssues(query_pb2.ListIssuesRequest(project_id=project))
    assert [(issue.id, issue.user_count) for issue in response.issues] == [(busy, 3), (quiet, 0)]


async def test_other_projects_issues_are_invisible(service: QueryService) -> None:
    foreign = await insert_issue(service.pool, service.tenants.project_b, times_seen=3)
    own = await insert_issue(service.pool, service.tenants.project_a, times_seen=3)
    listed = await service.stub.ListIssues(
        query_pb2.ListIssuesRequest(project_id=service.tenants.project_a)
    )
    assert [issue.id for issue in listed.issues] == [own]
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await service.stub.GetIssue(
            query_pb2.GetIssueRequest(project_id=service.tenants.project_a, issue_id=foreign)
        )
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_cursor_of_another_sort_is_invalid(service: QueryService) -> None:
    await _seed_issues(service)
    project = service.tenants.project_a
    first = await service.stub.ListIssues(query_pb2.ListIssuesRequest(
        project_id=project, sort=query_pb2.ISSUE_SORT_COUNT, limit=2
    ))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await service.stub.ListIssues(query_pb2.ListIssuesRequest(
            project_id=project, sort=query_pb2.ISSUE_SORT_FIRST_SEEN, cursor=first.next_cursor
        ))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "sort" in (error.value.details() or "")
