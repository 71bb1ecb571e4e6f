"""The lifecycle endpoints: Sentry's PUT shapes with statusDetails and assignedTo, bulk
updates and merges, unmerge by hash, activity and comments, and tenancy."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.unit.web import dataset
from tests.unit.web.conftest import Seeded, bearer
from tests.unit.web.lifecycle_data import add_release, make_issue, query

BULK = "/api/0/projects/acme/backend/issues/"


def alice(seeded: Seeded) -> dict[str, str]:
    return bearer(seeded.tokens["alice"])


async def put(client: httpx.AsyncClient, seeded: Seeded, issue: int, body: Any) -> Any:
    response = await client.put(f"/api/0/issues/{issue}/", json=body, headers=alice(seeded))
    assert response.status_code == 200, response.text
    return response.json()


async def test_put_answers_status_details_and_assignee_like_sentry(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    issue, _ = await make_issue(seeded, "backend", ["u1"])
    await add_release(seeded, "backend", "1.0")
    body = await put(client, seeded, issue, {"status": "resolved",
                                             "statusDetails": {"inRelease": "1.0"}})
    assert (body["status"], body["statusDetails"]) == ("resolved", {"inRelease": "1.0"})
    body = await put(client, seeded, issue, {"status": "resolvedInNextRelease"})
    assert (body["status"], body["statusDetails"]) == ("resolved", {"inNextRelease": True})
    body = await put(client, seeded, issue, {"status": "ignored",
                                             "statusDetails": {"ignoreDuration": 30}})
    assert body["status"] == "ignored"
    assert body["statusDetails"]["ignoreDuration"] == 30 and body["statusDetails"]["ignoreUntil"]
    body = await put(client, seeded, issue, {"assignedTo": dataset.ALICE_EMAIL})
    assert body["assignedTo"]["email"] == dataset.ALICE_EMAIL
    assert body["assignedTo"]["type"] == "user"
    details = (await client.get(f"/api/0/issues/{issue}/", headers=alice(seeded))).json()
    assert details["assignedTo"]["email"] == dataset.ALICE_EMAIL
    assert details["statusDetails"]["ignoreDuration"] == 30
    assert [a["type"] for a in details["activity"]] == [
        "assigned", "set_ignored", "set_resolved_in_release", "set_resolved_in_release"]
    assert details["activity"][0]["user"]["email"] == dataset.ALICE_EMAIL
    body = await put(client, seeded, issue, {"assignedTo": None, "status": "unresolved"})
    assert (body["assignedTo"], body["status"], body["statusDetails"]) == (
        None, "unresolved", {})


@pytest.mark.parametrize("body", [
    {"status": "resolved", "statusDetails": {"inRelease": "no-such-release"}},
    {"status": "resolved", "statusDetails": {"ignoreCount": 5}},
    {"status": "ignored", "statusDetails": {"ignoreCount": -1}},
    {"status": "ignored", "statusDetails": {"ignoreUntil": "tomorrow"}},
    {"status": "ignored", "statusDetails": "soon"},
    {"assignedTo": "team:1"},
    {"assignedTo": "nobody@nowhere.test"},
    {"assignedTo": dataset.BOB_EMAIL},
    {"statusDetails": {"inNextRelease": True}},
])
async def test_invalid_updates_are_400_with_detail(
    client: httpx.AsyncClient, seeded: Seeded, body: Any
) -> None:
    issue, _ = await make_issue(seeded, "backend", ["u1"])
    response = await client.put(f"/api/0/issues/{issue}/", json=body, headers=alice(seeded))
    assert response.status_code == 400, response.text
    assert response.json()["detail"]
    rows = await query(seeded, "SELECT status, assignee_id FROM issues WHERE id = %s", issue)
    assert (rows[0]["status"], rows[0]["assignee_id"]) == ("unresolved", None)


async def test_bulk_merge_then_unmerge_keeps_counts_exact(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    big, _ = await make_issue(seeded, "backend", ["u1", "u2", "u3"])
    small, small_hash = await make_issue(seeded, "backend", ["u1"])
    response = await client.put(BULK, params=[("id", small), ("id", big)],
                                json={"merge": 1}, headers=alice(seeded))
    assert response.status_code == 200, response.text
    assert response.json() == {"merge": {"parent": str(big), "children": [str(small)]}}
    merged = (await client.get(f"/api/0/issues/{small}/", headers=alice(seeded))).json()
    assert (merged["id"], merged["count"], merged["userCount"]) == (str(big), "4", 3)
    hashes = (await client.get(f"/api/0/issues/{big}/hashes/", headers=alice(seeded))).json()
    assert small_hash in {item["id"] for item in hashes}
    response = await client.delete(f"/api/0/issues/{big}/hashes/",
                                   params={"id": small_hash}, headers=alice(seeded))
    assert response.status_code == 202, response.text
    new = int(response.json()["destination"])
    for issue, count, users in ((big, "3", 3), (new, "1", 1)):
        body = (await client.get(f"/api/0/issues/{issue}/", headers=alice(seeded))).json()
        assert (body["count"], body["userCount"]) == (count, users)
    activity = (await client.get(f"/api/0/issues/{big}/activities/",
                                 headers=alice(seeded))).json()["activity"]
    assert [a["type"] for a in activity] == ["unmerge_source", "merge"]


async def test_bulk_status_and_tenancy(client: httpx.AsyncClient, seeded: Seeded) -> None:
    one, _ = await make_issue(seeded, "backend", ["u1"])
    two, _ = await make_issue(seeded, "backend", ["u2"])
    theirs, _ = await make_issue(seeded, "shop", ["u9"])
    response = await client.put(BULK, params=[("id", one), ("id", two)],
                                json={"status": "ignored"}, headers=alice(seeded))
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    rows = await query(seeded, "SELECT status FROM issues WHERE id = ANY(%s)", [one, two])
    assert [r["status"] for r in rows] == ["ignored", "ignored"]
    for body in ({"status": "resolved"}, {"merge": 1}):
        response = await client.put(BULK, params=[("id", one), ("id", theirs)], json=body,
                                    headers=alice(seeded))
        assert response.status_code == 404, response.text
    assert (await client.put(BULK, json={"status": "resolved"},
                             headers=alice(seeded))).status_code == 400
    bob = bearer(seeded.tokens["bob"])
    calls: list[tuple[str, str, Any, dict[str, str]]] = [
        ("PUT", f"/api/0/issues/{one}/", {"status": "resolved"}, {}),
        ("GET", f"/api/0/issues/{one}/hashes/", None, {}),
        ("GET", f"/api/0/issues/{one}/activities/", None, {}),
        ("POST", f"/api/0/issues/{one}/comments/", {"text": "hi"}, {}),
        ("DELETE", f"/api/0/issues/{one}/hashes/", None, {"id": "x"}),
    ]
    for method, path, body, query_params in calls:
        response = await client.request(method, path, headers=bob, json=body,
                                        params=query_params)
        assert response.status_code == 404, (method, path)
    rows = await query(seeded, "SELECT status FROM issues WHERE id = ANY(%s)", [one, theirs])
    assert sorted(r["status"] for r in rows) == ["ignored", "unresolved"]


async def test_comments(client: httpx.AsyncClient, seeded: Seeded) -> None:
    issue, _ = await make_issue(seeded, "backend", ["u1"])
    path = f"/api/0/issues/{issue}/comments/"
    response = await client.post(path, json={"text": "on it"}, headers=alice(seeded))
    assert response.status_code == 201, response.text
    note = response.json()
    assert (note["type"], note["data"], note["user"]["email"]) == (
        "note", {"text": "on it"}, dataset.ALICE_EMAIL)
    bad_bodies: list[Any] = [{"text": ""}, {"text": 3}, {}, []]
    for bad in bad_bodies:
        response = await client.post(path, json=bad, headers=alice(seeded))
        assert response.status_code == 400 and response.json()["detail"]
    activity = (await client.get(f"/api/0/organizations/acme/issues/{issue}/activities/",
                                 headers=alice(seeded))).json()["activity"]
    assert [(a["type"], a["data"]) for a in activity] == [("note", {"text": "on it"})]
