"""The ``security`` endpoint: browser CSP reports in, one converted event per violation on
the real embedded bus (PostgreSQL) out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from httpx import AsyncClient

from faultline_core.bus.embedded import EmbeddedConsumer
from faultline_core.normalize import normalize_event
from tests.unit.relay.conftest import Tenant
from tests.unit.relay.support import auth_header, compact, published

CLASSIC = {
    "csp-report": {
        "document-uri": "https://shop.example.com/checkout",
        "referrer": "",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "original-policy": "script-src 'self'; report-uri /api/1/security/",
        "disposition": "enforce",
        "blocked-uri": "https://evil.example.com/inject.js",
        "line-number": 12,
        "source-file": "https://shop.example.com/app.js",
        "status-code": 200,
    }
}
REPORTS = [
    {"type": "csp-violation", "age": 3, "url": "https://shop.example.com/",
     "body": {"documentURL": "https://shop.example.com/", "effectiveDirective": "img-src",
              "blockedURL": "https://pixel.example.net/p.gif", "disposition": "report"}},
    {"type": "csp-violation", "age": 3, "url": "https://shop.example.com/",
     "body": {"documentURL": "https://shop.example.com/", "effectiveDirective": "connect-src",
              "blockedURL": "wss://socket.example.org/feed", "disposition": "enforce"}},
]
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"


def _url(project_id: int) -> str:
    return f"/api/{project_id}/security/"


async def _post(client: AsyncClient, tenant: Tenant, body: bytes, content_type: str,
                **kwargs: Any) -> Any:
    headers = {"Content-Type": content_type, "User-Agent": BROWSER_UA}
    return await client.post(_url(tenant.project_id), content=body, headers=headers,
                             params={"sentry_key": tenant.key}, **kwargs)


async def test_classic_report_is_published_as_one_converted_event(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    response = await _post(client, tenant, compact(CLASSIC), "application/csp-report")

    assert response.status_code == 201, response.text
    assert response.content == b""
    [(key, message)] = await published(consumer)
    assert key == str(tenant.project_id).encode()
    assert message.project_id == tenant.project_id and message.item_type == "event"
    assert message.client_ip == "203.0.113.7"
    event = json.loads(message.payload)
    assert event["event_id"] == message.event_id
    assert event["logentry"]["formatted"] == "Blocked 'script' from 'evil.example.com'"
    assert event["logger"] == "csp" and event["level"] == "error"
    assert event["culprit"] == "script-src-elem"
    assert event["request"]["url"] == "https://shop.example.com/checkout"
    assert event["request"]["headers"]["User-Agent"] == BROWSER_UA
    assert event["fingerprint"] == ["csp", "script-src-elem", "evil.example.com"]
    assert event["csp"]["source_file"] == "https://shop.example.com/app.js"


async def test_converted_event_normalises_to_the_expected_issue_title(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    await _post(client, tenant, compact(CLASSIC), "application/csp-report")
    [(_, message)] = await published(consumer)

    normalized = normalize_event(message.project_id, message.event_id, message.payload,
                                 message.received_at, message.client_ip)

    assert normalized.title == "Blocked 'script' from 'evil.example.com'"
    assert normalized.culprit == "script-src-elem"
    assert ["effective-directive", "script-src-elem"] in normalized.data["tags"]
    assert normalized.data["csp"]["blocked_uri"].startswith("https://evil.example.com")
    assert normalized.data["errors"] == []


async def test_reporting_api_body_publishes_one_message_per_violation(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    response = await _post(client, tenant, compact(REPORTS), "application/reports+json")

    assert response.status_code == 201, response.text
    messages = [message for _, message in await published(consumer)]
    assert len(messages) == 2
    assert len({m.event_id for m in messages}) == 2
    titles = [json.loads(m.payload)["logentry"]["formatted"] for m in messages]
    assert titles == ["Blocked 'image' from 'pixel.example.net'",
                      "Blocked connection to 'socket.example.org'"]


async def test_key_in_the_auth_header_is_accepted_too(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    response = await client.post(_url(tenant.project_id), content=compact(CLASSIC),
                                 headers=auth_header(tenant.key))
    assert response.status_code == 201, response.text
    assert len(await published(consumer)) == 1


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"not json", "not valid JSON"),
        (compact({"csp-report": {"blocked-uri": "https://x/"}}), "document URI"),
        (compact({"something": "else"}), "expected"),
        (compact([{"type": "csp-violation", "body": "x"}]), "report 1"),
    ],
)
async def test_malformed_reports_are_refused_with_a_reason(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer, body: bytes, detail: str
) -> None:
    response = await _post(client, tenant, body, "application/csp-report")

    assert response.status_code == 400
    assert detail in response.json()["detail"]
    assert await published(consumer) == []


async def test_reports_without_csp_violations_are_accepted_and_dropped(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    deprecation = [{"type": "deprecation", "body": {"id": "x", "message": "old API"}}]
    response = await _post(client, tenant, compact(deprecation), "application/reports+json")
    assert response.status_code == 201
    assert await published(consumer) == []


@pytest.mark.parametrize(
    ("key_of", "status"),
    [(lambda t: "0" * 32, 401), (lambda t: t.inactive_key, 403), (lambda t: t.other_key, 403)],
)
async def test_wrong_keys_are_refused_as_for_store(
    client: AsyncClient, tenant: Tenant, consumer: EmbeddedConsumer, key_of: Any, status: int
) -> None:
    response = await client.post(_url(tenant.project_id), content=compact(CLASSIC),
                                 params={"sentry_key": key_of(tenant)})
    missing = await client.post(_url(tenant.project_id), content=compact(CLASSIC))

    assert response.status_code == status
    assert missing.status_code == 401
    assert await published(consumer) == []


async def test_browser_preflight_is_allowed(client: AsyncClient, tenant: Tenant) -> None:
    response = await client.options(_url(tenant.project_id))
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "*"
