"""The issue endpoints: list shape, filters, sorting, pagination, details and status."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import httpx
import psycopg
import pytest

from faultline_web.serializers import short_id
from tests.unit.web import dataset
from tests.unit.web.conftest import Seeded, bearer

LIST = "/api/0/projects/acme/backend/issues/"
ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")
LINK = re.compile(r'<([^>]*)>; rel="(\w+)"; results="(true|false)"; cursor="([^"]*)"')


def backend_specs(*statuses: str) -> list[dataset.IssueSpec]:
    return [s for s in dataset.ISSUES if s.project == "backend" and s.status in statuses]


async def get_json(client: httpx.AsyncClient, seeded: Seeded, path: str, **params: Any) -> Any:
    response = await client.get(path, params=params, headers=bearer(seeded.tokens["alice"]))
    assert response.status_code == 200, response.text
    return response.json()


def parse_links(header: str) -> dict[str, tuple[str, bool, str]]:
    return {rel: (url, results == "true", cursor)
            for url, rel, results, cursor in LINK.findall(header)}


async def test_list_items_have_sentry_shape(client: httpx.AsyncClient, seeded: Seeded) -> None:
    body = await get_json(client, seeded, LIST)
    spec = dataset.issue_spec("zero")
    item = next(i for i in body if i["id"] == str(seeded.issue("zero")))
    assert item["shortId"] == short_id("backend", seeded.issue("zero"))
    assert (item["title"], item["culprit"], item["level"]) == (spec.title, spec.culprit, spec.level)
    assert item["status"] == "unresolved"
    assert item["count"] == str(spec.count)
    assert item["userCount"] == len({e.payload["user"]["id"] for e in spec.events})
    for field in ("firstSeen", "lastSeen"):
        assert ISO_Z.match(item[field]), item[field]
    assert datetime.fromisoformat(item["lastSeen"]) == spec.last_seen
    assert datetime.fromisoformat(item["firstSeen"]) == spec.first_seen
    assert item["project"]["id"] == str(seeded.projects["backend"])
    assert item["project"]["slug"] == "backend"
    assert item["metadata"] == {"type": "ZeroDivisionError", "value": spec.title}
    assert item["type"] == "error"
    assert item["platform"] == "python"
    assert item["permalink"] == f"http://faultline.test/acme/backend/issues/{item['id']}/"


@pytest.mark.parametrize(
    ("query", "statuses"),
    [
        (None, ("unresolved",)),
        ("is:unresolved", ("unresolved",)),
        ("is:resolved", ("resolved",)),
        ("is:ignored", ("ignored",)),
        ("is:archived", ("ignored",)),
        ("", ("unresolved", "resolved", "ignored")),
    ],
)
async def test_status_filter(
    client: httpx.AsyncClient, seeded: Seeded, query: str | None, statuses: tuple[str, ...]
) -> None:
    params = {} if query is None else {"query": query}
    body = await get_json(client, seeded, LIST, **params)
    expected = {str(seeded.issue(spec.key)) for spec in backend_specs(*statuses)}
    assert {item["id"] for item in body} == expected
    assert {item["status"] for item in body} == set(statuses)


@pytest.mark.parametrize(
    ("sort", "key"),
    [("date", "last_seen"), ("new", "first_seen"), ("freq", "count"), (None, "last_seen")],
)
async def test_sort_orders(
    client: httpx.AsyncClient, seeded: Seeded, sort: str | None, key: str
) -> None:
    params = {"query": ""} | ({} if sort is None else {"sort": sort})
    body = await get_json(client, seeded, LIST, **params)
    specs = sorted(backend_specs("unresolved", "resolved", "ignored"),
                   key=lambda spec: getattr(spec, key), reverse=True)
    assert [item["id"] for item in body] == [str(seeded.issue(s.key)) for s in specs]


async def test_link_header_pagination_visits_every_issue_once(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    headers = bearer(seeded.tokens["alice"])
    url: str | None = f"{LIST}?query=&sort=freq&limit=2"
    seen: list[str] = []
    pages = 0
    while url is not None:
        response = await client.get(url, headers=headers)
        assert response.status_code == 200
        assert len(response.json()) <= 2
        seen += [item["id"] for item in response.json()]
        links = parse_links(response.headers["link"])
        assert set(links) == {"previous", "next"}
        next_url, has_more, cursor = links["next"]
        assert f"cursor={cursor}" in next_url
        url = next_url if has_more else None
        pages += 1
    specs = sorted(backend_specs("unresolved", "resolved", "ignored"),
                   key=lambda spec: spec.count, reverse=True)
    assert seen == [str(seeded.issue(s.key)) for s in specs]
    assert pages == (len(specs) + 1) // 2


@pytest.mark.parametrize(
    "params",
    [{"query": "is:bogus"}, {"query": "times_seen:>many"}, {"query": '"unclosed'},
     {"sort": "priority"}, {"cursor": "not-a-cursor"}],
)
async def test_bad_list_parameters_are_400(
    client: httpx.AsyncClient, seeded: Seeded, params: dict[str, str]
) -> None:
    response = await client.get(LIST, params=params, headers=bearer(seeded.tokens["alice"]))
    assert response.status_code == 400
    assert response.json()["detail"]


async def test_issue_details_include_volume_and_tags(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    spec = dataset.issue_spec("zero")
    for path in (f"/api/0/issues/{seeded.issue('zero')}/",
                 f"/api/0/organizations/acme/issues/{seeded.issue('zero')}/"):
        body = await get_json(client, seeded, path)
        assert body["id"] == str(seeded.issue("zero"))
        assert body["title"] == spec.title
        points = body["stats"]["24h"]
        assert len(points) >= 24
        assert sum(count for _, count in points) == len(spec.events)
        assert [ts for ts, _ in points] == sorted(ts for ts, _ in points)
        tag_keys = {tag["key"] for tag in body["tags"]}
        assert {"release", "environment", "user"} <= tag_keys


async def test_unknown_or_malformed_issue_ids_are_404(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    headers = bearer(seeded.tokens["alice"])
    for issue_id in ("999999", "abc", "0", "-1", "99999999999999999999", "１"):
        response = await client.get(f"/api/0/issues/{issue_id}/", headers=headers)
        assert response.status_code == 404, issue_id


async def db_status(seeded: Seeded, issue_id: int) -> tuple[str, datetime | None]:
    async with await psycopg.AsyncConnection.connect(seeded.pg_dsn) as conn:
        cur = await conn.execute(
            "SELECT status, status_changed_at FROM issues WHERE id = %s", (issue_id,)
        )
        row = await cur.fetchone()
    assert row is not None
    return row[0], row[1]


async def listed_ids(client: httpx.AsyncClient, seeded: Seeded, query: str | None) -> set[str]:
    params = {} if query is None else {"query": query}
    body = await get_json(client, seeded, "/api/0/projects/acme/frontend/issues/", **params)
    return {item["id"] for item in body}


async def test_put_status_sticks_and_filters_follow(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    issue = seeded.issue("api-mutable")
    path, headers = f"/api/0/issues/{issue}/", bearer(seeded.tokens["alice"])
    for status in ("resolved", "ignored", "unresolved"):
        response = await client.put(path, json={"status": status}, headers=headers)
        assert response.status_code == 200, response.text
        assert response.json()["status"] == status
        assert (await get_json(client, seeded, path))["status"] == status
        assert str(issue) in await listed_ids(client, seeded, f"is:{status}")
        assert (str(issue) in await listed_ids(client, seeded, None)) == (status == "unresolved")
        stored, changed_at = await db_status(seeded, issue)
        assert stored == status
        assert changed_at is not None


async def test_repeating_a_status_keeps_its_change_time(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    issue = seeded.issue("api-mutable")
    path, headers = f"/api/0/organizations/acme/issues/{issue}/", bearer(seeded.tokens["alice"])
    await client.put(path, json={"status": "resolved"}, headers=headers)
    _, first_change = await db_status(seeded, issue)
    response = await client.put(path, json={"status": "resolved"}, headers=headers)
    assert response.status_code == 200
    assert await db_status(seeded, issue) == ("resolved", first_change)
    await client.put(path, json={"status": "unresolved"}, headers=headers)


@pytest.mark.parametrize(
    "body",
    [b'{"status": "done"}', b'{"status": 2}', b"{}", b"[]", b"not json", b'{"status": null}'],
)
async def test_put_with_a_bad_status_is_400(
    client: httpx.AsyncClient, seeded: Seeded, body: bytes
) -> None:
    issue = seeded.issue("api-mutable")
    response = await client.put(
        f"/api/0/issues/{issue}/", content=body,
        headers={**bearer(seeded.tokens["alice"]), "Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert (await db_status(seeded, issue))[0] == "unresolved"


async def test_tag_breakdown(client: httpx.AsyncClient, seeded: Seeded) -> None:
    spec = dataset.issue_spec("zero")
    body = await get_json(client, seeded, f"/api/0/issues/{seeded.issue('zero')}/tags/")
    by_key = {tag["key"]: tag for tag in body}
    release = by_key["release"]
    assert release["totalValues"] == len(spec.events)
    assert release["topValues"][0]["value"] == "shop@1.2.3"
    assert release["topValues"][0]["count"] == len(spec.events)
    assert ISO_Z.match(release["topValues"][0]["lastSeen"])
    assert by_key["user"]["uniqueValues"] == len(spec.events)


async def test_stats_ranges(client: httpx.AsyncClient, seeded: Seeded) -> None:
    spec = dataset.issue_spec("zero")
    path = f"/api/0/issues/{seeded.issue('zero')}/stats/"
    hourly = await get_json(client, seeded, path)
    daily = await get_json(client, seeded, path, range="14d")
    assert sum(count for _, count in hourly) == sum(count for _, count in daily) == len(spec.events)
    assert daily[1][0] - daily[0][0] == 86400
    assert hourly[1][0] - hourly[0][0] == 3600
    response = await client.get(path, params={"range": "1y"},
                                headers=bearer(seeded.tokens["alice"]))
    assert response.status_code == 400


async def test_link_header_never_echoes_unsafe_cursor_text(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    headers = bearer(seeded.tokens["alice"])
    first = await client.get(LIST, params={"limit": 1}, headers=headers)
    cursor = parse_links(first.headers["link"])["next"][2]
    assert cursor
    response = await client.get(
        LIST, params={"limit": 1, "cursor": cursor + '", <https://evil.test>; rel="next'},
        headers=headers,
    )
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        links = parse_links(response.headers["link"])
        assert set(links) == {"previous", "next"}
        assert "evil.test" not in response.headers["link"].split(">", 1)[1]
