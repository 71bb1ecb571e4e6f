"""The organization stats endpoints (release health sessions and outcomes, in Sentry's
grouped shape, scoped to the projects the caller can see) and the Releases and Stats
pages built on them."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
from markupsafe import escape
from psycopg.rows import dict_row

from faultline_core.storage.postgres import tenancy
from tests.unit.web import dataset
from tests.unit.web.conftest import Seeded, bearer
from tests.unit.web.tenants import new_project

HOUR = timedelta(hours=1)
HOSTILE = "<img src=x onerror=alert(1)>"
Param = tuple[str, str | int | float | bool | None]


@dataclass(frozen=True)
class StatsProjects:
    main: int
    """acme: sessions, outcomes and accepted errors."""
    sibling: int
    """acme too: a little data of its own."""
    foreign: int
    """globex: must never show for alice."""
    now_hour: datetime


def this_hour() -> datetime:
    now = datetime.now(UTC)
    return now.replace(minute=0, second=0, microsecond=0)


async def _project(conn: tenancy.Conn, org: str) -> int:
    project_id, _ = await new_project(conn, org, "stats")
    return project_id


async def _sessions(conn: tenancy.Conn, project: int, release: str, env: str, bucket: datetime,
                    started: int, errored: int = 0, crashed: int = 0, abnormal: int = 0) -> None:
    await conn.execute(
        "INSERT INTO release_sessions VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (project, release, env, bucket, started, errored, crashed, abnormal),
    )


async def _outcome(conn: tenancy.Conn, project: int, bucket: datetime, outcome: str,
                   category: str, reason: str, quantity: int) -> None:
    await conn.execute("INSERT INTO outcomes VALUES (%s, %s, %s, %s, %s, %s)",
                       (project, bucket, outcome, category, reason, quantity))


@pytest_asyncio.fixture(loop_scope="session")
async def stats(seeded: Seeded) -> StatsProjects:
    hour = this_hour()
    connect = psycopg.AsyncConnection.connect(seeded.pg_dsn, row_factory=dict_row)
    async with await connect as conn, conn.transaction():
        main, sibling = await _project(conn, "acme"), await _project(conn, "acme")
        foreign = await _project(conn, "globex")
        await _sessions(conn, main, "api@1.0", "prod", hour, 10, errored=3, crashed=1,
                        abnormal=1)
        await _sessions(conn, main, "api@1.0", "prod", hour - 2 * HOUR, 5)
        await _sessions(conn, main, "api@1.1", "staging", hour - HOUR, 4, errored=2,
                        crashed=2)
        await _sessions(conn, main, "api@0.9", "prod", hour - 30 * HOUR, 100)  # too old
        await _sessions(conn, sibling, "web@3", "prod", hour, 2)
        await _sessions(conn, sibling, HOSTILE, "", hour, 1)
        await _sessions(conn, foreign, "api@1.0", "prod", hour, 50, crashed=50, errored=50)
        await _outcome(conn, main, hour, "accepted", "transaction", "", 7)
        await _outcome(conn, main, hour - HOUR, "client_discard", "error", "before_send", 2)
        await _outcome(conn, main, hour, "rate_limited", "error", "", 3)
        await _outcome(conn, foreign, hour, "accepted", "transaction", "", 1000)
        for minutes in (1, 2, 3, 70):
            await conn.execute(
                "INSERT INTO processed_events VALUES (%s, %s, 1, %s)",
                (main, uuid.uuid4().hex, datetime.now(UTC) - timedelta(minutes=minutes)),
            )
    return StatsProjects(main, sibling, foreign, hour)


async def get(client: httpx.AsyncClient, token: str, path: str,
              params: list[Param]) -> httpx.Response:
    return await client.get(path, params=params, headers=bearer(token))


SESSIONS = "/api/0/organizations/acme/sessions/"
STATS = "/api/0/organizations/acme/stats_v2/"
SESSION_FIELDS = ["sum(session)", "crash_free_rate(session)", "count_errored(session)",
                  "count_crashed(session)", "count_abnormal(session)",
                  "count_healthy(session)"]


def by(body: dict[str, Any], **wanted: Any) -> dict[str, Any]:
    groups = [g for g in body["groups"] if g["by"] == wanted]
    assert len(groups) == 1, body["groups"]
    return dict(groups[0])


async def test_sessions_per_release_and_environment(
    client: httpx.AsyncClient, seeded: Seeded, stats: StatsProjects
) -> None:
    params: list[Param] = [("project", stats.main), ("statsPeriod", "24h"),
                                           ("groupBy", "release"), ("groupBy", "environment")]
    params += [("field", name) for name in SESSION_FIELDS]
    response = await get(client, seeded.tokens["alice"], SESSIONS, params)
    assert response.status_code == 200, response.text
    body = response.json()

    assert len(body["intervals"]) == 24
    assert body["intervals"][-1] == stats.now_hour.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert body["end"] == (stats.now_hour + HOUR).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [g["by"] for g in body["groups"]] == [
        {"release": "api@1.0", "environment": "prod"},
        {"release": "api@1.1", "environment": "staging"},
    ]
    prod = by(body, release="api@1.0", environment="prod")
    assert prod["totals"] == {
        "sum(session)": 15, "crash_free_rate(session)": pytest.approx(14 / 15),
        "count_errored(session)": 1, "count_crashed(session)": 1,
        "count_abnormal(session)": 1, "count_healthy(session)": 12,
    }
    assert prod["series"]["sum(session)"][-3:] == [5, 0, 10]
    assert prod["series"]["crash_free_rate(session)"][-3:] == [1.0, None, 0.9]
    staging = by(body, release="api@1.1", environment="staging")
    assert staging["totals"]["crash_free_rate(session)"] == 0.5
    assert staging["totals"]["count_errored(session)"] == 0


async def test_without_groups_one_total_and_without_projects_every_visible_one(
    client: httpx.AsyncClient, seeded: Seeded, stats: StatsProjects
) -> None:
    response = await get(client, seeded.tokens["alice"], SESSIONS,
                         [("field", "sum(session)"), ("groupBy", "project")])
    groups = {g["by"]["project"]: g["totals"]["sum(session)"] for g in response.json()["groups"]}
    assert groups[stats.main] == 19 and groups[stats.sibling] == 3
    assert stats.foreign not in groups

    response = await get(client, seeded.tokens["alice"], SESSIONS,
                         [("field", "sum(session)"), ("project", stats.sibling)])
    assert [(g["by"], g["totals"]) for g in response.json()["groups"]] == [
        ({}, {"sum(session)": 3})]


async def test_daily_intervals_over_two_weeks(
    client: httpx.AsyncClient, seeded: Seeded, stats: StatsProjects
) -> None:
    response = await get(client, seeded.tokens["alice"], SESSIONS, [
        ("field", "sum(session)"), ("project", stats.main), ("statsPeriod", "14d")])
    body = response.json()
    assert len(body["intervals"]) == 14 and body["intervals"][-1].endswith("T00:00:00Z")
    assert body["groups"][0]["totals"]["sum(session)"] == 119


async def test_other_tenants_are_not_found(
    client: httpx.AsyncClient, seeded: Seeded, stats: StatsProjects
) -> None:
    alice, bob = seeded.tokens["alice"], seeded.tokens["bob"]
    fields: list[Param] = [("field", "sum(session)")]
    refused = [
        await get(client, alice, SESSIONS, [*fields, ("project", stats.foreign)]),
        await get(client, alice, "/api/0/organizations/globex/sessions/", fields),
        await get(client, bob, SESSIONS, fields),
        await get(client, bob, STATS, [("field", "sum(quantity)")]),
        await get(client, alice, SESSIONS, [*fields, ("project", "9" * 30)]),
        await get(client, alice, "/api/0/organizations/nope/stats_v2/",
                  [("field", "sum(quantity)")]),
    ]
    assert [r.status_code for r in refused] == [404] * len(refused)
    assert (await client.get(SESSIONS, params=fields)).status_code == 401
    root = await get(client, seeded.superuser_token, "/api/0/organizations/globex/sessions/",
                     [*fields, ("project", stats.foreign)])
    assert root.json()["groups"][0]["totals"] == {"sum(session)": 50}


@pytest.mark.parametrize("params", [
    [],
    [("field", "sum(bogus)")],
    [("field", "sum(session)"), ("groupBy", "user")],
    [("field", "sum(session)"), ("statsPeriod", "forever")],
    [("field", "sum(session)"), ("statsPeriod", "365d")],
    [("field", "sum(session)"), ("interval", "7m")],
    [("field", "sum(session)"), ("interval", "5h")],
    [("field", "sum(session)"), ("query", "release:x")],
])
async def test_unusable_parameters_are_400(
    client: httpx.AsyncClient, seeded: Seeded, params: list[Param]
) -> None:
    response = await get(client, seeded.tokens["alice"], SESSIONS, params)
    assert response.status_code == 400 and response.json()["detail"]


async def test_stats_v2_counts_every_outcome_and_accepted_errors(
    client: httpx.AsyncClient, seeded: Seeded, stats: StatsProjects
) -> None:
    response = await get(client, seeded.tokens["alice"], STATS, [
        ("field", "sum(quantity)"), ("project", stats.main), ("statsPeriod", "24h"),
        ("interval", "1h"), ("groupBy", "outcome"), ("groupBy", "category"),
        ("groupBy", "reason")])
    assert response.status_code == 200, response.text
    totals = {(g["by"]["outcome"], g["by"]["category"], g["by"]["reason"]):
              g["totals"]["sum(quantity)"] for g in response.json()["groups"]}
    assert totals == {
        ("accepted", "error", ""): 4, ("accepted", "transaction", ""): 7,
        ("client_discard", "error", "before_send"): 2, ("rate_limited", "error", ""): 3,
    }
    discards = by(response.json(), outcome="client_discard", category="error",
                  reason="before_send")
    assert discards["series"]["sum(quantity)"][-2:] == [2, 0]


async def test_stats_v2_filters(
    client: httpx.AsyncClient, seeded: Seeded, stats: StatsProjects
) -> None:
    response = await get(client, seeded.tokens["alice"], STATS, [
        ("field", "sum(quantity)"), ("project", stats.main), ("category", "error"),
        ("outcome", "accepted"), ("outcome", "rate_limited"), ("groupBy", "outcome")])
    totals = {g["by"]["outcome"]: g["totals"]["sum(quantity)"]
              for g in response.json()["groups"]}
    assert totals == {"accepted": 4, "rate_limited": 3}


async def signed_in(client: httpx.AsyncClient) -> None:
    response = await client.post("/login", data={
        "email": dataset.ALICE_EMAIL, "password": dataset.ALICE_PASSWORD, "next": "/"})
    assert response.status_code == 303


async def project_slug(seeded: Seeded, project_id: int) -> str:
    async with await psycopg.AsyncConnection.connect(seeded.pg_dsn) as conn:
        cur = await conn.execute("SELECT slug FROM projects WHERE id = %s", (project_id,))
        row = await cur.fetchone()
        assert row is not None
        return str(row[0])


def cells(html: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    found = [[c.strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)] for row in rows]
    return [row for row in found if row]  # header rows have no <td>


async def test_releases_page_lists_health_per_release(
    client: httpx.AsyncClient, seeded: Seeded, stats: StatsProjects
) -> None:
    await signed_in(client)
    slug = await project_slug(seeded, stats.main)
    page = await client.get(f"/acme/{slug}/releases/?period=24h")
    assert page.status_code == 200, page.text
    assert cells(page.text) == [
        ["api@1.0", "prod", "15", "93.3%", "12", "1", "1", "1"],
        ["api@1.1", "staging", "4", "50.0%", "2", "0", "0", "2"],
    ]
    sibling = await client.get(f"/acme/{await project_slug(seeded, stats.sibling)}/releases/")
    assert HOSTILE not in sibling.text and str(escape(HOSTILE)) in sibling.text
    issues = await client.get(f"/acme/{slug}/issues/")
    assert f'href="/acme/{slug}/releases/"' in issues.text
    assert f'href="/acme/{slug}/stats/"' in issues.text


async def test_stats_page_shows_outcomes_and_discard_reasons(
    client: httpx.AsyncClient, seeded: Seeded, stats: StatsProjects
) -> None:
    await signed_in(client)
    slug = await project_slug(seeded, stats.main)
    page = await client.get(f"/acme/{slug}/stats/")
    assert page.status_code == 200, page.text
    assert cells(page.text) == [
        # category: accepted, rate_limited, client_discard, filtered, filtered_sampling
        ["error", "4", "3", "2", "0", "0"],
        ["transaction", "7", "0", "0", "0", "0"],
        # dropped data: outcome, category, reason, quantity
        ["rate_limited", "error", "(none)", "3"],
        ["client_discard", "error", "before_send", "2"],
    ]


async def test_stats_pages_are_private_and_checked(
    client: httpx.AsyncClient, seeded: Seeded, stats: StatsProjects
) -> None:
    slug = await project_slug(seeded, stats.foreign)
    assert (await client.get(f"/globex/{slug}/stats/")).status_code == 303  # to the login
    await signed_in(client)
    for page in ("releases", "stats"):
        assert (await client.get(f"/globex/{slug}/{page}/")).status_code == 404
    main = await project_slug(seeded, stats.main)
    assert (await client.get(f"/acme/{main}/stats/?period=1y")).status_code == 400
