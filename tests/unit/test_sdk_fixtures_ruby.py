"""A golden envelope from the real sentry-ruby SDK (5.3.0, Debian's ruby-sentry-ruby)
parses and normalises into the event Sentry would show.

The fixture is re-captured by running ``tests/integration/sdk/test_ruby.py`` with
``FAULTLINE_UPDATE_SDK_FIXTURES=1`` (it is stored after undoing the SDK's gzip).
"""

from __future__ import annotations

import json

from faultline_core.event import NormalizedEvent
from faultline_core.grouping import compute_grouping
from tests.sdk_fixtures import frames, load_fixture_envelope, normalize_fixture_event

FIXTURE = "chained_error.envelope"
CLIENT_IP = "198.51.100.41"


def load() -> NormalizedEvent:
    envelope = load_fixture_envelope("ruby", FIXTURE)
    assert [item.type for item in envelope.items] == ["event"]
    return normalize_fixture_event(envelope, 9, CLIENT_IP)


def test_event_identity_and_scope() -> None:
    event = load()
    assert event.platform == "ruby" and event.level == "error"
    assert event.data["sdk"] == {"name": "sentry.ruby", "version": "5.3.0"}
    assert event.title == "Checkout::OrderFailed: ruby place order golden failed"
    assert event.culprit == "lib/checkout.rb in rescue in place"
    assert event.release == "ruby-shop@3.1.0" and event.environment == "ci"
    assert event.server_name == "ruby-worker-1"
    assert (event.user.id, event.user.email, event.user.username) == (
        "u-ruby-9", "rubyist@example.com", "ruby-fan")
    assert ("payment.provider", "ruby-pay") in event.tags
    assert ("shop.region", "eu") in event.tags
    assert ("runtime.name", "ruby3.1") in event.tags and ("os.name", "Linux") in event.tags
    contexts = event.data["contexts"]
    assert contexts["order"] == {"type": "order", "id": "ord-golden", "items": 3}
    assert contexts["runtime"]["version"].startswith("ruby 3.1.")
    assert len(event.data["extra"]["receipt"]) == 400


def test_breadcrumbs_with_null_level_and_type_get_sentry_defaults() -> None:
    crumbs = load().data["breadcrumbs"]["values"]
    # sentry-ruby sends "level": null and "type": null for a crumb that sets neither.
    assert crumbs[0]["category"] == "cart" and crumbs[0]["message"] == "cart loaded"
    assert (crumbs[0]["level"], crumbs[0]["type"]) == ("info", "default")
    assert crumbs[0]["data"] == {"items": 3}
    assert crumbs[1]["message"] == "charging card" and crumbs[1]["level"] == "info"


def test_cause_chain_and_frames() -> None:
    cause, outer = load().data["exception"]["values"]
    assert (cause["type"], cause["value"]) == ("Checkout::PaymentDeclined",
                                               "ruby card declined by issuer")
    assert (outer["type"], outer["value"]) == ("Checkout::OrderFailed",
                                               "ruby place order golden failed")
    assert cause["module"] == outer["module"] == "Checkout"
    crash = frames(cause)[-1]
    assert (crash["filename"], crash["function"], crash["in_app"]) == (
        "lib/checkout.rb", "charge_card", True)
    assert crash["context_line"].strip() == 'raise PaymentDeclined, "ruby card declined by issuer"'
    assert len(crash["pre_context"]) == 3 and len(crash["post_context"]) == 3
    stdlib = [f for f in frames(cause) if f["filename"] == "timeout.rb"]
    assert stdlib and not any(f["in_app"] for f in stdlib)
    assert stdlib[0]["abs_path"].endswith("/timeout.rb")
    rescue = frames(outer)[-1]
    assert (rescue["function"], rescue["in_app"]) == ("rescue in place", True)


def test_grouping_uses_in_app_frames_not_the_run_specific_message() -> None:
    event = load()
    grouping = compute_grouping(event.data)
    changed = json.loads(json.dumps(event.data))
    changed["exception"]["values"][1]["value"] = "ruby place order other-run failed"
    assert compute_grouping(changed).hashes[0] == grouping.hashes[0]
    assert not any("timeout.rb" in component for component in grouping.components)
