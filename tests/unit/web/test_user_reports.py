"""User feedback endpoints and the issue page's feedback section.

The tests use projects of their own (``voices`` in acme, ``mailbag`` in globex) so the
seeded issue lists other tests compute expectations from stay unchanged. An event being
processed is what the processor records in ``processed_events``; the tests write that
row themselves to show a report stored first appearing on its issue afterwards.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import psycopg
import pytest
import pytest_asyncio
from psycopg.rows import dict_row

from faultline_core.storage.postgres import tenancy
from tests.unit.web import dataset
from tests.unit.web.conftest import Seeded, bearer
from tests.unit.web.test_ui import escaped, signed_in_as_alice

FEEDBACK = "/api/0/projects/acme/voices/user-feedback/"
LINK_NEXT = re.compile(r'<([^>]*)>; rel="next"; results="(true|false)"; cursor="([^"]*)"')
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")


@dataclass(frozen=True)
class Tenants:
    acme_project: int
    globex_project: int


@pytest_asyncio.fixture(scope="module")
async def tenants(seeded: Seeded) -> Tenants:
    connect = psycopg.AsyncConnection.connect(seeded.pg_dsn, row_factory=dict_row)
    async with await connect as conn, conn.transaction():
        cur = await conn.execute("SELECT id, slug FROM organizations")
        orgs = {row["slug"]: row["id"] for row in await cur.fetchall()}
        acme = await tenancy.create_project(conn, orgs["acme"], "voices", "Voices", "node")
        globex = await tenancy.create_project(conn, orgs["globex"], "mailbag", "Mailbag",
                                              "node")
    return Tenants(acme, globex)


async def new_issue(seeded: Seeded, project_id: int, title: str) -> int:
    async with await psycopg.AsyncConnection.connect(seeded.pg_dsn) as conn:
        cur = await conn.execute(
            "INSERT INTO issues (project_id, title, culprit, level, type, metadata, platform,"
            " first_seen, last_seen, times_seen, status)"
            " VALUES (%s, %s, 'checkout', 'error', 'error', '{}', 'node', now(), now(), 1,"
            " 'unresolved') RETURNING id", (project_id, title))
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


async def event_processed(seeded: Seeded, project_id: int, event_id: str, issue_id: int) -> None:
    """What the processor records once it has grouped an event into an issue."""
    async with await psycopg.AsyncConnection.connect(seeded.pg_dsn) as conn:
        await conn.execute(
            "INSERT INTO processed_events (project_id, event_id, issue_id, timestamp)"
            " VALUES (%s, %s, %s, now())", (project_id, event_id, issue_id))


async def issue_with_event(seeded: Seeded, project_id: int, title: str) -> tuple[int, str]:
    """A new issue with one processed event: (issue id, event id)."""
    issue_id = await new_issue(seeded, project_id, title)
    event_id = uuid.uuid4().hex
    await event_processed(seeded, project_id, event_id, issue_id)
    return issue_id, event_id


async def submit(client: httpx.AsyncClient, seeded: Seeded, body: Any, who: str = "alice",
                 path: str = FEEDBACK) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return await client.post(path, content=content, headers={
        **bearer(seeded.tokens[who]), "Content-Type": "application/json"})


async def get(client: httpx.AsyncClient, seeded: Seeded, path: str, who: str = "alice",
              **params: Any) -> httpx.Response:
    return await client.get(path, params=params, headers=bearer(seeded.tokens[who]))


def report_body(event_id: str, comments: str = "The pay button spins forever") -> dict[str, str]:
    return {"event_id": event_id, "name": "Grace", "email": "grace@example.com",
            "comments": comments}


async def test_report_before_its_event_shows_on_the_issue_once_processed(
    client: httpx.AsyncClient, seeded: Seeded, tenants: Tenants,
) -> None:
    event_id = uuid.uuid4().hex
    issue_id = await new_issue(seeded, tenants.acme_project, "TypeError: late event")
    created = await submit(client, seeded, report_body(str(uuid.UUID(event_id))))
    assert created.status_code == 200, created.text
    report = created.json()
    assert set(report) == {"id", "eventID", "name", "email", "comments", "dateCreated",
                           "user", "event"}
    assert (report["eventID"], report["event"]) == (
        event_id, {"id": event_id, "eventID": event_id})
    assert (report["name"], report["email"], report["user"]) == (
        "Grace", "grace@example.com", None)
    assert ISO_Z.match(report["dateCreated"]) and re.fullmatch("[0-9a-f]{32}", report["id"])

    listed = await get(client, seeded, FEEDBACK)
    assert report in listed.json()
    issue_path = f"/api/0/issues/{issue_id}/user-reports/"
    assert (await get(client, seeded, issue_path)).json() == []
    details = f"/api/0/issues/{issue_id}/"
    assert (await get(client, seeded, details)).json()["userReportCount"] == 0

    await event_processed(seeded, tenants.acme_project, event_id, issue_id)
    for path in (issue_path, f"/api/0/organizations/acme/issues/{issue_id}/user-reports/"):
        response = await get(client, seeded, path)
        assert response.status_code == 200
        assert response.json() == [report]
    assert (await get(client, seeded, details)).json()["userReportCount"] == 1


async def test_issue_reports_are_newest_first_and_paginated(
    client: httpx.AsyncClient, seeded: Seeded, tenants: Tenants,
) -> None:
    issue_id, event_id = await issue_with_event(seeded, tenants.acme_project, "TypeError: paged")
    sent = [f"report {n}" for n in range(3)]
    for comments in sent:
        assert (await submit(client, seeded, report_body(event_id, comments))).status_code == 200
    path = f"/api/0/issues/{issue_id}/user-reports/"
    seen: list[str] = []
    cursor = ""
    for _ in range(3):
        response = await get(client, seeded, path, limit=2, cursor=cursor)
        assert response.status_code == 200
        seen += [r["comments"] for r in response.json()]
        match = LINK_NEXT.search(response.headers["link"])
        assert match is not None
        if match.group(2) == "false":
            break
        cursor = match.group(3)
    assert seen == list(reversed(sent))
    bad = await get(client, seeded, path, cursor="nonsense")
    assert bad.status_code == 400 and "cursor" in bad.json()["detail"]


async def test_other_tenants_reports_are_not_found(
    client: httpx.AsyncClient, seeded: Seeded, tenants: Tenants,
) -> None:
    issue_id, event_id = await issue_with_event(seeded, tenants.acme_project, "TypeError: private")
    assert (await submit(client, seeded, report_body(event_id, "acme secret"))).status_code == 200
    globex_issue = await new_issue(seeded, tenants.globex_project, "TypeError: globex")
    for path in (f"/api/0/issues/{issue_id}/user-reports/",
                 f"/api/0/organizations/acme/issues/{issue_id}/user-reports/",
                 f"/api/0/organizations/globex/issues/{issue_id}/user-reports/", FEEDBACK):
        response = await get(client, seeded, path, who="bob")
        assert response.status_code == 404, path
        assert "acme secret" not in response.text
    foreign = await submit(client, seeded, report_body(event_id, "planted"), who="bob")
    assert foreign.status_code == 404
    wrong_org = await get(client, seeded,
                          f"/api/0/organizations/acme/issues/{globex_issue}/user-reports/",
                          who="bob")
    assert wrong_org.status_code == 404
    # The same event id in another project never shows on acme's issue.
    await submit(client, seeded, report_body(event_id, "globex's own"), who="bob",
                 path="/api/0/projects/globex/mailbag/user-feedback/")
    mine = await get(client, seeded, f"/api/0/issues/{issue_id}/user-reports/")
    assert [r["comments"] for r in mine.json()] == ["acme secret"]


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"{not json", "JSON object"),
        ([1, 2], "JSON object"),
        ({"name": "x", "comments": "hi"}, "event_id"),
        ({"event_id": "xyz", "comments": "hi"}, "event_id"),
        ({"event_id": "ab" * 16}, "comments"),
        ({"event_id": "ab" * 16, "comments": "  \x00 "}, "comments must not be empty"),
        ({"event_id": "ab" * 16, "comments": "c" * 4097}, "at most 4096"),
        ({"event_id": "ab" * 16, "comments": "hi", "name": "n" * 129}, "at most 128"),
        ({"event_id": "ab" * 16, "comments": "hi", "email": "not-an-email"}, "email"),
        ({"event_id": "ab" * 16, "comments": ["hi"]}, "comments must be a string"),
    ],
)
async def test_bad_submissions_are_400_with_a_reason(
    client: httpx.AsyncClient, seeded: Seeded, tenants: Tenants, body: Any, detail: str,
) -> None:
    response = await submit(client, seeded, body)
    assert response.status_code == 400
    assert detail in response.json()["detail"]


async def test_hostile_text_is_stored_as_text(
    client: httpx.AsyncClient, seeded: Seeded, tenants: Tenants,
) -> None:
    comments = "bad \ud800 pair\x00" + dataset.HOSTILE_SCRIPT
    body = json.dumps(report_body(uuid.uuid4().hex, comments)).encode()  # \ud800 escaped
    response = await submit(client, seeded, body)
    assert response.status_code == 200, response.text
    assert response.json()["comments"] == "bad ? pair" + dataset.HOSTILE_SCRIPT


async def test_issue_page_lists_feedback_escaped(
    client: httpx.AsyncClient, seeded: Seeded, tenants: Tenants,
) -> None:
    issue_id, event_id = await issue_with_event(
        seeded, tenants.acme_project, "TypeError: with feedback")
    body = {"event_id": event_id, "name": dataset.HOSTILE_IMG, "email": "eve@example.com",
            "comments": dataset.HOSTILE_SCRIPT}
    assert (await submit(client, seeded, body)).status_code == 200
    await signed_in_as_alice(client)
    page = await client.get(f"/acme/voices/issues/{issue_id}/")
    assert page.status_code == 200
    assert "User feedback" in page.text
    assert escaped(dataset.HOSTILE_SCRIPT) in page.text
    assert escaped(dataset.HOSTILE_IMG) in page.text and "eve@example.com" in page.text
    assert dataset.HOSTILE_SCRIPT not in page.text and dataset.HOSTILE_IMG not in page.text
    quiet = await new_issue(seeded, tenants.acme_project, "TypeError: no feedback")
    empty = await client.get(f"/acme/voices/issues/{quiet}/")
    assert "No user feedback for this issue." in empty.text
