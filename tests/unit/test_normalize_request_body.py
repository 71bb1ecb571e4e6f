"""A request body sent as text is parsed into data the way Sentry's Relay does."""

from __future__ import annotations

import json
from typing import Any

import pytest

from faultline_core.normalize import normalize_event
from faultline_core.normalize_body import MAX_BODY_DEPTH, MAX_PARSED_BODY, parse_body


def request_of(data: object, content_type: str | None = None) -> dict[str, Any]:
    """The stored request of an event whose SDK sent ``data`` (and the header)."""
    request: dict[str, Any] = {"method": "POST", "url": "https://shop.example/cart",
                               "data": data}
    if content_type is not None:
        request["headers"] = {"Content-Type": content_type}
    payload = json.dumps({"message": "body", "request": request}).encode()
    event = normalize_event(1, "a" * 32, payload, 1_700_000_000.0, None)
    assert event.errors == ()
    found: dict[str, Any] = event.data["request"]
    # The stored event must survive re-encoding (ClickHouse stores it as JSON text).
    json.dumps(event.data, ensure_ascii=False).encode("utf-8")
    return found


def test_json_object_body_is_parsed_with_or_without_a_content_type() -> None:
    body = '{"cart_id": 42, "items": ["socks", "hat"], "gift": null}'
    for content_type in ("application/json; charset=utf-8", None, "text/plain"):
        request = request_of(body, content_type)
        assert request["data"] == {"cart_id": 42, "items": ["socks", "hat"], "gift": None}
        assert request["inferred_content_type"] == "application/json"


def test_json_array_body_is_parsed() -> None:
    request = request_of('  [{"sku": "a"}, 2.5, true]\n')
    assert request["data"] == [{"sku": "a"}, 2.5, True]
    assert request["inferred_content_type"] == "application/json"


def test_json_scalar_is_parsed_only_when_declared_json() -> None:
    assert request_of("42", "application/json")["data"] == 42
    assert request_of('"hi"', "application/vnd.api+json")["data"] == "hi"
    plain = request_of("42", "text/plain")
    assert plain["data"] == "42" and plain["inferred_content_type"] == "text/plain"


def test_form_body_becomes_a_dict_and_a_repeated_key_keeps_the_last_value() -> None:
    request = request_of("sku=sock%20s&qty=2&qty=3&note=&gift+wrap=yes",
                         "application/x-www-form-urlencoded")
    assert request["data"] == {"sku": "sock s", "qty": "3", "note": "", "gift wrap": "yes"}
    assert request["inferred_content_type"] == "application/x-www-form-urlencoded"


@pytest.mark.parametrize("body", ["plain words", "dGU=", "dA==", "<?xml a=1&b=2?>", "ünï=1&b=2"])
def test_text_that_only_looks_like_a_form_stays_a_string(body: str) -> None:
    request = request_of(body, "text/plain; charset=utf-8")
    assert request["data"] == body
    assert request["inferred_content_type"] == "text/plain"


@pytest.mark.parametrize("body", ['{"cart_id": 4', '{"a": NaN}', '[1e999]', "[1, 2,]"])
def test_invalid_json_stays_a_string_with_the_header_type(body: str) -> None:
    request = request_of(body, "application/json")
    assert request["data"] == body
    assert request["inferred_content_type"] == "application/json"
    assert "inferred_content_type" not in request_of(body)


def test_structured_data_is_kept_and_typed_from_the_header() -> None:
    request = request_of({"sku": "a"}, "multipart/form-data; boundary=x")
    assert request["data"] == {"sku": "a"}
    assert request["inferred_content_type"] == "multipart/form-data"


def test_huge_body_stays_a_string() -> None:
    body = json.dumps({"blob": "x" * MAX_PARSED_BODY})
    assert request_of(body, "application/json")["data"] == body
    fits = json.dumps({"blob": "x" * 1000})
    assert request_of(fits, "application/json")["data"] == {"blob": "x" * 1000}


def test_deep_body_stays_a_string_but_the_limit_itself_parses() -> None:
    too_deep = "[" * (MAX_BODY_DEPTH + 1) + "]" * (MAX_BODY_DEPTH + 1)
    assert request_of(too_deep)["data"] == too_deep
    at_limit = "[" * MAX_BODY_DEPTH + "]" * MAX_BODY_DEPTH
    parsed: Any = request_of(at_limit)["data"]
    for _ in range(MAX_BODY_DEPTH - 1):
        assert isinstance(parsed, list) and len(parsed) == 1
        parsed = parsed[0]
    assert parsed == []
    # Deeper than Python's recursion limit: must not raise.
    abyss = "[" * 100_000 + "]" * 100_000
    assert parse_body(abyss, None) == (abyss, None)


def test_lone_surrogate_escape_keeps_the_body_as_text() -> None:
    body = '{"name": "\\ud800"}'
    assert request_of(body, "application/json")["data"] == body


def test_empty_body_stays_empty() -> None:
    assert parse_body("", "application/json") == ("", "application/json")
    assert parse_body("", None) == ("", None)


def test_psr7_header_lists_are_joined_like_relay() -> None:
    payload = {"message": "m", "request": {"headers": {
        "accept": ["application/json", "text/plain"], "x-empty": [], "host": "shop.example"}}}
    event = normalize_event(1, "b" * 32, json.dumps(payload).encode(), 1_700_000_000.0, None)
    assert event.data["request"]["headers"] == [
        ["Accept", "application/json,text/plain"], ["X-Empty", ""], ["Host", "shop.example"]]
