"""The UI's lifecycle forms: status buttons with details, comments, bulk actions; all
CSRF-checked form posts without scripts."""

from __future__ import annotations

import httpx

from tests.unit.web.conftest import Seeded
from tests.unit.web.lifecycle_data import add_release, make_issue, query
from tests.unit.web.test_ui import CSRF, signed_in_as_alice


async def _csrf(client: httpx.AsyncClient, path: str) -> tuple[str, str]:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    match = CSRF.search(page.text)
    assert match is not None
    return page.text, match.group(1)


async def test_status_buttons_with_details_and_comments(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    await signed_in_as_alice(client)
    issue, _ = await make_issue(seeded, "backend", ["u1"])
    await add_release(seeded, "backend", "1.0")
    page, token = await _csrf(client, f"/acme/backend/issues/{issue}/")
    for label in ("Resolve in next release", "Ignore for 30 minutes",
                  "Ignore until 100 more events", "Activity"):
        assert label in page
    assert "<script" not in page
    action = f"/acme/backend/issues/{issue}/status/"
    expected = {"resolved_next_release": ("resolved", True, None),
                "ignored_100": ("ignored", False, 101), "unresolved": ("unresolved", False, None)}
    for value, state in expected.items():
        response = await client.post(action, data={"status": value, "csrf_token": token})
        assert response.status_code == 303, response.text
        row = (await query(seeded, "SELECT status, resolved_in_next_release,"
                                   " ignore_until_times_seen FROM issues WHERE id = %s",
                           issue))[0]
        assert tuple(row.values()) == state
    bad = await client.post(action, data={"status": "deleted", "csrf_token": token})
    assert bad.status_code == 400
    comments = f"/acme/backend/issues/{issue}/comments/"
    forged = await client.post(comments, data={"text": "nope", "csrf_token": "0" * 64})
    assert forged.status_code == 403
    done = await client.post(comments, data={"text": "<b>looking</b>", "csrf_token": token})
    assert done.status_code == 303
    page, _ = await _csrf(client, f"/acme/backend/issues/{issue}/")
    assert "&lt;b&gt;looking&lt;/b&gt;" in page and "set unresolved" in page


async def test_bulk_form_resolves_and_merges(client: httpx.AsyncClient, seeded: Seeded) -> None:
    await signed_in_as_alice(client)
    one, _ = await make_issue(seeded, "backend", ["u1", "u2"])
    two, _ = await make_issue(seeded, "backend", ["u3"])
    page, token = await _csrf(client, "/acme/backend/issues/")
    assert 'id="bulk-form"' in page and 'form="bulk-form"' in page
    action = "/acme/backend/issues/bulk/"
    forged = await client.post(action, data={"action": "resolved", "id": [one, two],
                                             "csrf_token": "0" * 64})
    assert forged.status_code == 403
    resolved = await client.post(action, data={"action": "resolved", "id": [one, two],
                                               "csrf_token": token})
    assert resolved.status_code == 303
    rows = await query(seeded, "SELECT status FROM issues WHERE id = ANY(%s)", [one, two])
    assert [r["status"] for r in rows] == ["resolved", "resolved"]
    merged = await client.post(action, data={"action": "merge", "id": [one, two],
                                             "csrf_token": token})
    assert merged.status_code == 303
    rows = await query(seeded, "SELECT id, times_seen FROM issues WHERE id = ANY(%s)",
                       [one, two])
    assert [(r["id"], r["times_seen"]) for r in rows] == [(one, 3)]
    lonely = await client.post(action, data={"action": "merge", "id": [one],
                                             "csrf_token": token})
    assert lonely.status_code == 400
