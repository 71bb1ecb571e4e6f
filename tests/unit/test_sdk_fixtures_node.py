"""The envelopes @sentry/node (Express) really sends, as captured by
tests/integration/sdk/test_node_express.py, parse and normalise as Sentry would."""

from __future__ import annotations

import json
from pathlib import Path

from faultline_core.envelope import parse_envelope
from faultline_core.event import NormalizedEvent
from faultline_core.normalize import normalize_event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk" / "node"
CHROME_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
             "(KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36")


def _normalized_event() -> tuple[NormalizedEvent, str]:
    envelope = parse_envelope((FIXTURES / "express_exception.envelope").read_bytes())
    assert [item.type for item in envelope.items] == ["event"]
    assert envelope.event_id is not None
    payload = envelope.items[0].payload
    received = json.loads(payload)["timestamp"] + 0.5
    return normalize_event(7, envelope.event_id, payload, received, "10.1.1.1"), envelope.event_id


def test_express_event_envelope_headers() -> None:
    envelope = parse_envelope((FIXTURES / "express_exception.envelope").read_bytes())
    assert envelope.headers["sdk"] == {"name": "sentry.javascript.node", "version": "11.12.0"}
    assert envelope.headers["trace"]["transaction"] == "POST /checkout/:cartId"


def test_express_event_summary_fields() -> None:
    event, event_id = _normalized_event()
    assert event.errors == ()
    assert event.event_id == event_id
    assert event.platform == "node"
    assert (event.level, event.environment, event.release) == ("error", "staging",
                                                               "node-shop@2.0.1")
    assert event.server_name == "node-web-1"
    assert event.title == "NodeExpressCheckoutError: checkout failed (run golden)"
    assert event.culprit == "POST /checkout/:cartId"
    assert event.data["metadata"]["function"] == "checkout"
    assert event.data["metadata"]["filename"].endswith("/app.js")
    assert event.data["sdk"]["name"] == "sentry.javascript.node"
    assert "Express" in event.data["sdk"]["integrations"]


def test_express_event_keeps_the_cause_chain_and_in_app_frames() -> None:
    event, _ = _normalized_event()
    cause, error = event.data["exception"]["values"]
    assert cause["type"] == "TypeError"
    assert cause["value"] == "card gateway rejected amount 12.5 for cart cart-42"
    assert cause["mechanism"] == {"type": "chained", "handled": True, "source": "cause",
                                  "exception_id": 1, "parent_id": 0}
    assert error["mechanism"]["type"] == "auto.http.express"
    assert error["mechanism"]["handled"] is False
    frames = cause["stacktrace"]["frames"]
    in_app = [frame for frame in frames if frame["in_app"]]
    assert [frame["function"] for frame in in_app][-2:] == ["checkout", "chargeCard"]
    assert in_app[-1]["context_line"].strip().startswith("throw new TypeError")
    assert len(in_app[-1]["pre_context"]) == 5 and len(in_app[-1]["post_context"]) == 5
    library = [frame for frame in frames if "/node_modules/" in frame.get("filename", "")]
    assert library and all(frame["in_app"] is False for frame in library)


def test_express_event_request_user_and_tags() -> None:
    event, _ = _normalized_event()
    request = event.data["request"]
    assert request["method"] == "POST"
    assert request["url"].endswith("/checkout/cart-42")  # the query is split off
    assert request["query_string"] == [["coupon", "SPRING"], ["step", "2"]]
    assert ["User-Agent", CHROME_UA] in request["headers"]
    assert ["Cookie", "[Filtered]"] in request["headers"]  # the SDK filters the raw header
    assert request["cookies"] == [["theme", "dark"]]
    # @sentry/node sends the JSON body as a string; it is parsed as Sentry's Relay does.
    assert request["data"] == {"amount": 12.5, "items": ["socks", "hat"]}
    assert request["inferred_content_type"] == "application/json"
    assert (event.user.id, event.user.email) == ("node-user-7", "grace@example.com")
    assert event.user.ip_address == "127.0.0.1"  # sent by the SDK: sendDefaultPii
    tags = dict(event.tags)
    assert tags["checkout.step"] == "payment"
    assert tags["user"] == "id:node-user-7"
    assert (tags["handled"], tags["mechanism"]) == ("no", "auto.http.express")
    assert tags["browser.name"] == "Chrome" and tags["runtime.name"] == "node"
    assert tags["runtime"].startswith("node v")
    # @sentry/node reads /etc/debian_version with its trailing newline.
    assert tags["os"] == tags["os"].strip() and tags["os"].startswith(tags["os.name"])


def test_express_event_contexts_and_breadcrumbs() -> None:
    event, _ = _normalized_event()
    contexts = event.data["contexts"]
    assert contexts["runtime"]["name"] == "node"
    assert contexts["os"]["type"] == "os" and contexts["os"]["name"]
    assert contexts["browser"]["name"] == "Chrome"  # derived from the User-Agent
    assert ("runtime.name", "node") in event.contexts
    crumbs = event.data["breadcrumbs"]["values"]
    assert [crumb["category"] for crumb in crumbs] == ["console", "cart"]
    assert crumbs[0]["level"] == "info"  # the SDK's console level "log"
    assert crumbs[1]["message"] == "loaded cart cart-42"
    assert crumbs[1]["data"] == {"items": 2}


def test_sessions_envelope_parses() -> None:
    envelope = parse_envelope((FIXTURES / "sessions.envelope").read_bytes())
    assert envelope.event_id is None
    assert envelope.headers["sdk"]["name"] == "sentry.javascript.node"
    assert [item.type for item in envelope.items] == ["sessions"]
    sessions = json.loads(envelope.items[0].payload)
    assert sessions["attrs"] == {"release": "node-shop@2.0.1", "environment": "staging"}
    assert sum(sum(v for k, v in bucket.items() if k != "started")
               for bucket in sessions["aggregates"]) >= 1
