"""Event normalisation: real SDK payloads, protocol variants and lenient error recording."""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sentry_sdk
from sentry_sdk.envelope import Envelope as SdkEnvelope
from sentry_sdk.transport import Transport

from faultline_core.envelope import parse_envelope
from faultline_core.event import NormalizedEvent
from faultline_core.normalize import InvalidEvent, normalize_event

PAYLOADS = Path(__file__).parent.parent / "fixtures" / "payloads"
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"
RECEIVED = 1_700_000_000.0  # 2023-11-14T22:13:20Z
CHROME_UA = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.109 Safari/537.36"
)


def norm(payload: dict[str, Any], client_ip: str | None = "198.51.100.4") -> NormalizedEvent:
    event = normalize_event(7, EVENT_ID, json.dumps(payload).encode(), RECEIVED, client_ip)
    # Whatever came in, `data` must be storable as UTF-8 JSON.
    json.dumps(event.data, allow_nan=False).encode("utf-8")
    return event


def error_names(event: NormalizedEvent) -> set[tuple[str, str]]:
    return {(e["type"], e["name"]) for e in event.errors}


def exception(*frames: object, **fields: Any) -> dict[str, Any]:
    return {"values": [{**fields, "stacktrace": {"frames": list(frames)}}]}


def load_fixture(name: str) -> tuple[str, bytes, float]:
    envelope = parse_envelope((PAYLOADS / name).read_bytes())
    payload = envelope.items[0].payload
    sent = datetime.fromisoformat(json.loads(payload)["timestamp"]).timestamp()
    assert envelope.event_id is not None
    return envelope.event_id, payload, sent + 0.5


# --- Real SDK payloads -------------------------------------------------------------


def test_real_sentry_python_fastapi_exception() -> None:
    event_id, payload, received = load_fixture("sentry_python_fastapi_exception.envelope")

    event = normalize_event(3, event_id, payload, received, "10.1.1.1")

    assert event.errors == ()
    assert event.event_id == event_id
    assert event.timestamp == datetime.fromtimestamp(received - 0.5, UTC)
    assert event.platform == "python"
    assert (event.level, event.environment, event.release) == ("error", "staging", "shop@1.4.2")
    assert event.title == "KeyError: 17"
    assert event.culprit == "/orders/{order_id}"  # the transaction wins
    assert event.data["metadata"] == {
        "type": "KeyError",
        "value": "17",
        "filename": "capture_sentry_python.py",
        "function": "load_order",
    }
    assert event.user.id == "42" and event.user.email == "bob@example.com"
    assert event.user.ip_address == "203.0.113.7"  # from request.env.REMOTE_ADDR
    request = event.data["request"]
    assert request["url"] == "http://testserver/orders/17"
    assert request["query_string"] == [["expand", "items"], ["page", "2"]]
    assert ["User-Agent", CHROME_UA] in request["headers"]
    tags = dict(event.tags)
    assert tags["browser"] == "Chrome 120.0.6099"
    assert tags["browser.name"] == "Chrome"
    assert tags["os"] == "Windows 10"
    assert tags["os.name"] == "Windows"
    assert tags["url"] == "http://testserver/orders/17"
    assert tags["user"] == "id:42"
    assert tags["handled"] == "no"
    assert tags["mechanism"] == "starlette"
    assert tags["transaction"] == "/orders/{order_id}"
    assert event.data["tags"] == [list(pair) for pair in event.tags]
    assert ("browser.name", "Chrome") in event.contexts


def test_real_sentry_python_logging_message() -> None:
    event_id, payload, received = load_fixture("sentry_python_logging_message.envelope")

    event = normalize_event(3, event_id, payload, received, None)

    assert event.errors == ()
    assert event.title == "Payment of 12.50 EUR failed for order 17"
    assert event.message == "Payment of 12.50 EUR failed for order 17"
    assert event.data["logentry"]["message"] == "Payment of %s EUR failed for order %d"
    assert event.data["type"] == "default"
    assert event.logger == "shop.orders"
    assert event.tag("logger") == "shop.orders"
    assert "exception" not in event.data


class _CapturingTransport(Transport):
    envelopes: list[bytes] = []

    def capture_envelope(self, envelope: SdkEnvelope) -> None:
        buffer = io.BytesIO()
        envelope.serialize_into(buffer)
        self.envelopes.append(buffer.getvalue())


def _failing_helper(items: dict[str, int]) -> int:
    return items["missing"]


def test_payload_from_the_installed_sdk_version() -> None:
    """Whatever sentry-sdk version is installed, its payload normalises cleanly."""
    _CapturingTransport.envelopes = []
    client = sentry_sdk.Client(
        dsn="http://key@127.0.0.1:9/1",
        transport=_CapturingTransport,
        default_integrations=False,
        auto_enabling_integrations=False,
        release="live@1",
    )
    try:
        _failing_helper({})
    except KeyError as exc:
        with sentry_sdk.isolation_scope() as scope:
            scope.set_client(client)
            scope.set_user({"id": 5})
            scope.set_tag("feature", "checkout")
            sentry_sdk.capture_exception(exc)
    client.close()
    envelope = parse_envelope(_CapturingTransport.envelopes[0])
    assert envelope.event_id is not None

    event = normalize_event(1, envelope.event_id, envelope.items[0].payload, time.time(), "::1")

    assert event.errors == ()
    assert event.title == "KeyError: 'missing'"
    assert event.data["metadata"]["function"] == "_failing_helper"
    assert event.user.key == "id:5"
    assert event.tag("feature") == "checkout"
    assert event.release == "live@1"


# --- Basic fields -------------------------------------------------------------------


def test_defaults_for_an_empty_event() -> None:
    event = norm({})

    assert event.errors == ()
    assert event.timestamp == datetime.fromtimestamp(RECEIVED, UTC)
    assert (event.level, event.environment, event.platform) == ("error", "production", "other")
    assert event.title == "<unlabeled event>"
    assert event.culprit == ""
    assert event.data["event_id"] == EVENT_ID
    assert event.data["timestamp"] == event.data["received"] == "2023-11-14T22:13:20.000000Z"


def test_event_id_argument_is_normalised_and_wins() -> None:
    event = normalize_event(
        1, "9EC79C33-EC99-42AB-8353-589FCB2E04DC", b'{"event_id":"0"}', RECEIVED, None
    )

    assert event.event_id == EVENT_ID
    assert event.data["event_id"] == EVENT_ID


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-11-14T22:00:00Z", 1_699_999_200.0),
        ("2023-11-14T23:00:00+01:00", 1_699_999_200.0),
        ("2023-11-14T22:00:00.123456789Z", 1_699_999_200.123456),
        ("2023-11-14 22:00:00", 1_699_999_200.0),
        (1_699_999_200.5, 1_699_999_200.5),
        (1_699_999_200, 1_699_999_200.0),
        ("1699999200.25", 1_699_999_200.25),
    ],
)
def test_timestamp_formats(value: object, expected: float) -> None:
    event = norm({"timestamp": value})

    assert event.errors == ()
    assert event.timestamp.timestamp() == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("value", ["yesterday", "", True, [1], {"a": 1}, -5, "9" * 80])
def test_malformed_timestamp_falls_back_to_received(value: object) -> None:
    event = norm({"timestamp": value})

    assert event.timestamp.timestamp() == RECEIVED
    assert error_names(event) == {("invalid_data", "timestamp")}


def test_future_and_past_timestamps_are_clamped_like_sentry() -> None:
    slightly_ahead = norm({"timestamp": RECEIVED + 59})
    too_far_ahead = norm({"timestamp": RECEIVED + 61})
    old_but_fine = norm({"timestamp": RECEIVED - 29 * 86400})
    too_old = norm({"timestamp": RECEIVED - 31 * 86400})

    assert slightly_ahead.timestamp.timestamp() == RECEIVED + 59
    assert too_far_ahead.timestamp.timestamp() == RECEIVED
    assert error_names(too_far_ahead) == {("future_timestamp", "timestamp")}
    assert old_but_fine.timestamp.timestamp() == RECEIVED - 29 * 86400
    assert too_old.timestamp.timestamp() == RECEIVED
    assert error_names(too_old) == {("past_timestamp", "timestamp")}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("warning", "warning"),
        ("warn", "warning"),
        ("WARN", "warning"),
        ("critical", "fatal"),
        ("fatal", "fatal"),
        ("info", "info"),
        ("debug", "debug"),
        (30, "warning"),
        (None, "error"),
    ],
)
def test_levels(value: object, expected: str) -> None:
    event = norm({"level": value})

    assert event.level == expected
    assert event.errors == ()
    assert event.tag("level") == expected


@pytest.mark.parametrize("value", ["bogus", 7, {"x": 1}])
def test_unknown_level_becomes_error_and_is_recorded(value: object) -> None:
    event = norm({"level": value})

    assert event.level == "error"
    assert error_names(event) == {("invalid_data", "level")}


def test_strings_are_kept_and_containers_recorded() -> None:
    event = norm(
        {
            "release": 12,
            "environment": "",
            "server_name": {"bad": True},
            "dist": "  x86 ",
            "platform": "javascript",
        }
    )

    assert event.release == "12"
    assert event.environment == "production"
    assert event.server_name == ""
    assert event.dist == "x86"
    assert event.platform == "javascript"
    assert error_names(event) == {("invalid_data", "server_name")}


# --- Tags ---------------------------------------------------------------------------


def test_tags_as_dict_and_as_pairs_agree() -> None:
    as_dict = norm({"tags": {"region": "eu", "shard": 3}})
    as_pairs = norm({"tags": [["region", "eu"], ["shard", 3]]})

    assert as_dict.tags == as_pairs.tags
    assert as_dict.tag("region") == "eu"
    assert as_dict.tag("shard") == "3"


def test_tag_keys_and_values_are_truncated_to_200() -> None:
    event = norm({"tags": {"k" * 300: "v" * 300}})

    ((key, value),) = [(k, v) for k, v in event.tags if k.startswith("k")]
    assert len(key) == 200 and len(value) == 200


def test_malformed_tags_are_dropped_and_recorded() -> None:
    event = norm({"tags": [["ok", "yes"], ["only-key"], "junk", [5, "x"], ["none", None]]})

    assert event.tag("ok") == "yes"
    assert event.tag("none") == ""
    assert error_names(event) == {
        ("invalid_data", "tags.1"),
        ("invalid_data", "tags.2"),
        ("invalid_data", "tags"),
    }


def test_tags_that_are_not_a_map_or_list_are_recorded() -> None:
    assert error_names(norm({"tags": "a=b"})) == {("invalid_data", "tags")}


def test_promoted_tags_override_sdk_tags_of_the_same_name() -> None:
    event = norm({"level": "info", "tags": {"level": "fatal", "custom": "x"}})

    assert event.tag("level") == "info"
    assert event.tag("custom") == "x"
    assert [k for k, _ in event.tags] == sorted(k for k, _ in event.tags)


# --- Exceptions ---------------------------------------------------------------------


def test_exception_as_bare_list_and_values_agree() -> None:
    value = {"type": "ValueError", "value": "bad input"}

    bare = norm({"exception": [value]})
    wrapped = norm({"exception": {"values": [value]}})
    single = norm({"exception": value})

    assert bare.data["exception"] == wrapped.data["exception"] == single.data["exception"]
    assert bare.data["exception"] == {"values": [{"type": "ValueError", "value": "bad input"}]}
    assert bare.title == "ValueError: bad input"
    assert bare.data["type"] == "error"


def test_malformed_exception_values_are_dropped_and_recorded() -> None:
    event = norm({"exception": {"values": [{"type": "A"}, "junk", {}, {"type": ["x"]}]}})

    assert [v["type"] for v in event.data["exception"]["values"]] == ["A"]
    assert error_names(event) == {
        ("invalid_data", "exception.values.1"),
        ("invalid_data", "exception.values.2"),
        ("invalid_data", "exception.values.3.type"),
        ("invalid_data", "exception.values.3"),
    }


def test_exception_that_is_not_a_list_is_recorded() -> None:
    event = norm({"exception": "boom"})

    assert "exception" not in event.data
    assert error_names(event) == {("invalid_data", "exception")}


def test_js_style_type_with_embedded_value_is_split() -> None:
    event = norm({"exception": [{"type": "TypeError: x is undefined"}]})

    assert event.data["exception"]["values"][0]["type"] == "TypeError"
    assert event.data["exception"]["values"][0]["value"] == "x is undefined"


def test_non_string_exception_value_is_rendered_as_json() -> None:
    event = norm({"exception": [{"type": "E", "value": {"code": 5}}]})

    assert event.data["exception"]["values"][0]["value"] == '{"code": 5}'


def test_malformed_frame_fields_are_dropped_and_recorded() -> None:
    frames = [
        {"function": "ok", "lineno": "abc", "in_app": "yes", "vars": [1]},
        "not a frame",
        {"function": "g", "lineno": 12.0, "colno": 3, "in_app": True, "pre_context": "x"},
    ]

    event = norm({"exception": exception(*frames, type="E")})

    out = event.data["exception"]["values"][0]["stacktrace"]["frames"]
    assert out == [{"function": "ok"}, {"function": "g", "lineno": 12, "colno": 3, "in_app": True}]
    path = "exception.values.0.stacktrace.frames"
    assert error_names(event) == {
        ("invalid_data", f"{path}.0.lineno"),
        ("invalid_data", f"{path}.0.in_app"),
        ("invalid_data", f"{path}.0.vars"),
        ("invalid_data", f"{path}.1"),
        ("invalid_data", f"{path}.2.pre_context"),
    }


def test_filename_falls_back_to_abs_path() -> None:
    event = norm({"exception": exception({"abs_path": "/srv/app.py", "function": "f"})})

    frame = event.data["exception"]["values"][0]["stacktrace"]["frames"][0]
    assert frame["filename"] == "/srv/app.py"


def test_huge_stacktraces_keep_both_ends() -> None:
    frames = [{"function": f"f{i}"} for i in range(1000)]

    event = norm({"exception": exception(*frames, type="RecursionError")})

    stacktrace = event.data["exception"]["values"][0]["stacktrace"]
    assert len(stacktrace["frames"]) == 250
    assert stacktrace["frames"][0]["function"] == "f0"
    assert stacktrace["frames"][-1]["function"] == "f999"
    assert stacktrace["frames_omitted"] == [125, 875]


def test_mechanism_tags() -> None:
    handled = norm({"exception": [{"type": "E", "mechanism": {"type": "celery", "handled": True}}]})
    unhandled = norm({"exception": [{"type": "E", "mechanism": {"handled": False}}]})
    unknown = norm({"exception": [{"type": "E", "mechanism": {"type": "x", "handled": "?"}}]})

    assert (handled.tag("handled"), handled.tag("mechanism")) == ("yes", "celery")
    assert (unhandled.tag("handled"), unhandled.tag("mechanism")) == ("no", "generic")
    assert unknown.tag("handled") == ""
    assert error_names(unknown) == {("invalid_data", "exception.values.0.mechanism.handled")}


# --- Title, culprit, message -------------------------------------------------------


def test_title_uses_the_last_exception_and_first_line_of_its_value() -> None:
    event = norm(
        {
            "exception": [
                {"type": "KeyError", "value": "'a'"},
                {"type": "RuntimeError", "value": "\n  wrapped failure\nsecond line"},
            ]
        }
    )

    assert event.title == "RuntimeError: wrapped failure"
    assert event.message == "RuntimeError: \n  wrapped failure\nsecond line"


def test_title_without_value_and_truncation() -> None:
    assert norm({"exception": [{"type": "Boom", "stacktrace": None}]}).title == "Boom"
    long_title = norm({"exception": [{"type": "E", "value": "x" * 1000}]}).title
    assert len(long_title) == 200 and long_title.endswith("...")


def test_culprit_from_last_in_app_frame_else_last_frame() -> None:
    frames = [
        {"module": "app.views", "function": "index", "in_app": True},
        {"module": "app.db", "function": "query", "in_app": True},
        {"module": "psycopg", "function": "execute", "in_app": False},
    ]
    in_app = norm({"exception": exception(*frames, type="E")})
    system_only = norm({"exception": exception(frames[2], {"filename": "lib.js"}, type="E")})
    js = norm({"exception": exception({"filename": "app.js", "function": "onClick"}, type="E")})

    assert in_app.culprit == "app.db in query"
    assert system_only.culprit == "lib.js"
    assert js.culprit == "app.js in onClick"
    assert norm({"transaction": "/checkout", "exception": exception(*frames)}).culprit == (
        "/checkout"
    )
    assert norm({"message": "x", "request": {"url": "https://a.example/p?q=1"}}).culprit == (
        "https://a.example/p"
    )


def test_message_as_plain_string() -> None:
    event = norm({"message": "Something\nhappened"})

    assert event.data["logentry"] == {"formatted": "Something\nhappened"}
    assert event.title == "Something"


@pytest.mark.parametrize(
    ("logentry", "formatted"),
    [
        ({"message": "User %s failed %d times", "params": ["bob", 3]}, "User bob failed 3 times"),
        ({"message": "User {} failed {} times", "params": ["bob", 3]}, "User bob failed 3 times"),
        ({"message": "User {1} / {0}", "params": ["a", "b"]}, "User b / a"),
        ({"message": "User %(name)s", "params": {"name": "bob"}}, "User bob"),
        ({"message": "User {name}", "params": {"name": "bob"}}, "User bob"),
        ({"message": "Only %s of %s", "params": ["one"]}, "Only one of %s"),
        ({"message": "100%% sure %s", "params": ["yes"]}, "100% sure yes"),
        ({"message": "Width %99999999s", "params": ["x"]}, "Width %99999999s"),
        ({"message": "Attr {0.__class__}", "params": ["x"]}, "Attr {0.__class__}"),
        ({"message": "No params %s"}, "No params %s"),
        ({"message": "t", "formatted": "given"}, "given"),
        ("plain logentry", "plain logentry"),
    ],
)
def test_logentry_formatting(logentry: object, formatted: str) -> None:
    event = norm({"logentry": logentry})

    assert event.data["logentry"]["formatted"] == formatted
    assert event.errors == ()


def test_logentry_wins_over_legacy_message() -> None:
    event = norm({"message": "legacy", "logentry": {"formatted": "new", "message": "tpl"}})

    assert event.data["logentry"] == {"formatted": "new", "message": "tpl"}


def test_legacy_message_string_is_the_formatted_text_of_a_template_logentry() -> None:
    # What raven-era SDKs sent: `message` formatted, the interface holding the template.
    event = norm({"message": "Got 5 items", "logentry": {"message": "Got %s items", "params": []}})

    assert event.data["logentry"] == {"formatted": "Got 5 items", "message": "Got %s items"}


def test_malformed_logentry_is_recorded() -> None:
    event = norm({"logentry": 42, "message": ["x"]})

    assert "logentry" not in event.data
    assert error_names(event) == {("invalid_data", "logentry"), ("invalid_data", "message")}


# --- Request, user, contexts ---------------------------------------------------------


@pytest.mark.parametrize(
    "query", ["a=1&b=x%20y", "?a=1&b=x%20y", {"a": "1", "b": "x y"}, [["a", "1"], ["b", "x y"]]]
)
def test_query_string_shapes(query: object) -> None:
    event = norm({"request": {"url": "https://x.example/p", "query_string": query}})

    assert event.data["request"]["query_string"] == [["a", "1"], ["b", "x y"]]


def test_query_and_fragment_split_out_of_the_url() -> None:
    event = norm({"request": {"url": "https://x.example/p?a=1#top"}})

    assert event.data["request"]["url"] == "https://x.example/p"
    assert event.data["request"]["query_string"] == [["a", "1"]]
    assert event.data["request"]["fragment"] == "top"
    assert event.tag("url") == "https://x.example/p"


@pytest.mark.parametrize(
    "cookies", ["a=1; b=two", {"a": "1", "b": "two"}, [["a", "1"], ["b", "two"]]]
)
def test_cookie_shapes(cookies: object) -> None:
    event = norm({"request": {"cookies": cookies}})

    assert event.data["request"]["cookies"] == [["a", "1"], ["b", "two"]]


def test_headers_become_title_cased_pairs_and_cookie_header_is_parsed() -> None:
    headers = {"content-type": "a/b", "cookie": "s=1"}

    event = norm({"request": {"method": "post", "headers": headers}})

    request = event.data["request"]
    assert request["method"] == "POST"
    assert request["headers"] == [["Content-Type", "a/b"], ["Cookie", "s=1"]]
    assert request["cookies"] == [["s", "1"]]


def test_malformed_request_parts_are_recorded() -> None:
    event = norm({"request": {"headers": [["ok", "1"], "bad"], "env": "x", "url": 5}})

    assert event.data["request"]["headers"] == [["Ok", "1"]]
    assert error_names(event) == {
        ("invalid_data", "request.headers.1"),
        ("invalid_data", "request.env"),
    }
    assert error_names(norm({"request": "GET /"})) == {("invalid_data", "request")}


def test_user_auto_ip_and_key() -> None:
    auto = norm({"user": {"id": 42, "ip_address": "{{auto}}", "plan": "pro"}}, "203.0.113.9")
    no_client = norm({"user": {"ip_address": "{{auto}}"}}, None)
    email_only = norm({"user": {"email": "a@b.example"}})

    assert auto.user.id == "42"
    assert auto.user.ip_address == "203.0.113.9"
    assert auto.user.key == "id:42"
    assert auto.tag("user") == "id:42"
    assert auto.data["user"]["data"] == {"plan": "pro"}
    assert no_client.user.ip_address == ""
    assert email_only.tag("user") == "email:a@b.example"


def test_invalid_user_parts_are_recorded() -> None:
    bad_ip = norm({"user": {"id": "1", "ip_address": "not-an-ip"}})
    not_a_dict = norm({"user": "bob"})

    assert bad_ip.user.ip_address == ""
    assert error_names(bad_ip) == {("invalid_data", "user.ip_address")}
    assert error_names(not_a_dict) == {("invalid_data", "user")}


def test_browser_and_os_contexts_derived_from_user_agent() -> None:
    event = norm({"request": {"headers": [["User-Agent", CHROME_UA]]}})

    assert event.data["contexts"]["browser"] == {
        "type": "browser",
        "name": "Chrome",
        "version": "120.0.6099",
    }
    assert event.data["contexts"]["os"] == {"type": "os", "name": "Windows", "version": "10"}
    assert (event.tag("browser"), event.tag("os")) == ("Chrome 120.0.6099", "Windows 10")


def test_sdk_contexts_are_not_overwritten_by_the_user_agent() -> None:
    event = norm(
        {
            "contexts": {"os": {"name": "Linux", "version": "6.1"}, "browser": {"name": "X"}},
            "request": {"headers": {"user-agent": CHROME_UA}},
        }
    )

    assert event.data["contexts"]["browser"] == {"type": "browser", "name": "X"}
    assert event.data["contexts"]["os"] == {"type": "os", "name": "Linux", "version": "6.1"}
    assert event.data["contexts"]["client_os"]["name"] == "Windows"
    assert event.tag("os") == "Linux 6.1"
    assert ("os.version", "6.1") in event.contexts


def test_runtime_tags_and_malformed_contexts() -> None:
    event = norm({"contexts": {"runtime": {"name": "CPython", "version": "3.11.7"}, "bad": 5}})

    assert (event.tag("runtime"), event.tag("runtime.name")) == ("CPython 3.11.7", "CPython")
    assert error_names(event) == {("invalid_data", "contexts.bad")}
    assert error_names(norm({"contexts": []})) == {("invalid_data", "contexts")}


# --- Breadcrumbs, fingerprint, sdk, misc ------------------------------------------------


def test_breadcrumbs_as_list_or_values() -> None:
    crumbs = [{"timestamp": RECEIVED - 5, "message": "clicked", "level": "warn"}]

    as_list = norm({"breadcrumbs": crumbs})
    as_values = norm({"breadcrumbs": {"values": crumbs}})

    assert as_list.data["breadcrumbs"] == as_values.data["breadcrumbs"]
    assert as_list.data["breadcrumbs"]["values"] == [
        {
            "timestamp": "2023-11-14T22:13:15.000000Z",
            "type": "default",
            "message": "clicked",
            "level": "warning",
        }
    ]


def test_malformed_breadcrumbs_are_recorded_and_only_the_last_100_kept() -> None:
    crumbs: list[object] = [{"message": f"m{i}"} for i in range(150)]
    crumbs[149] = "junk"
    crumbs[148] = {"message": "bad time", "timestamp": "never"}

    event = norm({"breadcrumbs": crumbs})

    values = event.data["breadcrumbs"]["values"]
    assert len(values) == 99
    assert values[0]["message"] == "m50"
    assert "timestamp" not in values[-1]
    assert error_names(event) == {
        ("invalid_data", "breadcrumbs.values.149"),
        ("invalid_data", "breadcrumbs.values.148.timestamp"),
    }


def test_fingerprint_is_a_list_of_strings() -> None:
    event = norm({"fingerprint": ["{{ default }}", 42, 1.5, True, {"x": 1}]})

    assert event.data["fingerprint"] == ["{{ default }}", "42", "1.5", "true"]
    assert error_names(event) == {("invalid_data", "fingerprint.4")}
    assert norm({"fingerprint": "single"}).data["fingerprint"] == ["single"]


def test_sdk_extra_modules() -> None:
    event = norm(
        {
            "sdk": {"name": "sentry.javascript.browser", "version": "7.0", "integrations": ["a"]},
            "extra": {"k": [1, 2]},
            "modules": {"django": "4.2", "weird": 3},
        }
    )

    assert event.data["sdk"]["name"] == "sentry.javascript.browser"
    assert event.data["extra"] == {"k": [1, 2]}
    assert event.data["modules"] == {"django": "4.2", "weird": "3"}
    assert error_names(norm({"sdk": "x", "extra": [1]})) == {
        ("invalid_data", "sdk"),
        ("invalid_data", "extra"),
    }


def test_error_values_are_short() -> None:
    event = norm({"user": {"ip_address": "x" * 5000}, "request": {"env": ["y"] * 5000}})

    assert all(len(str(error["value"])) <= 200 for error in event.errors)


# --- Payload decoding ------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload", [b"", b"not json", b"[1, 2]", b"null", b'"text"', b"[" * 100_000]
)
def test_non_object_payloads_are_invalid(payload: bytes) -> None:
    with pytest.raises(InvalidEvent):
        normalize_event(1, EVENT_ID, payload, RECEIVED, None)


def test_invalid_event_id_is_invalid() -> None:
    with pytest.raises(InvalidEvent, match="event id"):
        normalize_event(1, "nope", b"{}", RECEIVED, None)


@pytest.mark.parametrize("received_at", [float("nan"), float("inf"), -1.0, 1e20])
def test_implausible_received_at_is_invalid(received_at: float) -> None:
    with pytest.raises(InvalidEvent, match="received_at"):
        normalize_event(1, EVENT_ID, b"{}", received_at, None)


def test_nan_and_infinity_become_null() -> None:
    payload = b'{"extra": {"a": NaN, "b": -Infinity, "c": 1e999, "d": 1.5}}'

    event = normalize_event(1, EVENT_ID, payload, RECEIVED, None)

    assert event.data["extra"] == {"a": None, "b": None, "c": None, "d": 1.5}


def test_frame_positions_outside_uint32_are_dropped() -> None:
    event = norm({"exception": exception({"function": "f", "lineno": -1, "colno": 2**40})})

    assert event.data["exception"]["values"][0]["stacktrace"]["frames"] == [{"function": "f"}]
    path = "exception.values.0.stacktrace.frames.0"
    assert error_names(event) == {
        ("invalid_data", f"{path}.lineno"),
        ("invalid_data", f"{path}.colno"),
    }


def test_invalid_utf8_and_lone_surrogates_are_replaced() -> None:
    payload = (
        b'{"message": "bad \xff byte", '
        b'"extra": {"s": "\\ud800 lone", "ok": "\\ud83d\\ude00"}}'
    )

    event = normalize_event(1, EVENT_ID, payload, RECEIVED, None)

    assert event.title == "bad \ufffd byte"
    assert event.data["extra"]["ok"] == "\U0001f600"
    json.dumps(event.data, ensure_ascii=False).encode("utf-8")


def test_dict_payload_is_accepted() -> None:
    event = normalize_event(1, EVENT_ID, {"message": "hi"}, RECEIVED, None)

    assert event.title == "hi"


def test_redelivery_gives_the_same_event() -> None:
    payload = json.dumps({"message": "x", "user": {"ip_address": "{{auto}}"}}).encode()

    first = normalize_event(1, EVENT_ID, payload, RECEIVED, "192.0.2.1")
    second = normalize_event(1, EVENT_ID, payload, RECEIVED, "192.0.2.1")

    assert first == second


def test_normalisation_is_fast_enough_for_a_busy_processor() -> None:
    event_id, payload, received = load_fixture("sentry_python_fastapi_exception.envelope")
    started = time.perf_counter()
    for _ in range(100):
        normalize_event(1, event_id, payload, received, None)

    # ~0.5 ms per 46 KB event here; 10x headroom for slow CI machines.
    assert time.perf_counter() - started < 0.5
