"""Lifecycle RPCs (status, assignment, merge, unmerge, hashes, activity) through a real
gRPC server on real PostgreSQL, with the event reads on each ClickHouse engine."""

from __future__ import annotations

import json
from collections.abc import Awaitable
from datetime import timedelta
from typing import Any

import grpc
import pytest

from faultline.v1 import query_pb2
from faultline_core.storage.postgres import tenancy
from tests.unit.query.conftest import NOW, QueryService
from tests.unit.query.lifecycle_seed import counters, fetch, hash_of, seed_issue

H = timedelta(hours=1)


async def _expect(code: grpc.StatusCode, call: Awaitable[Any]) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call
    assert error.value.code() == code
    return str(error.value.details())


async def _two_issues(service: QueryService) -> tuple[int, int, list[Any]]:
    project = service.tenants.project_a
    big = await seed_issue(service.pool, service.clickhouse, project, "big", [
        (NOW - 5 * H, "u1", "production", "1.0"), (NOW - 3 * H, "u2", "production", "1.0"),
    ])
    small = await seed_issue(service.pool, service.clickhouse, project, "small", [
        (NOW - H, "u1", "staging", "2.0"),
    ])
    return big.issue_id, small.issue_id, big.events + small.events


async def test_merge_then_unmerge_moves_events_and_keeps_counters_exact(
    service_any: QueryService,
) -> None:
    stub, project = service_any.stub, service_any.tenants.project_a
    big, small, events = await _two_issues(service_any)
    merged = await stub.MergeIssues(query_pb2.MergeIssuesRequest(
        project_id=project, issue_ids=[small, big]))
    assert (merged.parent_id, list(merged.child_ids)) == (big, [small])
    state = await counters(service_any.pool, big)
    assert state["stored"] == state["expected"]
    assert state["stored"][:2] == (3, 2)
    # The merged id serves the target; the events follow the hashes.
    assert (await stub.GetIssue(query_pb2.GetIssueRequest(
        project_id=project, issue_id=small))).id == big
    issue = await stub.GetIssue(query_pb2.GetIssueRequest(project_id=project, issue_id=big))
    assert (issue.count, issue.user_count, issue.users_seen) == (3, 2, 2)
    latest = await stub.LatestEvent(query_pb2.LatestEventRequest(project_id=project,
                                                                 issue_id=big))
    assert (latest.event_id, latest.issue_id) == (events[2].event_id, big)
    moved = await stub.GetEvent(query_pb2.GetEventRequest(project_id=project,
                                                          event_id=events[2].event_id))
    assert moved.issue_id == big
    volume = await stub.EventVolume(query_pb2.EventVolumeRequest(project_id=project,
                                                                 issue_id=big))
    assert sum(b.count for b in volume.buckets) == 3
    hashes = await stub.ListHashes(query_pb2.ListHashesRequest(project_id=project,
                                                               issue_id=big))
    assert [(h.hash, h.event_count) for h in hashes.hashes] == sorted(
        [(hash_of("big"), 2), (hash_of("small"), 1)])
    split = await stub.UnmergeHashes(query_pb2.UnmergeHashesRequest(
        project_id=project, issue_id=big, hashes=[hash_of("small")]))
    assert split.source_id == big
    for issue_id, count in ((big, 2), (split.destination_id, 1)):
        state = await counters(service_any.pool, issue_id)
        assert state["stored"] == state["expected"]
        assert state["stored"][0] == count
        volume = await stub.EventVolume(query_pb2.EventVolumeRequest(
            project_id=project, issue_id=issue_id))
        assert sum(b.count for b in volume.buckets) == count
    latest = await stub.LatestEvent(query_pb2.LatestEventRequest(
        project_id=project, issue_id=split.destination_id))
    assert latest.event_id == events[2].event_id
    moved = await stub.GetEvent(query_pb2.GetEventRequest(project_id=project,
                                                          event_id=events[2].event_id))
    assert moved.issue_id == split.destination_id
    tags = await stub.TagBreakdown(query_pb2.TagBreakdownRequest(
        project_id=project, issue_id=split.destination_id, keys=["environment"]))
    assert [(t.key, t.total) for t in tags.tags] == [("environment", 1)]
    kinds = {(a.issue_id, a.type) for issue_id in (big, split.destination_id)
             for a in (await stub.ListActivity(query_pb2.ListActivityRequest(
                 project_id=project, issue_id=issue_id))).activities}
    assert kinds == {(big, "merge"), (big, "unmerge_source"),
                     (split.destination_id, "unmerge_destination")}


async def test_unmerge_rejects_foreign_and_all_hashes(service: QueryService) -> None:
    stub, project = service.stub, service.tenants.project_a
    big, small, _ = await _two_issues(service)
    request = query_pb2.UnmergeHashesRequest(project_id=project, issue_id=big,
                                             hashes=[hash_of("small")])
    await _expect(grpc.StatusCode.NOT_FOUND, stub.UnmergeHashes(request))
    request.hashes[:] = [hash_of("big")]
    await _expect(grpc.StatusCode.INVALID_ARGUMENT, stub.UnmergeHashes(request))
    one = query_pb2.MergeIssuesRequest(project_id=project, issue_ids=[big, big])
    await _expect(grpc.StatusCode.INVALID_ARGUMENT, stub.MergeIssues(one))


async def _status(
    service: QueryService, issue: int, status: query_pb2.IssueStatus, **details: Any
) -> query_pb2.UpdateIssuesResponse:
    reply: query_pb2.UpdateIssuesResponse = await service.stub.UpdateIssues(
        query_pb2.UpdateIssuesRequest(
            project_id=service.tenants.project_a, issue_ids=[issue], status=status,
            status_details=query_pb2.StatusDetails(**details)))
    return reply


async def test_status_changes_are_sentry_shaped_and_idempotent(service: QueryService) -> None:
    big, small, _ = await _two_issues(service)
    resolved = query_pb2.ISSUE_STATUS_RESOLVED
    await _expect(grpc.StatusCode.INVALID_ARGUMENT,
                  _status(service, big, resolved, in_next_release=True))
    async with service.pool.connection() as conn:
        await conn.execute("INSERT INTO project_releases (project_id, release) VALUES"
                           " (%s, '1.0')", (service.tenants.project_a,))
    reply = await _status(service, big, resolved, in_next_release=True)
    assert json.loads(reply.status_details_json) == {"inNextRelease": True}
    await _status(service, big, resolved, in_next_release=True)  # repeated: no change
    row = (await fetch(service.pool, "SELECT resolved_in_release, resolved_in_next_release"
                                     " FROM issues WHERE id = %s", big))[0]
    assert (row["resolved_in_release"], row["resolved_in_next_release"]) == ("1.0", True)
    reply = await _status(service, big, query_pb2.ISSUE_STATUS_IGNORED, ignore_count=100)
    assert json.loads(reply.status_details_json) == {"ignoreCount": 100}
    row = (await fetch(service.pool, "SELECT ignore_until_times_seen FROM issues"
                                     " WHERE id = %s", big))[0]
    assert row["ignore_until_times_seen"] == 102
    await _expect(grpc.StatusCode.INVALID_ARGUMENT,
                  _status(service, big, query_pb2.ISSUE_STATUS_IGNORED, in_release="1.0"))
    await _status(service, big, query_pb2.ISSUE_STATUS_UNRESOLVED)
    activities = await service.stub.ListActivity(query_pb2.ListActivityRequest(
        project_id=service.tenants.project_a, issue_id=big))
    assert [a.type for a in activities.activities] == [
        "set_unresolved", "set_ignored", "set_resolved_in_release"]


async def test_assignment_comments_and_tenancy(service: QueryService) -> None:
    stub, tenants = service.stub, service.tenants
    big, _, _ = await _two_issues(service)
    async with service.pool.connection() as conn:
        org = (await fetch(service.pool, "SELECT organization_id FROM projects WHERE id = %s",
                           tenants.project_a))[0]["organization_id"]
        other = (await fetch(service.pool, "SELECT organization_id FROM projects"
                                           " WHERE id = %s", tenants.project_b))[0]
        alice = await tenancy.create_user(conn, "alice@acme.test", "pw-alice", org)
        mallory = await tenancy.create_user(conn, "m@globex.test", "pw-m",
                                            other["organization_id"])
    assign = query_pb2.UpdateIssuesRequest(project_id=tenants.project_a, issue_ids=[big],
                                           set_assignee=True, assignee_user_id=mallory)
    await _expect(grpc.StatusCode.INVALID_ARGUMENT, stub.UpdateIssues(assign))
    assign.assignee_user_id, assign.acting_user_id = alice, alice
    reply = await stub.UpdateIssues(assign)
    assert (reply.assignee_user_id, reply.assignee_email) == (alice, "alice@acme.test")
    note = await stub.AddComment(query_pb2.AddCommentRequest(
        project_id=tenants.project_a, issue_id=big, text="looking", acting_user_id=alice))
    assert (note.type, json.loads(note.data_json), note.user_email) == (
        "note", {"text": "looking"}, "alice@acme.test")
    await _expect(grpc.StatusCode.INVALID_ARGUMENT, stub.AddComment(query_pb2.AddCommentRequest(
        project_id=tenants.project_a, issue_id=big, text="  ")))
    # Another project's view of the issue: NOT_FOUND everywhere, nothing changes.
    foreign = tenants.project_b
    await _expect(grpc.StatusCode.NOT_FOUND, stub.UpdateIssues(query_pb2.UpdateIssuesRequest(
        project_id=foreign, issue_ids=[big], status=query_pb2.ISSUE_STATUS_RESOLVED)))
    await _expect(grpc.StatusCode.NOT_FOUND, stub.AddComment(query_pb2.AddCommentRequest(
        project_id=foreign, issue_id=big, text="hi")))
    await _expect(grpc.StatusCode.NOT_FOUND, stub.ListHashes(query_pb2.ListHashesRequest(
        project_id=foreign, issue_id=big)))
    await _expect(grpc.StatusCode.NOT_FOUND, stub.MergeIssues(query_pb2.MergeIssuesRequest(
        project_id=foreign, issue_ids=[big, big + 1])))
    issue = await stub.GetIssue(query_pb2.GetIssueRequest(project_id=tenants.project_a,
                                                          issue_id=big))
    assert (issue.status, issue.assignee_email) == (
        query_pb2.ISSUE_STATUS_UNRESOLVED, "alice@acme.test")
