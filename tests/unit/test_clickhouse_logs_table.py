"""``logs`` rows from log envelope items (pure), and the rows round-tripping both engines."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.clickhouse.logs_table import (
    LOGS_COLUMNS,
    MAX_ATTRIBUTES,
    MAX_BODY_CHARS,
    MAX_LINES_PER_ITEM,
    InvalidLogPayload,
    LogBatch,
    log_id,
    parse_log_item,
)

RECEIVED = 1_741_794_127.25  # 2025-03-12 15:42:07.25 UTC
ITEM_ID = "ab" * 16
TRACE_ID = "320bbac31e69400a96892ca06273f04b"

# A batch as sentry-python 2.75 sends it for
# ``sentry_sdk.logger.info("order {order_id} failed", order_id="A-17", attributes={...})``.
SDK_BATCH: dict[str, Any] = {
    "version": 2,
    "items": [
        {
            "timestamp": RECEIVED - 2.5,
            "level": "info",
            "body": "order A-17 failed",
            "attributes": {
                "shop.region": {"value": "eu", "type": "string"},
                "retry": {"value": 3, "type": "integer"},
                "ok": {"value": False, "type": "boolean"},
                "ratio": {"value": 0.5, "type": "double"},
                "sentry.message.parameter.order_id": {"value": "A-17", "type": "string"},
                "sentry.message.template": {"value": "order {order_id} failed", "type": "string"},
                "sentry.sdk.name": {"value": "sentry.python", "type": "string"},
                "sentry.sdk.version": {"value": "2.75.0", "type": "string"},
                "server.address": {"value": "web-1", "type": "string"},
                "sentry.environment": {"value": "production", "type": "string"},
                "sentry.release": {"value": "shop@1.4.2", "type": "string"},
                "sentry.severity_number": {"value": 9, "type": "integer"},
                "sentry.severity_text": {"value": "info", "type": "string"},
            },
            "trace_id": TRACE_ID,
        }
    ],
}


def parse(payload: dict[str, Any] | bytes, **kwargs: Any) -> LogBatch:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return parse_log_item(raw, project_id=7, item_id=ITEM_ID, received_at=RECEIVED, **kwargs)


def as_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    return dict(zip(LOGS_COLUMNS, row, strict=True))


def line(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"timestamp": RECEIVED - 1, "level": "error", "body": "boom"}
    base.update(fields)
    return base


def test_a_real_sdk_line_becomes_one_complete_row() -> None:
    batch = parse(SDK_BATCH)
    assert batch.dropped == 0
    [row] = [as_dict(row) for row in batch.rows]
    assert row["project_id"] == 7
    assert row["timestamp"] == datetime(2025, 3, 12, 15, 42, 4, tzinfo=UTC)
    assert row["timestamp_us"] == 750_000
    assert row["log_id"] == log_id(ITEM_ID, 0)
    assert row["item_id"] == ITEM_ID
    assert row["received"] == datetime(2025, 3, 12, 15, 42, 7, tzinfo=UTC)
    assert (row["level"], row["severity_number"]) == ("info", 9)
    assert row["body"] == "order A-17 failed"
    assert row["template"] == "order {order_id} failed"
    assert (row["release"], row["environment"]) == ("shop@1.4.2", "production")
    assert (row["sdk_name"], row["sdk_version"]) == ("sentry.python", "2.75.0")
    assert (row["trace_id"], row["span_id"]) == (TRACE_ID, "")
    attributes = dict(zip(row["attributes.key"], zip(row["attributes.value"],
                                                     row["attributes.type"], strict=True),
                          strict=True))
    assert attributes["retry"] == ("3", "integer")
    assert attributes["ok"] == ("false", "boolean")
    assert attributes["ratio"] == ("0.5", "double")
    assert attributes["shop.region"] == ("eu", "string")
    assert attributes["sentry.message.parameter.order_id"] == ("A-17", "string")
    # The severity attributes only repeat the columns.
    assert "sentry.severity_number" not in attributes
    assert row["attributes.key"] == sorted(row["attributes.key"])
    assert (row["retention_days"], row["deleted"]) == (30, 0)


def test_parsing_twice_gives_identical_rows_and_ids_differ_per_line_and_item() -> None:
    payload = {"items": [line(body="a"), line(body="b")]}
    first, second = parse(payload), parse(payload)
    assert first == second
    ids = {as_dict(row)["log_id"] for row in first.rows}
    assert len(ids) == 2
    other = parse_log_item(json.dumps(payload).encode(), project_id=7, item_id="cd" * 16,
                           received_at=RECEIVED)
    assert not ids & {as_dict(row)["log_id"] for row in other.rows}


def test_malformed_lines_are_dropped_and_counted_the_rest_kept() -> None:
    payload = {"items": [
        "not an object", 42, None, [],
        line(body=None), line(body=17),               # no text body
        line(timestamp="yesterday"), line(timestamp=None), line(timestamp=True),
        line(level="loud"),                           # unknown level, no severity
        line(body="kept"),
    ]}
    batch = parse(payload)
    assert [as_dict(row)["body"] for row in batch.rows] == ["kept"]
    assert batch.dropped == 10
    # The kept line keeps its position-derived id.
    assert as_dict(batch.rows[0])["log_id"] == log_id(ITEM_ID, 10)


def test_levels_aliases_and_severity_numbers() -> None:
    batch = parse({"items": [
        line(level="WARNING"),
        line(level="critical"),
        line(level="nonsense", severity_number=18),
        line(level=None, attributes={"sentry.severity_number": {"value": 3, "type": "integer"}}),
        line(level="debug", severity_number=99),     # out of range: from the level
        line(level="fatal", severity_number=True),
    ]})
    got = [(as_dict(row)["level"], as_dict(row)["severity_number"]) for row in batch.rows]
    assert got == [("warn", 13), ("fatal", 21), ("error", 18), ("trace", 3), ("debug", 5),
                   ("fatal", 21)]


def test_absurd_timestamps_are_clamped_to_the_receive_time() -> None:
    batch = parse({"items": [
        line(timestamp=RECEIVED + 86400 * 365),       # a year ahead
        line(timestamp=0),                            # 1970
        line(timestamp=RECEIVED - 40 * 86400),        # older than retention
        line(timestamp="2025-03-12T15:40:00.5Z"),     # RFC 3339 is accepted too
        line(timestamp=1e300),
    ]})
    stamps = [(as_dict(row)["timestamp"], as_dict(row)["timestamp_us"]) for row in batch.rows]
    received = (datetime(2025, 3, 12, 15, 42, 7, tzinfo=UTC), 250_000)
    assert stamps[:3] == [received] * 3
    assert stamps[3] == (datetime(2025, 3, 12, 15, 40, tzinfo=UTC), 500_000)
    assert batch.dropped == 1  # 1e300 is no timestamp at all


def test_malformed_attributes_are_dropped_one_by_one() -> None:
    attributes: dict[str, Any] = {
        "good": {"value": "yes", "type": "string"},
        "untyped": {"value": 5},
        "array": {"value": [1, 2], "type": "array"},
        "mismatch": {"value": "5", "type": "integer"},
        "no_value": {"type": "string"},
        "not_object": "plain",
        "nested": {"value": {"a": 1}, "type": "string"},
        "nested_array": {"value": [[1]], "type": "array"},
        "int_as_double": {"value": 2, "type": "double"},
        "huge_double": {"value": 10**400, "type": "double"},
        "": {"value": "empty key", "type": "string"},
        "k" * 201: {"value": "long key", "type": "string"},
    }
    row = as_dict(parse({"items": [line(attributes=attributes)]}).rows[0])
    assert row["attributes.key"] == ["array", "good", "int_as_double", "untyped"]
    assert row["attributes.value"] == ["[1,2]", "yes", "2.0", "5"]
    assert row["attributes.type"] == ["array", "string", "double", "integer"]


def test_sizes_and_counts_are_capped() -> None:
    attributes = {f"a{i:03}": {"value": "v" * 10_000, "type": "string"} for i in range(150)}
    lines = [line(body="x" * (MAX_BODY_CHARS + 10), attributes=attributes)]
    lines += [line() for _ in range(MAX_LINES_PER_ITEM + 4)]
    batch = parse({"items": lines})
    assert len(batch.rows) == MAX_LINES_PER_ITEM
    assert batch.dropped == 5
    first = as_dict(batch.rows[0])
    assert len(first["body"]) == MAX_BODY_CHARS
    assert len(first["attributes.key"]) == MAX_ATTRIBUTES
    assert {len(value) for value in first["attributes.value"]} == {4096}


def test_ids_are_normalised_and_invalid_ones_blanked() -> None:
    batch = parse({"items": [
        line(trace_id=TRACE_ID.upper(), span_id="ABCDEF0123456789"),
        line(trace_id="not-a-trace", span_id=12),
        line(trace_id="320bbac3-1e69-400a-9689-2ca06273f04b"),
    ]})
    got = [(as_dict(row)["trace_id"], as_dict(row)["span_id"]) for row in batch.rows]
    assert got == [(TRACE_ID, "abcdef0123456789"), ("", ""), (TRACE_ID, "")]


@pytest.mark.parametrize("payload", [
    b"", b"[]", b"not json", b'{"items": {}}', b'{"items": "x"}', b'{"version": 2}',
    b'{"items": [' * 5000,
])
def test_a_payload_without_an_items_list_is_refused(payload: bytes) -> None:
    with pytest.raises(InvalidLogPayload):
        parse(payload)


def test_hostile_text_survives_parsing() -> None:
    raw = (b'{"items": [{"timestamp": 1741794126, "level": "info",'
           b' "body": "\\ud800 lone \\u0000 nul \xff bad utf8",'
           b' "attributes": {"x": {"value": NaN, "type": "double"}}}]}')
    [row] = [as_dict(row) for row in parse(raw).rows]
    assert "lone" in row["body"] and "\ud800" not in row["body"]
    row["body"].encode("utf-8")  # storable
    assert row["attributes.key"] == []  # NaN became null: not a double


async def test_rows_round_trip_on_both_engines(
    clickhouse: ClickHouse, clickhouse_native: ClickHouse
) -> None:
    rows = parse(SDK_BATCH).rows + parse({"items": [line(body="'; DROP TABLE logs; --\n\\")]}).rows
    for ch in (clickhouse, clickhouse_native):
        await ch.insert("logs", LOGS_COLUMNS, rows)
        await ch.insert("logs", LOGS_COLUMNS, rows)  # a redelivery collapses
        stored = await ch.query(
            "SELECT * FROM logs FINAL WHERE project_id = %(p)s ORDER BY timestamp, log_id",
            {"p": 7},
        )
        assert len(stored) == 2
        by_body = {row["body"]: row for row in stored}
        sdk_row = by_body["order A-17 failed"]
        assert sdk_row["log_id"] == log_id(ITEM_ID, 0)
        assert sdk_row["timestamp"] == datetime(2025, 3, 12, 15, 42, 4, tzinfo=UTC)
        assert sdk_row["attributes.type"][sdk_row["attributes.key"].index("retry")] == "integer"
        assert "'; DROP TABLE logs; --\n\\" in by_body
