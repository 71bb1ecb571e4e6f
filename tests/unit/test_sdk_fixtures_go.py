"""Golden envelopes from the real sentry-go SDK (plain capture and the net/http
middleware) parse and normalise into the events Sentry would show.

The fixtures are re-captured by running ``tests/integration/sdk/test_go.py`` with
``FAULTLINE_UPDATE_SDK_FIXTURES=1``.
"""

from __future__ import annotations

from faultline_core.event import NormalizedEvent
from faultline_core.grouping import compute_grouping
from tests.sdk_fixtures import exceptions, frames, load_fixture_envelope, normalize_fixture_event

CLIENT_IP = "198.51.100.40"


def load(name: str) -> NormalizedEvent:
    envelope = load_fixture_envelope("go", name)
    # A client report about dropped transactions rides along with whichever envelope is next.
    assert {item.type for item in envelope.items} <= {"event", "client_report"}
    return normalize_fixture_event(envelope, 9, CLIENT_IP)


def assert_go_scope(event: NormalizedEvent) -> None:
    """What the program set on the global scope, and what sentry-go always adds."""
    assert event.platform == "go" and event.data["sdk"]["version"] == "0.50.0"
    assert event.release == "go-shop@2.0.0" and event.environment == "ci"
    assert event.server_name == "go-web-1"
    assert event.user.id == "u-go-7" and event.user.email == "gopher@example.com"
    assert ("payment.provider", "acme-pay") in event.tags
    assert ("runtime.name", "go") in event.tags and ("os.name", "linux") in event.tags
    assert event.data["contexts"]["runtime"]["version"].startswith("go1.")
    assert event.data["breadcrumbs"]["values"][0]["message"] == "cart loaded"


def test_captured_wrapped_error_keeps_the_unwrap_chain() -> None:
    event = load("captured_error.envelope")

    assert_go_scope(event)
    assert event.data["sdk"]["name"] == "sentry.go" and event.level == "error"
    assert event.title == ("*fmt.wrapError: go place order golden: charge card for order "
                           "ord-golden: card declined by issuer")
    assert event.culprit == "main in main"
    cause, middle, outer = exceptions(event)
    assert (cause["type"], cause["value"]) == ("*errors.errorString", "card declined by issuer")
    assert cause["mechanism"]["parent_id"] == 1 and middle["mechanism"]["parent_id"] == 0
    assert outer["mechanism"] == {"type": "generic", "exception_id": 0}
    (frame,) = frames(outer)
    assert frame["function"] == "main" and frame["module"] == "main"
    assert frame["in_app"] is True and frame["filename"].endswith("go_app/main.go")
    assert "request" not in event.data


def test_http_panic_carries_the_request_and_the_handler_stack() -> None:
    event = load("http_panic.envelope")

    assert_go_scope(event)
    assert event.data["sdk"]["name"] == "sentry.go.http" and event.level == "fatal"
    assert event.title == "*main.StockError: go out of stock golden for sku sku-42"
    assert event.culprit == "main in reserveStock"
    (panic,) = exceptions(event)
    stack = frames(panic)
    assert [f["function"] for f in stack[-2:]] == [
        "serveOnePanickingRequest.checkoutHandler.func2", "reserveStock"]
    assert all(f["in_app"] for f in stack[-2:])
    assert stack[0]["module"] == "net/http" and stack[0]["in_app"] is False
    request = event.data["request"]
    assert request["method"] == "POST" and request["url"].endswith("/checkout")
    assert request["query_string"] == [["qty", "3"], ["sku", "sku-42"]]
    headers = dict(request["headers"])
    assert headers["X-Request-Id"] == "req-golden"
    assert headers["Content-Type"] == "application/json"
    # sentry-go sends the JSON body as a string; it is parsed as Sentry's Relay does.
    assert request["data"] == {"cart_id": 42, "coupon": "WELCOME"}
    assert request["inferred_content_type"] == "application/json"
    # With SendDefaultPII the middleware reports the peer address, which becomes the user's.
    assert request["env"]["REMOTE_ADDR"] == "127.0.0.1"
    assert event.user.ip_address == "127.0.0.1"
    assert [c["message"] for c in event.data["breadcrumbs"]["values"]] == [
        "cart loaded", "reserving stock"]


def test_the_captured_error_and_the_panic_group_apart() -> None:
    error, panic = load("captured_error.envelope"), load("http_panic.envelope")
    assert compute_grouping(error.data).hashes[0] != compute_grouping(panic.data).hashes[0]
