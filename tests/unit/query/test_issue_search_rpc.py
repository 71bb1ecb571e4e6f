"""ListIssues with a search query on real PostgreSQL and each ClickHouse engine."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import datetime, timedelta
from typing import Any

import grpc
import pytest

from faultline.v1 import query_pb2
from faultline_core.event import UserInfo
from faultline_core.storage.postgres.pool import Pool
from tests.unit.query.conftest import NOW, QueryService, insert_issue, make_event, store_events


@dataclasses.dataclass(frozen=True)
class Seeded:
    login: int      # error, production, release 1.0, Firefox, bob, resolved
    checkout: int   # warning, staging, release 2.0 (latest), Chrome, alice
    report: int     # error, production + staging, old, many events, message "disk full"
    other: int      # project B: same tags and users, never listed for project A


async def _execute(pool: Pool, sql: str, *params: object) -> None:
    async with pool.connection() as conn:
        await conn.execute(sql, params)


async def _issue(
    service: QueryService, project: int, title: str, *, level: str = "error",
    environments: tuple[str, ...] = ("production",), release: str = "",
    times_seen: int = 1, users_seen: int = 0, first_seen: datetime = NOW,
    status: str = "unresolved",
) -> int:
    issue_id = await insert_issue(service.pool, project, title=title, times_seen=times_seen,
                                  first_seen=first_seen, status=status)
    await _execute(service.pool, "UPDATE issues SET level = %s, users_seen = %s WHERE id = %s",
                   level, users_seen, issue_id)
    # The hash store_events gives the issue's events, mapped as the processor maps it.
    await _execute(service.pool,
                   "INSERT INTO grouphashes (project_id, hash, issue_id) VALUES (%s, %s, %s)",
                   project, hashlib.md5(str(issue_id).encode()).hexdigest(), issue_id)
    for environment in environments:
        await _execute(service.pool, "INSERT INTO issue_environments VALUES (%s, %s, %s, %s, 1)",
                       issue_id, environment, first_seen, NOW)
    if release:
        await _execute(service.pool, "INSERT INTO issue_releases VALUES (%s, %s, %s, %s, 1)",
                       issue_id, release, first_seen, NOW)
    return issue_id


async def _seed(service: QueryService) -> Seeded:
    a, b = service.tenants.project_a, service.tenants.project_b
    for release, age in (("1.0", 10), ("2.0", 1)):
        await _execute(service.pool, "INSERT INTO project_releases VALUES (%s, %s, %s)",
                       a, release, NOW - timedelta(days=age))
    login = await _issue(service, a, "LoginError: bad password", release="1.0", users_seen=1,
                         status="resolved")
    checkout = await _issue(service, a, "CheckoutError: card declined", level="warning",
                            environments=("staging",), release="2.0", users_seen=3)
    report = await _issue(service, a, "OSError: cannot write", environments=(
        "production", "staging"), times_seen=40, users_seen=3,
        first_seen=NOW - timedelta(days=30))
    other = await _issue(service, b, "LoginError: bad password", release="1.0", users_seen=9)
    when = NOW - timedelta(minutes=5)
    bob = UserInfo(email="bob@example.com")
    await store_events(service.clickhouse, login, [
        make_event(a, when, tags=[("browser", "Firefox"), ("os", "Linux")], user=bob)])
    await store_events(service.clickhouse, checkout, [
        make_event(a, when, tags=[("browser", "Chrome")], user=UserInfo(email="alice@x.io")),
        make_event(a, when, tags=[("browser", "Firefox")], user=UserInfo(email="carol@x.io"))])
    await store_events(service.clickhouse, report, [dataclasses.replace(
        make_event(a, when, tags=[("os", "Linux")]), message="Disk full on /var")])
    await store_events(service.clickhouse, other, [
        make_event(b, when, tags=[("browser", "Firefox")], user=bob)])
    return Seeded(login, checkout, report, other)


async def _ids(service: QueryService, query: str, **fields: Any) -> list[int]:
    response = await service.stub.ListIssues(query_pb2.ListIssuesRequest(
        project_id=service.tenants.project_a, query=query, **fields))
    return [issue.id for issue in response.issues]


async def test_each_term_selects_exactly_its_issues(service_any: QueryService) -> None:
    s = await _seed(service_any)
    expectations = {
        "": {s.login, s.checkout, s.report},
        "is:resolved": {s.login},
        "!is:resolved": {s.checkout, s.report},
        "is:unassigned": {s.login, s.checkout, s.report},
        "is:assigned": set(),
        "level:warning": {s.checkout},
        "!level:warning": {s.login, s.report},
        "environment:staging": {s.checkout, s.report},
        "!environment:staging": {s.login},
        "release:1.0": {s.login},
        "release:latest": {s.checkout},
        "times_seen:>10": {s.report},
        "times_seen:<=1": {s.login, s.checkout},
        "firstSeen:-24h": {s.login, s.checkout},
        "age:+7d": {s.report},
        f"firstSeen:<{(NOW - timedelta(days=2)).date().isoformat()}": {s.report},
        "lastSeen:-1h": {s.login, s.checkout, s.report},
        "browser:Firefox": {s.login, s.checkout},
        "tags[browser]:Chrome": {s.checkout},
        "!browser:Firefox": {s.report},
        "browser:[Chrome,Safari]": {s.checkout},
        "user.email:bob@example.com": {s.login},
        "browser:Firefox user.email:alice@x.io": set(),  # no single event has both
        "browser:Firefox user.email:carol@x.io": {s.checkout},
        "os:Linux level:error": {s.login, s.report},
        "login": {s.login},
        "index": {s.login, s.checkout, s.report},  # the culprit
        '"disk FULL"': {s.report},  # only in an event's message
        "!card": {s.login, s.report},
        "password browser:Firefox environment:production": {s.login},
    }
    for query, expected in expectations.items():
        assert set(await _ids(service_any, query)) == expected, query


async def test_status_and_query_combine(service: QueryService) -> None:
    s = await _seed(service)
    assert await _ids(service, "browser:Firefox",
                      status=query_pb2.ISSUE_STATUS_UNRESOLVED) == [s.checkout]


async def test_search_follows_merged_hashes(service: QueryService) -> None:
    """An event's hash that now belongs to another issue finds that issue."""
    s = await _seed(service)
    await _execute(service.pool, "UPDATE grouphashes SET issue_id = %s WHERE issue_id = %s",
                   s.report, s.login)
    assert set(await _ids(service, "user.email:bob@example.com")) == {s.report}


async def test_users_sort_pages_by_users_seen(service: QueryService) -> None:
    s = await _seed(service)
    seen: list[int] = []
    cursor = ""
    while True:
        response = await service.stub.ListIssues(query_pb2.ListIssuesRequest(
            project_id=service.tenants.project_a, sort=query_pb2.ISSUE_SORT_USERS, limit=1,
            cursor=cursor, query="level:[error,warning]"))
        seen.extend(issue.id for issue in response.issues)
        cursor = response.next_cursor
        if not cursor:
            break
    # users_seen 3, 3 (ties broken by id, descending), then 1.
    assert seen == [max(s.checkout, s.report), min(s.checkout, s.report), s.login]


@pytest.mark.parametrize("query", ["is:bogus", "times_seen:>x", '"open', "x" * 1001])
async def test_bad_query_is_invalid_argument(service: QueryService, query: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _ids(service, query)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.details()


async def test_cursor_of_another_sort_is_rejected(service: QueryService) -> None:
    await _seed(service)
    first = await service.stub.ListIssues(query_pb2.ListIssuesRequest(
        project_id=service.tenants.project_a, sort=query_pb2.ISSUE_SORT_USERS, limit=1))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await _ids(service, "", cursor=first.next_cursor, sort=query_pb2.ISSUE_SORT_COUNT)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
