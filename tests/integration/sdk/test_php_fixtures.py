"""sentry-php's envelopes, sent to a running Faultline as sentry-php's HTTP transport does.

No PHP SDK can be installed here, so the envelopes are the hand-built ones in
``tests/fixtures/sdk/php/`` (see its README for the sentry-php version they follow). Each
is sent with a fresh event id, the all-in-one's DSN in the envelope header, the key in
``X-Sentry-Auth`` and (for the Laravel ones) a gzip body, like sentry-php's transport;
its timestamps are moved to now and this run's id is put into the order ids, so the
issues can be found. Everything is then checked through the web API.
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.integration.allinone import ROOT, AllInOne
from tests.integration.sdk.conftest import find_issue, latest_event

FIXTURES = ROOT / "tests" / "fixtures" / "sdk" / "php"
LARAVEL = ("laravel_order_failed_1.envelope", "laravel_order_failed_2.envelope")
CLI = "cli_sync_failed.envelope"
CHROME_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
             "(KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36")


def _as_sent_now(name: str, dsn: str, run: str) -> bytes:
    """The fixture as sentry-php would send it now, with this run's id in its order ids."""
    header_line, item_header, payload = (FIXTURES / name).read_bytes().split(b"\n", 2)
    header = json.loads(header_line)
    header.update(event_id=uuid.uuid4().hex, dsn=dsn,
                  sent_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
    text = payload.decode().replace("ord-100", f"{run}-ord-100")
    text = text.replace("on null", f"on null in {run}")
    event = json.loads(text)
    shift = time.time() - event["timestamp"]
    event["timestamp"] += shift
    for crumb in event["breadcrumbs"]["values"]:
        crumb["timestamp"] += shift
    return b"\n".join([json.dumps(header).encode(), item_header, json.dumps(event).encode()])


def send_like_sentry_php(aio: AllInOne, body: bytes, sdk: str, compress: bool) -> None:
    dsn = urlsplit(aio.bootstrap["dsn"])
    headers = {
        "Content-Type": "application/x-sentry-envelope",
        "User-Agent": sdk,
        "X-Sentry-Auth": f"Sentry sentry_version=7, sentry_client={sdk}, "
                         f"sentry_key={dsn.username}",
    }
    if compress:
        headers["Content-Encoding"] = "gzip"
        body = gzip.compress(body)
    resp = httpx.post(f"{aio.url}/api{dsn.path}/envelope/", content=body, headers=headers,
                      timeout=30)
    assert resp.status_code == 200, resp.text


@pytest.fixture(scope="module")
def php_run(aio: AllInOne) -> str:
    """A run id whose Laravel failure was sent twice and whose CLI failure once."""
    run = f"php{uuid.uuid4().hex[:10]}"
    for name in LARAVEL:
        body = _as_sent_now(name, aio.bootstrap["dsn"], run)
        send_like_sentry_php(aio, body, "sentry.php.laravel/4.10.0", compress=True)
    send_like_sentry_php(aio, _as_sent_now(CLI, aio.bootstrap["dsn"], run),
                         "sentry.php/4.19.1", compress=False)
    return run


def _issue_ids(aio: AllInOne, text: str) -> list[str]:
    resp = aio.api("/api/0/projects/default/default/issues/", params={"limit": 100})
    resp.raise_for_status()
    return [issue["id"] for issue in resp.json() if text in issue["title"]]


def test_same_error_twice_is_one_issue_and_another_error_is_another(
        aio: AllInOne, php_run: str) -> None:
    laravel = find_issue(aio, f"order {php_run}-ord-100", count=2)
    cli = find_issue(aio, f"on null in {php_run}", count=1)
    assert laravel["id"] != cli["id"]
    assert laravel["title"].startswith(f"App\\Exceptions\\OrderFailedException: order {php_run}")
    assert cli["title"] == f'Error: Attempt to read property "available" on null in {php_run}'
    assert sorted(_issue_ids(aio, php_run)) == sorted([laravel["id"], cli["id"]])


def _laravel_event(aio: AllInOne, run: str) -> dict[str, Any]:
    issue = find_issue(aio, f"order {run}-ord-100", count=2)
    event = latest_event(aio, issue["id"])
    assert event["groupID"] == str(issue["id"])
    return event


def test_event_identity_chain_and_frames(aio: AllInOne, php_run: str) -> None:
    event = _laravel_event(aio, php_run)
    assert event["platform"] == "php" and event["level"] == "error"
    assert event["sdk"] == {"name": "sentry.php.laravel", "version": "4.10.0"}
    assert (event["release"], event["environment"]) == ("php-shop@5.2.0", "production")
    cause, outer = event["exception"]["values"]
    assert cause["type"] == "App\\Exceptions\\PaymentDeclinedException"
    assert outer["type"] == "App\\Exceptions\\OrderFailedException"
    assert outer["mechanism"] == {"type": "generic", "handled": False}
    crash = cause["stacktrace"]["frames"][-1]
    assert (crash["function"], crash["in_app"], crash["lineno"]) == (
        "App\\Services\\PaymentService::charge", True, 17)
    assert "throw new PaymentDeclinedException" in crash["context_line"]
    assert len(crash["pre_context"]) == 5 and len(crash["post_context"]) == 5
    vendor = [f for f in cause["stacktrace"]["frames"] if f["filename"].startswith("vendor/")]
    assert vendor and not any(f["in_app"] for f in vendor)


def test_request_user_contexts_tags_and_breadcrumbs(aio: AllInOne, php_run: str) -> None:
    event = _laravel_event(aio, php_run)
    request = event["request"]
    assert (request["method"], request["url"]) == ("POST", "https://shop.example/orders")
    assert request["query_string"] == [["coupon", "SPRING"], ["run", "golden"]]
    headers = dict(map(tuple, request["headers"]))
    assert headers["Accept"] == "application/json,text/plain"  # PSR-7 lists, joined
    assert headers["User-Agent"] == CHROME_UA
    assert request["cookies"] == [["laravel_session", "eyJpdiI6Ik"], ["theme", "dark"]]
    assert request["data"] == {"cart_id": 42, "items": [{"sku": "socks", "qty": 2}],
                               "gift": False}
    entry = next(e["data"] for e in event["entries"] if e["type"] == "request")
    assert entry["inferredContentType"] == "application/json"
    user = event["user"]
    assert (user["id"], user["email"], user["ip_address"]) == (
        "php-user-5", "ada@example.com", "203.0.113.50")
    contexts = event["contexts"]
    assert (contexts["runtime"]["name"], contexts["runtime"]["sapi"]) == ("php", "fpm-fcgi")
    assert contexts["os"]["name"] == "Linux" and contexts["browser"]["name"] == "Chrome"
    tags = {tag["key"]: tag["value"] for tag in event["tags"]}
    assert (tags["shop.region"], tags["payment.provider"]) == ("eu", "stripe")
    crumbs = event["breadcrumbs"]["values"]
    assert [c["category"] for c in crumbs] == ["log", "db.sql.query", "checkout"]
    assert crumbs[-1]["data"]["order"].startswith(f"{php_run}-ord-100")
