"""Where an issue was seen, per environment and per release: Sentry's firstRelease /
lastRelease and Faultline's environments / releases in the issue details JSON, and the
issue page's "Seen in" section."""

from __future__ import annotations

from datetime import timedelta

import httpx

from faultline_web.serializers import short_version
from tests.unit.web.conftest import Seeded, bearer
from tests.unit.web.lifecycle_data import BASE, make_issue, query
from tests.unit.web.test_ui import escaped, signed_in_as_alice

H = timedelta(hours=1)
SHA = "0123456789abcdef0123456789abcdef01234567"
HOSTILE_ENV = "<b>staging</b>"


async def _issue_seen_in(seeded: Seeded) -> int:
    """An issue with two environments and two releases, as the processor counts them."""
    issue, _ = await make_issue(seeded, "backend", ["u1", "u2", "u3", "u4", "u5"])
    for name, first, last, count in (("production", 1, 4, 3), (HOSTILE_ENV, 0, 2, 2)):
        await query(seeded, "INSERT INTO issue_environments (issue_id, environment,"
                            " first_seen, last_seen, times_seen) VALUES (%s, %s, %s, %s, %s)",
                    issue, name, BASE + first * H, BASE + last * H, count)
    for name, first, last, count in ((f"shop@{SHA}", 2, 4, 2), ("shop@1.0", 0, 3, 3)):
        await query(seeded, "INSERT INTO issue_releases (issue_id, release,"
                            " first_seen, last_seen, times_seen) VALUES (%s, %s, %s, %s, %s)",
                    issue, name, BASE + first * H, BASE + last * H, count)
    return issue


async def test_issue_details_carry_releases_and_environments(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    issue = await _issue_seen_in(seeded)
    response = await client.get(f"/api/0/issues/{issue}/",
                                headers=bearer(seeded.tokens["alice"]))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["firstRelease"] == {
        "version": "shop@1.0", "shortVersion": "1.0", "dateCreated": "2025-06-01T12:00:00Z",
        "firstEvent": "2025-06-01T12:00:00Z", "lastEvent": "2025-06-01T15:00:00Z",
    }
    assert body["lastRelease"] == {
        "version": f"shop@{SHA}", "shortVersion": SHA[:12],
        "dateCreated": "2025-06-01T14:00:00Z", "firstEvent": "2025-06-01T14:00:00Z",
        "lastEvent": "2025-06-01T16:00:00Z",
    }
    assert body["environments"] == [
        {"name": "production", "firstSeen": "2025-06-01T13:00:00Z",
         "lastSeen": "2025-06-01T16:00:00Z", "count": 3},
        {"name": HOSTILE_ENV, "firstSeen": "2025-06-01T12:00:00Z",
         "lastSeen": "2025-06-01T14:00:00Z", "count": 2},
    ]
    assert [(r["name"], r["count"]) for r in body["releases"]] == [
        ("shop@1.0", 3), (f"shop@{SHA}", 2)]


async def test_issue_never_seen_in_a_release_has_null_releases(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    issue, _ = await make_issue(seeded, "backend", ["u1"])
    response = await client.get(f"/api/0/issues/{issue}/",
                                headers=bearer(seeded.tokens["alice"]))
    body = response.json()
    assert (body["firstRelease"], body["lastRelease"]) == (None, None)
    assert (body["environments"], body["releases"]) == ([], [])


async def test_list_items_do_not_carry_them(client: httpx.AsyncClient, seeded: Seeded) -> None:
    await _issue_seen_in(seeded)
    response = await client.get("/api/0/projects/acme/backend/issues/",
                                headers=bearer(seeded.tokens["alice"]))
    assert response.status_code == 200
    assert all("firstRelease" not in item for item in response.json())


def test_short_version_follows_sentry() -> None:
    assert short_version("shop@1.2.3") == "1.2.3"
    assert short_version(SHA) == SHA[:12]
    assert short_version("1.0") == "1.0"
    assert short_version("@scope/pkg@2.0") == "2.0"


async def test_issue_page_shows_where_it_was_seen(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    issue = await _issue_seen_in(seeded)
    await signed_in_as_alice(client)
    page = await client.get(f"/acme/backend/issues/{issue}/")
    assert page.status_code == 200
    section = page.text[page.text.index("Seen in"):page.text.index('class="chart"')]
    assert HOSTILE_ENV not in page.text
    assert escaped(HOSTILE_ENV) in section
    assert section.index("production") < section.index(escaped(HOSTILE_ENV))
    assert section.index("shop@1.0") < section.index(f"shop@{SHA}")
    assert 'title="2025-06-01 16:00:00 UTC"' in section
    assert "<td>3</td>" in section and "<td>2</td>" in section
