"""Hand-built sentry-php / sentry-laravel envelopes (see tests/fixtures/sdk/php/README.md)
parse, normalise and group the way Sentry would."""

from __future__ import annotations

from faultline_core.event import NormalizedEvent
from faultline_core.grouping import compute_grouping
from tests.sdk_fixtures import exceptions, frames, load_fixture_envelope, normalize_fixture_event

CLIENT_IP = "198.51.100.43"
CHROME_UA = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 "
             "(KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36")
LARAVEL = ("laravel_order_failed_1.envelope", "laravel_order_failed_2.envelope")


def load(name: str) -> NormalizedEvent:
    envelope = load_fixture_envelope("php", name)
    assert [item.type for item in envelope.items] == ["event"]
    return normalize_fixture_event(envelope, 11, CLIENT_IP)


def test_envelope_header_carries_the_event_id_the_payload_lacks() -> None:
    envelope = load_fixture_envelope("php", LARAVEL[0])
    assert envelope.event_id == "9f3c1a2b4d5e6f708192a3b4c5d6e7f8"
    assert envelope.headers["sdk"]["name"] == "sentry.php.laravel"
    event = load(LARAVEL[0])
    assert event.event_id == envelope.event_id


def test_laravel_event_identity() -> None:
    event = load(LARAVEL[0])
    assert event.platform == "php" and event.level == "error"
    assert event.data["sdk"] == {"name": "sentry.php.laravel", "version": "4.10.0"}
    assert event.title == ("App\\Exceptions\\OrderFailedException: "
                           "order ord-1001 could not be placed")
    assert event.culprit == "/orders"
    assert (event.release, event.environment, event.server_name) == (
        "php-shop@5.2.0", "production", "php-web-1")
    assert event.data["modules"]["sentry/sentry"] == "4.19.1"


def test_chain_mechanism_and_frames() -> None:
    cause, outer = exceptions(load(LARAVEL[0]))
    assert cause["type"] == "App\\Exceptions\\PaymentDeclinedException"
    assert outer["type"] == "App\\Exceptions\\OrderFailedException"
    assert cause["mechanism"] == outer["mechanism"] == {"type": "generic", "handled": False}
    crash = frames(cause)[-1]
    assert (crash["filename"], crash["function"], crash["lineno"], crash["in_app"]) == (
        "app/Services/PaymentService.php", "App\\Services\\PaymentService::charge", 17, True)
    assert crash["abs_path"] == "/var/www/shop/app/Services/PaymentService.php"
    assert "throw new PaymentDeclinedException" in crash["context_line"]
    assert len(crash["pre_context"]) == 5 and len(crash["post_context"]) == 5
    entry = frames(cause)[0]
    assert entry["filename"] == "public/index.php" and "function" not in entry
    vendor = [f for f in frames(cause) if f["filename"].startswith("vendor/")]
    assert vendor and not any(f["in_app"] for f in vendor)
    assert frames(outer)[-1]["function"] == "App\\Http\\Controllers\\OrderController::store"


def test_request_from_psr7_headers_cookies_and_decoded_body() -> None:
    event = load(LARAVEL[0])
    request = event.data["request"]
    assert request["method"] == "POST"
    assert request["url"] == "https://shop.example/orders"  # the query is split off
    assert request["query_string"] == [["coupon", "SPRING"], ["run", "golden"]]
    headers = dict(request["headers"])
    # PSR-7 sends every header as a list of values; Relay joins them with ",".
    assert headers["Accept"] == "application/json,text/plain"
    assert headers["User-Agent"] == CHROME_UA
    assert request["cookies"] == [["laravel_session", "eyJpdiI6Ik"], ["theme", "dark"]]
    assert request["data"] == {"cart_id": 42, "items": [{"sku": "socks", "qty": 2}],
                               "gift": False}
    assert request["inferred_content_type"] == "application/json"
    assert request["env"] == {"REMOTE_ADDR": "203.0.113.50"}


def test_user_contexts_tags_and_breadcrumbs() -> None:
    event = load(LARAVEL[0])
    assert (event.user.id, event.user.email, event.user.username, event.user.ip_address) == (
        "php-user-5", "ada@example.com", "ada", "203.0.113.50")
    assert "segment" not in event.data["user"]  # sentry-php's explicit null is dropped
    contexts = event.data["contexts"]
    assert contexts["runtime"] == {"type": "runtime", "name": "php", "sapi": "fpm-fcgi",
                                   "version": "8.3.13"}
    assert contexts["os"]["name"] == "Linux"
    assert contexts["browser"]["name"] == "Chrome"  # from the request's User-Agent
    assert contexts["trace"]["trace_id"] == "4f2a1b0c9d8e7f6a5b4c3d2e1f0a9b8c"
    tags = dict(event.tags)
    assert (tags["shop.region"], tags["payment.provider"]) == ("eu", "stripe")
    assert (tags["runtime.name"], tags["browser.name"]) == ("php", "Chrome")
    crumbs = event.data["breadcrumbs"]["values"]
    assert [c["category"] for c in crumbs] == ["log", "db.sql.query", "checkout"]
    assert crumbs[2]["data"] == {"order": "ord-1001"}


def test_cli_event_without_request() -> None:
    event = load("cli_sync_failed.envelope")
    assert event.data["sdk"]["name"] == "sentry.php"
    assert event.title == 'Error: Attempt to read property "available" on null'
    assert "request" not in event.data
    (error,) = exceptions(event)
    assert error["mechanism"] == {"type": "generic", "handled": True, "data": {"code": 0}}
    assert event.data["contexts"]["runtime"]["sapi"] == "cli"


def test_same_error_twice_groups_together_and_a_different_error_apart() -> None:
    first, second = (compute_grouping(load(name).data) for name in LARAVEL)
    other = compute_grouping(load("cli_sync_failed.envelope").data)
    assert first.hashes == second.hashes
    assert other.hashes[0] != first.hashes[0]
    # The in-app frames decide: vendor (Laravel) frames are not part of the hash.
    assert any("PaymentService::charge" in component for component in first.components)
    assert not any("Illuminate" in component for component in first.components)
