"""A golden envelope from sentry-rails (5.3.0, Debian's ruby-sentry-rails, Rails 6.1 on
Puma) parses and normalises into the event Sentry would show.

The fixture is re-captured by running ``tests/integration/sdk/test_rails.py`` with
``FAULTLINE_UPDATE_SDK_FIXTURES=1`` (it is stored after undoing the SDK's gzip).
"""

from __future__ import annotations

import json

from faultline_core.event import NormalizedEvent
from faultline_core.grouping import compute_grouping
from tests.sdk_fixtures import exceptions, frames, load_fixture_envelope, normalize_fixture_event

CLIENT_IP = "198.51.100.42"
CHROME_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
             "(KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36")


def load() -> NormalizedEvent:
    envelope = load_fixture_envelope("rails", "checkout_error.envelope")
    assert [item.type for item in envelope.items] == ["event"]
    assert envelope.headers["sdk"] == {"name": "sentry.ruby", "version": "5.3.0"}
    return normalize_fixture_event(envelope, 9, CLIENT_IP)


def test_event_identity() -> None:
    event = load()
    assert event.platform == "ruby" and event.level == "error"
    assert event.data["sdk"] == {"name": "sentry.ruby.rails", "version": "5.3.0"}
    assert event.title == "OrdersController::OrderFailed: rails checkout of order ord-golden failed"
    assert event.culprit == "OrdersController#checkout"  # the transaction wins
    assert event.release == "rails-shop@6.1.0" and event.environment == "ci"
    assert event.server_name == "rails-web-1"
    assert event.data["modules"]["railties"].startswith("6.1.")


def test_request_headers_cookies_and_parsed_json_body() -> None:
    request = load().data["request"]
    assert request["method"] == "POST"
    assert request["url"].endswith("/orders/ord-golden/checkout")
    assert request["query_string"] == [["coupon", "SPRING"], ["step", "2"]]
    headers = dict(request["headers"])
    assert headers["User-Agent"] == CHROME_UA and headers["X-Request-Id"] == "req-ord-golden"
    assert request["cookies"] == [["theme", "dark"]]
    # sentry-ruby sends the raw body text; Relay-style normalisation parses it.
    assert request["data"] == {"amount": 12.5, "items": ["socks", "hat"]}
    assert request["inferred_content_type"] == "application/json"
    assert request["env"]["REMOTE_ADDR"] == "127.0.0.1"


def test_user_tags_contexts_and_breadcrumbs() -> None:
    event = load()
    assert (event.user.id, event.user.email, event.user.username) == (
        "rails-user-3", "ada@example.com", "ada")
    assert event.user.ip_address == "127.0.0.1"  # sent by the SDK: send_default_pii
    tags = dict(event.tags)
    assert (tags["checkout.step"], tags["shop.region"]) == ("payment", "eu")
    assert tags["request_id"] == "req-ord-golden" and tags["browser.name"] == "Chrome"
    assert tags["runtime.name"] == "ruby3.1" and tags["os.name"] == "Linux"
    contexts = event.data["contexts"]
    assert contexts["runtime"]["version"].startswith("ruby 3.1.")
    assert contexts["browser"]["name"] == "Chrome"
    crumbs = event.data["breadcrumbs"]["values"]
    assert [c["category"] for c in crumbs] == [
        "start_processing.action_controller", "cart", "payment",
        "process_action.action_controller"]
    # Rails' crumbs come with "level": null and "type": null: Sentry's defaults apply.
    assert (crumbs[0]["level"], crumbs[0]["type"]) == ("info", "default")
    assert crumbs[0]["data"]["controller"] == "OrdersController"
    assert crumbs[2]["message"] == "charging 12.5 for order ord-golden"
    assert crumbs[2]["data"] == {"amount": 12.5}


def test_cause_chain_frames_and_source_context() -> None:
    cause, outer = exceptions(load())
    assert (cause["type"], cause["module"]) == ("PaymentGateway::CardDeclined", "PaymentGateway")
    assert outer["type"] == "OrdersController::OrderFailed"
    crash = frames(cause)[-1]
    assert (crash["filename"], crash["function"], crash["lineno"], crash["in_app"]) == (
        "lib/payment_gateway.rb", "charge", 10, True)
    assert "raise CardDeclined" in crash["context_line"]
    assert len(crash["pre_context"]) == 3
    # The file ends two lines after the raise: the SDK pads post_context with null.
    assert crash["post_context"] == ["  end\n", "end\n"]
    in_app = [(f["filename"], f["function"]) for f in frames(outer) if f["in_app"]]
    assert in_app == [("app/controllers/orders_controller.rb", "checkout"),
                      ("app/controllers/orders_controller.rb", "rescue in checkout")]
    assert not any(f["in_app"] for f in frames(outer) if f["filename"].startswith("puma "))


def test_grouping_follows_the_in_app_frames() -> None:
    event = load()
    grouping = compute_grouping(event.data)
    other_order = json.loads(json.dumps(event.data))
    other_order["exception"]["values"][1]["value"] = "rails checkout of order ord-9 failed"
    assert compute_grouping(other_order).hashes[0] == grouping.hashes[0]
    moved = json.loads(json.dumps(event.data))
    frames(moved["exception"]["values"][0])[-1]["function"] = "refund"
    assert compute_grouping(moved).hashes[0] != grouping.hashes[0]
