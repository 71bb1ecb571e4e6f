"""Grouping settings and explanations through the API and the issue page (issue 5):
Sentry's shapes, validation, who may change them, tenant isolation."""

from __future__ import annotations

import re
from typing import Any

import httpx
import psycopg
import pytest
from psycopg.rows import dict_row

from faultline_core.grouping import (
    GROUPING_CONFIGS,
    LATEST_GROUPING_CONFIG,
    compute_grouping,
    grouping_variants,
)
from faultline_core.normalize import normalize_event
from faultline_web.ui.grouping_view import grouping_view
from tests.unit.web import dataset
from tests.unit.web.conftest import Seeded, bearer
from tests.unit.web.tenants import member_token, new_project, transaction
from tests.unit.web.test_ui import escaped, signed_in_as_alice

RULES = "error.type:KeyError -> auth-failures\n"
HEX32 = re.compile(r"[0-9a-f]{32}")


async def _own_project(seeded: Seeded) -> str:
    """A project of its own in acme (these tests change its settings); its API URL."""
    async with transaction(seeded) as conn:
        _, slug = await new_project(conn, "acme", "grouping")
    return f"/api/0/projects/acme/{slug}/"


async def _stored(seeded: Seeded, url: str) -> dict[str, Any]:
    slug = url.rstrip("/").rsplit("/", 1)[1]
    connect = psycopg.AsyncConnection.connect(seeded.pg_dsn, row_factory=dict_row)
    async with await connect as conn:
        cur = await conn.execute(
            "SELECT grouping_config, fingerprinting_rules, grouping_enhancements, quota_per_hour"
            " FROM projects WHERE slug = %s", (slug,))
        row = await cur.fetchone()
    assert row is not None
    return dict(row)


async def test_grouping_configs_lists_the_registry(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    response = await client.get("/api/0/projects/acme/backend/grouping-configs/",
                                headers=bearer(seeded.tokens["alice"]))

    assert response.status_code == 200
    configs = response.json()
    assert [c["id"] for c in configs] == sorted(GROUPING_CONFIGS)
    assert [c["id"] for c in configs if c["latest"]] == [LATEST_GROUPING_CONFIG]
    assert all(c["changelog"] for c in configs)
    other = await client.get("/api/0/projects/globex/shop/grouping-configs/",
                             headers=bearer(seeded.tokens["alice"]))
    assert other.status_code == 404


async def test_project_grouping_settings_are_set_and_read(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    url, auth = await _own_project(seeded), bearer(seeded.tokens["alice"])

    before = await client.get(url, headers=auth)
    changed = await client.put(url, headers=auth, json={
        "groupingConfig": "v1", "fingerprintingRules": RULES,
        "groupingEnhancements": "module:shop.* +app\n"})
    partial = await client.put(url, headers=auth, json={"groupingEnhancements": None})

    assert before.status_code == 200
    assert (before.json()["groupingConfig"], before.json()["fingerprintingRules"]) == (
        LATEST_GROUPING_CONFIG, "")
    assert changed.status_code == 200, changed.text
    assert changed.json()["groupingConfig"] == "v1"
    assert changed.json()["fingerprintingRules"] == RULES
    assert "quotas" in changed.json()  # the rest of the project is still there
    assert partial.json()["groupingEnhancements"] == ""
    assert partial.json()["fingerprintingRules"] == RULES  # fields not sent stay
    assert await _stored(seeded, url) == {
        "grouping_config": "v1", "fingerprinting_rules": RULES,
        "grouping_enhancements": "", "quota_per_hour": None}


@pytest.mark.parametrize(("body", "detail"), [
    ({"groupingConfig": "v0"}, "groupingConfig must be one of"),
    ({"groupingConfig": None}, "groupingConfig must be one of"),
    ({"fingerprintingRules": 42}, "fingerprintingRules must be a string"),
    ({"fingerprintingRules": "x" * 70_000}, "at most"),
    ({"fingerprintingRules": RULES + "this is no rule\n"}, "fingerprintingRules: invalid "
                                                         "syntax on line 2"),
    ({"groupingEnhancements": "\n\nfunction:x +wat\n"}, "groupingEnhancements: invalid "
                                                         "syntax on line 3"),
])
async def test_invalid_grouping_settings_are_400_and_change_nothing(
    client: httpx.AsyncClient, seeded: Seeded, body: dict[str, Any], detail: str
) -> None:
    url = await _own_project(seeded)

    response = await client.put(url, headers=bearer(seeded.tokens["alice"]),
                                json={"quotas": {"perHour": 5}, **body})

    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert await _stored(seeded, url) == {
        "grouping_config": LATEST_GROUPING_CONFIG, "fingerprinting_rules": "",
        "grouping_enhancements": "", "quota_per_hour": None}


async def test_only_managers_change_grouping_settings(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    url = await _own_project(seeded)
    body = {"groupingConfig": "v1"}

    member = await client.put(url, json=body, headers=bearer(await member_token(seeded,
                                                                                 "member")))
    stranger = await client.put(url, json=body, headers=bearer(seeded.tokens["bob"]))
    anonymous = await client.put(url, json=body)
    unchanged = await _stored(seeded, url)
    admin = await client.put(url, json=body, headers=bearer(await member_token(seeded,
                                                                                "admin")))
    root = await client.put(url, json={"groupingConfig": "v2"},
                            headers=bearer(seeded.superuser_token))

    assert (member.status_code, stranger.status_code, anonymous.status_code) == (403, 404, 401)
    assert unchanged["grouping_config"] == LATEST_GROUPING_CONFIG
    assert admin.status_code == 200 and admin.json()["groupingConfig"] == "v1"
    assert root.status_code == 200 and root.json()["groupingConfig"] == "v2"


async def test_grouping_info_explains_a_stored_event(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    spec = dataset.issue_spec("keyerror")
    event = spec.events[0]
    issue_id = seeded.issue("keyerror")
    normalized = normalize_event(seeded.projects["backend"], event.event_id, event.payload,
                                 event.timestamp.timestamp(), "203.0.113.7")
    expected = compute_grouping(normalized.data, "v1")  # the seeded issue's config
    url = f"/api/0/projects/acme/backend/events/{event.event_id}/grouping-info/"
    auth = bearer(seeded.tokens["alice"])
    connect = psycopg.AsyncConnection.connect(seeded.pg_dsn, autocommit=True)
    async with await connect as conn:
        unmatched = await client.get(url, headers=auth)
        await conn.execute("INSERT INTO grouphashes (project_id, hash, issue_id)"
                           " VALUES (%s, %s, %s)",
                           (seeded.projects["backend"], expected.hashes[0], issue_id))
        try:
            matched = await client.get(url, headers=auth)
        finally:
            await conn.execute("DELETE FROM grouphashes WHERE issue_id = %s", (issue_id,))

    assert unmatched.status_code == 200, unmatched.text
    info = matched.json()
    expected_variants = grouping_variants(normalized.data, "v1")
    assert set(info) == set(expected_variants)
    for name, variant in info.items():
        assert {"type", "description", "hash", "hashMismatch", "contributes"} <= set(variant)
        assert variant["hash"] == expected_variants[name].hash
        assert variant["config"] == "v1"
        assert variant["component"]["values"] or not variant["contributes"]
    primary = [v for v in info.values() if v["hash"] == expected.hashes[0]]
    assert primary and all(v["matchedIssue"] for v in primary)
    assert not any(v["matchedIssue"] for v in unmatched.json().values())
    assert any(HEX32.fullmatch(v["hash"] or "") for v in info.values())


async def test_grouping_info_of_other_tenants_or_unknown_events_is_404(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    acme_event = dataset.issue_spec("keyerror").events[0].event_id
    globex_event = dataset.issue_spec("globex").events[0].event_id
    alice, bob = bearer(seeded.tokens["alice"]), bearer(seeded.tokens["bob"])
    path = "/api/0/projects/{}/events/{}/grouping-info/"

    for auth, project, event_id in (
        (bob, "acme/backend", acme_event),          # another tenant's project
        (alice, "globex/shop", globex_event),       # the same, the other way round
        (alice, "acme/backend", globex_event),      # another tenant's event in mine
        (alice, "acme/frontend", acme_event),       # another project's event
        (alice, "acme/backend", "0" * 32),
        (alice, "acme/backend", "not-an-id"),
    ):
        response = await client.get(path.format(project, event_id), headers=auth)
        assert response.status_code == 404, (project, event_id)


async def test_issue_page_explains_the_latest_events_grouping(
    client: httpx.AsyncClient, seeded: Seeded
) -> None:
    await signed_in_as_alice(client)
    issue_id = seeded.issue("hostile")
    connect = psycopg.AsyncConnection.connect(seeded.pg_dsn, autocommit=True)
    async with await connect as conn:
        # v2 explains non-contributing parts (the app variant's library frames) with hints.
        await conn.execute("UPDATE issues SET grouping_config = 'v2' WHERE id = %s",
                           (issue_id,))
        try:
            page = await client.get(f"/acme/backend/issues/{issue_id}/")
        finally:
            await conn.execute("UPDATE issues SET grouping_config = 'v1' WHERE id = %s",
                               (issue_id,))

    assert page.status_code == 200
    section = page.text[page.text.index('<details class="grouping">'):]
    section = section[:section.index("</details>\n")]
    assert "<h3>Grouping</h3>" in section and "config v2" in section
    assert "contributes: yes" in section
    assert escaped("XSSError") in section
    assert escaped(dataset.HOSTILE_IMG) in section  # component values are text, escaped
    assert dataset.HOSTILE_IMG not in page.text
    assert '<li class="muted">' in section  # something did not contribute: greyed
    assert '<small class="hint">' in section  # with the reason


def test_grouping_view_nests_components_and_greys_what_does_not_count() -> None:
    info = {
        "custom": {"type": "custom-fingerprint", "hash": "b" * 32, "contributes": True,
                   "values": ["checkout", "{{ default }}"]},
        "system": {"type": "component", "hash": None, "contributes": False,
                   "component": {"id": "system", "contributes": True, "values": ["x"]}},
        "app": {
            "type": "component", "description": "in-app frames", "hash": "a" * 32,
            "contributes": True, "matchedIssue": True, "config": "v2",
            "component": {"id": "app", "contributes": True, "values": [
                {"id": "frame", "contributes": False, "hint": "non app frame",
                 "values": [{"id": "function", "contributes": True, "values": ["run"]}]},
                {"id": "type", "contributes": True, "values": ["KeyError"]},
                42,
            ]},
        },
    }

    view = grouping_view(info)

    assert view.config == "v2"
    app, custom, system = view.variants  # contributing (and matched) first
    [fingerprint] = custom.nodes
    assert [n.label for n in fingerprint.children] == ["checkout", "{{ default }}"]
    assert (app.name, app.hash, app.matched, system.contributes) == ("app", "a" * 32, True,
                                                                     False)
    [root] = app.nodes
    frame, type_, number = root.children
    assert (frame.contributes, frame.hint) == (False, "non app frame")
    assert frame.children[0].children[0].contributes is False  # inherits from the frame
    assert (type_.children[0].label, type_.children[0].contributes) == ("KeyError", True)
    assert number.label == "42"
    assert system.nodes[0].contributes is False  # the variant does not contribute


def test_grouping_view_bounds_hostile_trees() -> None:
    deep: dict[str, Any] = {"id": "leaf", "values": ["x"]}
    for _ in range(100):
        deep = {"id": "level", "values": [deep]}
    wide = {"id": "wide", "values": [str(n) for n in range(10_000)]}
    info = {"deep": {"contributes": True, "component": deep},
            "wide": {"contributes": True, "component": wide}}

    view = grouping_view(info)

    def depth(nodes: list[Any]) -> int:
        return 1 + max((depth(n.children) for n in nodes), default=0)

    deep_view = next(v for v in view.variants if v.name == "deep")
    wide_view = next(v for v in view.variants if v.name == "wide")
    assert depth(deep_view.nodes) <= 14
    assert len(wide_view.nodes[0].children) <= 2_000
