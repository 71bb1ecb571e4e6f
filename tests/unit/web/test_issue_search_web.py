"""Issue search through the web: the API's ``query``/``sort`` and the UI's search box."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from tests.unit.web import dataset
from tests.unit.web.conftest import Seeded, bearer
from tests.unit.web.test_api_issues import LIST, parse_links
from tests.unit.web.test_ui import escaped, signed_in_as_alice


def map_hashes(seeded: Seeded) -> None:
    """Map the read-only issues' event hashes to them, as the processor does (idempotent;
    the frontend issues, which other tests change, are left alone)."""
    with psycopg.connect(seeded.pg_dsn) as conn:
        for key, issue_id in seeded.issues.items():
            if dataset.issue_spec(key).project == "frontend":
                continue
            project = seeded.projects[dataset.issue_spec(key).project]
            conn.execute(
                "INSERT INTO grouphashes (project_id, hash, issue_id) VALUES (%s, %s, %s)"
                " ON CONFLICT DO NOTHING",
                (project, hashlib.md5(str(issue_id).encode()).hexdigest(), issue_id))


async def listed(client: httpx.AsyncClient, seeded: Seeded, query: str,
                 token: str = "alice", path: str = LIST) -> set[str]:
    response = await client.get(path, params={"query": query},
                                headers=bearer(seeded.tokens[token]))
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()}


def ids(seeded: Seeded, *keys: str) -> set[str]:
    return {str(seeded.issue(key)) for key in keys}


async def test_api_search_terms(client: httpx.AsyncClient, seeded: Seeded) -> None:
    map_hashes(seeded)
    assert await listed(client, seeded, "level:warning") == ids(seeded, "keyerror")
    assert await listed(client, seeded, "is:resolved level:error") == ids(seeded, "valueerror")
    assert await listed(client, seeded, "times_seen:>=10") == ids(seeded, "zero", "valueerror")
    assert await listed(client, seeded, "user.email:u1@customers.test") == ids(
        seeded, "keyerror")
    assert await listed(client, seeded, "region:eu-west") == ids(
        seeded, "zero", "keyerror", "valueerror", "timeout")
    assert await listed(client, seeded, "region:eu-west") == await listed(
        client, seeded, "tags[region]:eu-west")
    assert await listed(client, seeded, '"division by" !auth') == ids(seeded, "zero")
    # The default search is still is:unresolved.
    response = await client.get(LIST, headers=bearer(seeded.tokens["alice"]))
    assert {item["status"] for item in response.json()} == {"unresolved"}


async def test_api_search_stays_in_the_tenant(client: httpx.AsyncClient, seeded: Seeded) -> None:
    map_hashes(seeded)
    assert await listed(client, seeded, "GlobexError") == set()
    assert await listed(client, seeded, "user.email:g1@customers.test") == set()
    globex = "/api/0/projects/globex/shop/issues/"
    assert await listed(client, seeded, "region:eu-west", "bob", globex) == ids(seeded, "globex")
    response = await client.get(globex, params={"query": "region:eu-west"},
                                headers=bearer(seeded.tokens["alice"]))
    assert response.status_code == 404


@pytest.mark.parametrize(("query", "detail"), [
    ("is:open", "is: must be one of"), ("times_seen:>lots", "whole number"),
    ("firstSeen:soon", "ISO date"), ('"unclosed', "closing quote"), ("x" * 1001, "1000"),
])
async def test_api_bad_search_is_400_with_detail(
    client: httpx.AsyncClient, seeded: Seeded, query: str, detail: str
) -> None:
    response = await client.get(LIST, params={"query": query},
                                headers=bearer(seeded.tokens["alice"]))
    assert response.status_code == 400
    assert detail in response.json()["detail"]


async def test_link_header_keeps_the_search(client: httpx.AsyncClient, seeded: Seeded) -> None:
    map_hashes(seeded)
    url: str | None = f"{LIST}?query=region%3Aeu-west&sort=user&limit=1"
    seen: list[str] = []
    while url is not None:
        response = await client.get(url, headers=bearer(seeded.tokens["alice"]))
        assert response.status_code == 200, response.text
        seen += [item["id"] for item in response.json()]
        next_url, has_more, _ = parse_links(response.headers["link"])["next"]
        assert parse_qs(urlsplit(next_url).query)["query"] == ["region:eu-west"]
        assert parse_qs(urlsplit(next_url).query)["sort"] == ["user"]
        url = next_url if has_more else None
    assert len(seen) == len(set(seen))
    assert set(seen) == ids(seeded, "zero", "keyerror", "valueerror", "timeout")


async def test_ui_search_box(client: httpx.AsyncClient, seeded: Seeded) -> None:
    await signed_in_as_alice(client)
    page = await client.get("/acme/backend/issues/",
                            params={"status": "all", "query": "level:warning", "sort": "user"})
    assert page.status_code == 200
    assert 'name="query" value="level:warning"' in page.text
    assert escaped(dataset.issue_spec("keyerror").title) in page.text
    assert escaped(dataset.issue_spec("zero").title) not in page.text
    # Status tabs and sorts keep the search; the users sort is offered.
    assert "status=resolved&amp;sort=user&amp;query=level%3Awarning" in page.text
    assert "status=all&amp;sort=freq&amp;query=level%3Awarning" in page.text
    assert ">Users</a>" in page.text


async def test_ui_bad_search_shows_the_error(client: httpx.AsyncClient, seeded: Seeded) -> None:
    await signed_in_as_alice(client)
    hostile = '"<script>x'
    page = await client.get("/acme/backend/issues/", params={"query": hostile})
    assert page.status_code == 400
    assert 'role="alert">a quoted value is missing its closing quote' in page.text
    assert f'value="{escaped(hostile)}"' in page.text
    assert "<script>x" not in page.text
    assert "No issues match" in page.text
