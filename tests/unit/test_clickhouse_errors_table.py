"""The errors-table row builder on sparse or malformed events.

That the row matches the table column for column is checked by the contract suite.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from faultline_core.event import NormalizedEvent, UserInfo
from faultline_core.storage.clickhouse.errors_table import ERRORS_COLUMNS, errors_row

WHEN = datetime(2024, 5, 6, 7, 8, 9, 123_456, tzinfo=UTC)


def event_with(data: dict[str, Any], tags: tuple[tuple[str, str], ...] = ()) -> NormalizedEvent:
    return NormalizedEvent(
        project_id=9, event_id="f" * 32, timestamp=WHEN, received=WHEN, platform="other",
        level="error", environment="production", release="", dist="", logger="",
        transaction="", server_name="", title="t", culprit="", message="m",
        user=UserInfo(email="e@example.com"), tags=tags, contexts=(), data=data,
    )


def row_dict(event: NormalizedEvent) -> dict[str, Any]:
    return dict(zip(ERRORS_COLUMNS, errors_row(event, 3, "0" * 32), strict=True))


def test_event_without_exception_or_request_gets_empty_values() -> None:
    row = row_dict(event_with({"message": "m"}))
    assert (row["exception_type"], row["exception_value"], row["handled"]) == ("", "", 1)
    assert (row["http_method"], row["http_url"]) == ("", "")
    assert row["exception_frames.filename"] == []
    assert row["timestamp_ms"] == 123
    assert row["user_key"] == "email:e@example.com"
    assert row["retention_days"] == 90


def test_malformed_exception_parts_are_skipped_not_fatal() -> None:
    data = {
        "exception": [
            {"type": "Old"},
            {"type": "New", "mechanism": "not a dict", "stacktrace": {"frames": [
                "junk", {"function": "f", "lineno": -1, "in_app": "yes"},
                {"function": "g", "lineno": True}, {"function": "h", "lineno": 2**40},
            ]}},
            "trailing junk",
        ],
        "request": ["not", "a", "dict"],
        "sdk": None,
    }
    row = row_dict(event_with(data))
    assert row["exception_type"] == "New"
    assert row["exception_frames.function"] == ["f", "g", "h"]
    assert row["exception_frames.lineno"] == [0, 0, 0]
    assert row["exception_frames.in_app"] == [0, 0, 0]
    assert (row["sdk_name"], row["http_method"]) == ("", "")


def test_handled_comes_from_mechanism_then_tag() -> None:
    unhandled = {"exception": {"values": [{"type": "E", "mechanism": {"handled": False}}]}}
    assert row_dict(event_with(unhandled))["handled"] == 0
    no_mechanism = {"exception": {"values": [{"type": "E"}]}}
    assert row_dict(event_with(no_mechanism, tags=(("handled", "no"),)))["handled"] == 0
    assert row_dict(event_with(no_mechanism, tags=(("handled", "yes"),)))["handled"] == 1


def test_data_column_is_the_event_json() -> None:
    data = {"extra": {"when": WHEN, "n": [1, 2]}, "ünï": "✓"}
    stored = json.loads(row_dict(event_with(data))["data"])
    assert stored == {"extra": {"when": str(WHEN), "n": [1, 2]}, "ünï": "✓"}


def test_event_data_encoding_round_trips_including_what_orjson_refuses() -> None:
    from faultline_core.storage.clickhouse.errors_table import encode_event_data

    plain = {"a": [1, 2.5, None, True], "ü": "naïve ☃", "nested": {"k": "v"}}
    assert json.loads(encode_event_data(plain)) == plain
    # A lone surrogate and a >64-bit integer make orjson raise; the stdlib copes.
    awkward = {"s": "\ud800", "big": 2**70}
    assert json.loads(encode_event_data(awkward)) == awkward
