"""The envelope sentry-java 8 really sends (gzipped, as captured on the wire) is understood.

Fixture written by tests/integration/sdk/test_java.py with FAULTLINE_UPDATE_SDK_FIXTURES=1.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from faultline_core.compression import decompress
from faultline_core.envelope import Envelope, parse_envelope
from faultline_core.event import NormalizedEvent
from faultline_core.normalize import normalize_event

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sdk" / "java"


@pytest.fixture(scope="module")
def request_info() -> dict[str, Any]:
    info: dict[str, Any] = json.loads((FIXTURES / "exception.request.json").read_text())
    return info


@pytest.fixture(scope="module")
def envelope(request_info: dict[str, Any]) -> Envelope:
    raw = (FIXTURES / "exception.envelope.gz").read_bytes()
    body = decompress(raw, request_info["headers"]["content-encoding"], 10 * 1024 * 1024)
    return parse_envelope(body)


@pytest.fixture(scope="module")
def event(envelope: Envelope) -> NormalizedEvent:
    assert envelope.event_id is not None
    # Received just after the SDK sent it, as the relay would stamp it.
    received_at = datetime.fromisoformat(envelope.headers["sent_at"]).timestamp() + 0.5
    item = envelope.items[0]
    return normalize_event(42, envelope.event_id, item.payload, received_at, "203.0.113.9")


def test_the_sdk_gzips_an_envelope_with_one_event(request_info: dict[str, Any],
                                                  envelope: Envelope) -> None:
    assert request_info["path"] == "/api/42/envelope/"
    assert request_info["headers"]["content-encoding"] == "gzip"
    assert request_info["headers"]["user-agent"].startswith("sentry.java/")
    assert [item.type for item in envelope.items] == ["event"]
    assert envelope.headers["sdk"]["name"] == "sentry.java"
    assert envelope.headers["trace"]["public_key"] == "0123456789abcdef0123456789abcdef"


def test_event_identity_title_and_culprit(envelope: Envelope, event: NormalizedEvent) -> None:
    assert event.event_id == envelope.event_id
    assert event.platform == "java" and event.level == "error"
    assert event.data["sdk"]["name"] == "sentry.java"
    assert event.data["sdk"]["version"] == envelope.headers["sdk"]["version"]
    assert event.title == "IllegalStateException: java-sdk checkout failed for order 42 golden"
    assert event.culprit == "dev.faultline.sdkapp.App$CheckoutService in placeOrder"
    assert (event.release, event.environment, event.server_name) == (
        "faultline-java-app@1.0.0", "sdk-matrix", "java-app-1")
    assert event.errors == ()


def test_chained_exceptions_stay_root_cause_first(event: NormalizedEvent) -> None:
    values = event.data["exception"]["values"]
    assert [(v["module"], v["type"]) for v in values] == [
        ("java.net", "SocketTimeoutException"), ("java.io", "IOException"),
        ("java.lang", "IllegalStateException")]
    assert [v["value"] for v in values] == [
        "java-sdk inventory read timed out golden",
        "java-sdk inventory service unreachable golden",
        "java-sdk checkout failed for order 42 golden"]
    assert [(v["mechanism"]["exception_id"], v["mechanism"].get("parent_id"))
            for v in values] == [(2, 1), (1, 0), (0, None)]
    assert event.tag("mechanism") == "chained"


def test_frames_keep_in_app_only_for_the_included_package(event: NormalizedEvent) -> None:
    frames = event.data["exception"]["values"][0]["stacktrace"]["frames"]
    assert [(f["module"], f["function"], f.get("in_app")) for f in frames] == [
        ("dev.faultline.sdkapp.App", "main", True),
        ("java.util.Optional", "ifPresent", None),
        ("dev.faultline.sdkapp.App$CheckoutService", "placeOrder", True),
        ("dev.faultline.sdkapp.App$CheckoutService", "reserveStock", True),
        ("dev.faultline.sdkapp.App$CheckoutService", "readInventory", True)]
    assert all(isinstance(f["lineno"], int) and f["lineno"] > 0 for f in frames)
    assert frames[-1]["filename"] == "App.java"


def test_user_tags_contexts_and_breadcrumbs(event: NormalizedEvent) -> None:
    assert (event.user.id, event.user.email, event.user.username) == (
        "java-user-7", "grace@example.com", "grace")
    assert event.tag("user") == "id:java-user-7"
    assert event.tag("sdk_matrix") == "java" and event.tag("checkout.step") == "payment"
    contexts = dict(event.contexts)
    assert contexts["runtime.name"] and contexts["runtime.version"].startswith("17")
    assert event.tag("runtime.name") == contexts["runtime.name"]
    crumbs = event.data["breadcrumbs"]["values"]
    assert [(c["category"], c["message"], c["level"]) for c in crumbs] == [
        ("ui.click", "cart opened", "info"),
        ("inventory", "reserving stock for order 42", "info")]
    assert crumbs[0]["data"] == {"cart_id": "c-42"}
