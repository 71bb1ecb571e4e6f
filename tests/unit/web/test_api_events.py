"""The event endpoints: an issue's latest event and one event by id."""

from __future__ import annotations

import httpx

from tests.unit.web import dataset
from tests.unit.web.conftest import Seeded, bearer


async def test_latest_event_is_the_newest_full_event(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    spec = dataset.issue_spec("zero")
    newest = min(spec.events, key=lambda event: event.hours_ago)
    response = await client.get(f"/api/0/issues/{seeded.issue('zero')}/events/latest/",
                                headers=bearer(seeded.tokens["alice"]))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == body["eventID"] == newest.event_id
    assert body["groupID"] == str(seeded.issue("zero"))
    assert body["projectID"] == str(seeded.projects["backend"])
    assert body["dateCreated"].endswith("Z")
    frames = body["exception"]["values"][0]["stacktrace"]["frames"]
    assert frames[-1]["context_line"] == dataset.CHECKOUT_LINE
    assert body["request"]["url"] == dataset.CHECKOUT_URL
    assert body["user"]["id"] == newest.payload["user"]["id"]
    assert {"key": "region", "value": "eu-west"} in body["tags"]
    entries = {entry["type"]: entry["data"] for entry in body["entries"]}
    assert set(entries) == {"exception", "request", "breadcrumbs"}
    assert entries["exception"]["values"][0]["type"] == "ZeroDivisionError"
    assert entries["exception"]["hasSystemFrames"] is True
    assert entries["request"]["method"] == "POST"
    assert ["step", "2"] in entries["request"]["query"]
    assert entries["breadcrumbs"]["values"][0]["message"] == "GET /cart"


async def test_event_by_id_carries_its_group(client: httpx.AsyncClient, seeded: Seeded) -> None:
    spec = dataset.issue_spec("keyerror")
    event_id = spec.events[0].event_id
    dashed = f"{event_id[:8]}-{event_id[8:12]}-{event_id[12:16]}-{event_id[16:20]}-{event_id[20:]}"
    for requested in (event_id, dashed.upper()):
        response = await client.get(f"/api/0/projects/acme/backend/events/{requested}/",
                                    headers=bearer(seeded.tokens["alice"]))
        assert response.status_code == 200, requested
        body = response.json()
        assert body["eventID"] == event_id
        assert body["groupID"] == str(seeded.issue("keyerror"))
        assert body["exception"]["values"][0]["type"] == "KeyError"


async def test_unknown_or_malformed_event_ids_are_404(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    for event_id in ("0" * 32, "xyz", "a" * 31, "a" * 33):
        response = await client.get(f"/api/0/projects/acme/backend/events/{event_id}/",
                                    headers=bearer(seeded.tokens["alice"]))
        assert response.status_code == 404, event_id
