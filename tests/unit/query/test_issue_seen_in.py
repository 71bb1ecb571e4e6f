"""GetIssue's per-environment and per-release first/last seen, from the processor's
counter tables on real PostgreSQL, with each ClickHouse engine behind the server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from faultline.v1 import query_pb2
from faultline_core.storage.postgres.recount import recount_issues
from faultline_query.issues import SEEN_IN_LIMIT
from tests.unit.query.conftest import NOW, QueryService
from tests.unit.query.lifecycle_seed import seed_issue

H = timedelta(hours=1)


def _rows(seen: list[query_pb2.IssueSeenIn]) -> list[tuple[str, datetime, datetime, int]]:
    return [(item.name, item.first_seen.ToDatetime(UTC), item.last_seen.ToDatetime(UTC),
             item.times_seen) for item in seen]


async def _seeded_issue(service: QueryService, project_id: int) -> int:
    """Five events over two environments and two releases, counted from the ledger the
    way the processor counts them."""
    seeded = await seed_issue(service.pool, service.clickhouse, project_id, "seen-in", [
        (NOW - 9 * H, "a", "staging", "shop@1.0"),
        (NOW - 7 * H, "b", "production", "shop@1.0"),
        (NOW - 5 * H, "a", "staging", "shop@2.0"),
        (NOW - 3 * H, "c", "production", "shop@2.0"),
        (NOW - 8 * H, "c", "production", "shop@2.0"),
    ])
    async with service.pool.connection() as conn:
        await recount_issues(conn, project_id, [seeded.issue_id])
    return seeded.issue_id


async def test_get_issue_lists_environments_and_releases(service_any: QueryService) -> None:
    project = service_any.tenants.project_a
    issue_id = await _seeded_issue(service_any, project)
    issue = await service_any.stub.GetIssue(
        query_pb2.GetIssueRequest(project_id=project, issue_id=issue_id))
    assert _rows(list(issue.environments)) == [  # last seen first
        ("production", NOW - 8 * H, NOW - 3 * H, 3),
        ("staging", NOW - 9 * H, NOW - 5 * H, 2),
    ]
    assert _rows(list(issue.releases)) == [  # first seen first
        ("shop@1.0", NOW - 9 * H, NOW - 7 * H, 2),
        ("shop@2.0", NOW - 8 * H, NOW - 3 * H, 3),
    ]


async def test_list_issues_leaves_them_out(service: QueryService) -> None:
    project = service.tenants.project_a
    await _seeded_issue(service, project)
    page = await service.stub.ListIssues(query_pb2.ListIssuesRequest(project_id=project))
    assert len(page.issues) == 1
    assert (list(page.issues[0].environments), list(page.issues[0].releases)) == ([], [])


async def test_releases_are_capped_keeping_the_first_and_the_newest(
    service: QueryService,
) -> None:
    project = service.tenants.project_a
    issue_id = await _seeded_issue(service, project)
    async with service.pool.connection() as conn:
        for n in range(SEEN_IN_LIMIT + 5):  # extra@000 is the newest of them
            await conn.execute(
                "INSERT INTO issue_releases (issue_id, release, first_seen, last_seen,"
                " times_seen) VALUES (%s, %s, %s, %s, 1)",
                (issue_id, f"extra@{n:03d}", NOW - (n + 20) * H, NOW - (n + 20) * H),
            )
    issue = await service.stub.GetIssue(
        query_pb2.GetIssueRequest(project_id=project, issue_id=issue_id))
    names = [item.name for item in issue.releases]
    assert len(names) == SEEN_IN_LIMIT
    assert names[0] == f"extra@{SEEN_IN_LIMIT + 4:03d}"  # the issue's first release
    assert names[-2:] == ["shop@1.0", "shop@2.0"]  # the newest ones
    # the two shop releases and extra@000..096 are the newest 99
    assert f"extra@{SEEN_IN_LIMIT - 4:03d}" in names
    assert f"extra@{SEEN_IN_LIMIT - 3:03d}" not in names
    assert len(issue.environments) == 2
