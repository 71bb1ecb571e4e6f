"""Log search: request validation, cursors and SQL (pure), and the ``SearchLogs`` RPC on
chDB and on the ClickHouse 18.16 server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from faultline.v1 import query_pb2
from faultline_core.storage.clickhouse.logs_table import LOGS_COLUMNS, parse_log_item
from faultline_core.storage.clickhouse.sql import render
from faultline_query.issues import InvalidCursor
from faultline_query.logs import (
    InvalidSearch,
    LogCursor,
    LogSearch,
    log_search,
    search_logs_sql,
)
from tests.unit.query.conftest import NOW, QueryService

Request = query_pb2.SearchLogsRequest


def search(**fields: Any) -> LogSearch:
    fields.setdefault("project_id", 3)
    return log_search(Request(**fields), NOW)


# --- validation and SQL (pure) ----------------------------------------------------------


def test_defaults_are_the_last_24_hours_and_100_lines() -> None:
    spec = search()
    assert (spec.start, spec.end, spec.limit) == (NOW - timedelta(hours=24), None, 100)
    sql, params = search_logs_sql(spec)
    assert sql.index("project_id = %(project_id)s") < sql.index("ORDER BY")
    assert "FROM logs FINAL" in sql and "deleted = 0" in sql
    assert params["limit"] == 101  # one more, to know whether a next page exists


def test_period_and_explicit_window() -> None:
    assert search(period_seconds=3600).start == NOW - timedelta(hours=1)
    start = Timestamp(seconds=1_700_000_000)
    end = Timestamp(seconds=1_700_003_600)
    spec = search(start=start, end=end)
    assert (spec.start.timestamp(), spec.end and spec.end.timestamp()) == (
        1_700_000_000, 1_700_003_600)
    assert "timestamp < toDateTime(%(end)s)" in search_logs_sql(spec)[0]


@pytest.mark.parametrize("fields", [
    {"levels": ["loud"]},
    {"limit": 1001},
    {"limit": -1},
    {"period_seconds": 91 * 86400},
    {"period_seconds": -5},
    {"query": "x" * 501},
    {"attributes": [query_pb2.LogAttributeFilter(key="", value="v")]},
    {"attributes": [query_pb2.LogAttributeFilter(key="k", value="v")] * 21},
])
def test_malformed_searches_are_refused(fields: dict[str, Any]) -> None:
    with pytest.raises(InvalidSearch):
        search(**fields)


def test_cursors_round_trip_and_forgeries_are_refused() -> None:
    cursor = LogCursor(1_741_794_127, 250_000, "ab" * 16)
    assert LogCursor.decode(cursor.encode()) == cursor
    for forged in ("!!", "e30", LogCursor(1, 2_000_000, "ab" * 16).encode(),
                   LogCursor(1, 2, "'; DROP TABLE logs; --").encode()):
        with pytest.raises(InvalidCursor):
            LogCursor.decode(forged)


def test_hostile_values_stay_inside_their_literals() -> None:
    hostile = "') OR 1=1 --\\'"
    spec = search(query=hostile, levels=["error", "warn"],
                  attributes=[query_pb2.LogAttributeFilter(key=hostile, value=hostile),
                              query_pb2.LogAttributeFilter(key="release", value="r1")])
    sql, params = search_logs_sql(spec)
    assert hostile not in sql  # only placeholders in the text
    assert params["text"] == hostile
    assert "release = %(filter_value_1)s" in sql
    rendered = render(sql, params)
    assert rendered.count("'") % 2 == 0 and "OR 1=1 --\\'" not in rendered


# --- the RPC on both engines -------------------------------------------------------------


def log_item(item_id: str, project_id: int, lines: list[dict[str, Any]]) -> tuple[Any, ...]:
    batch = parse_log_item(json.dumps({"items": lines}).encode(), project_id=project_id,
                           item_id=item_id, received_at=NOW.timestamp())
    assert batch.dropped == 0
    return batch.rows


def line(body: str, minutes_ago: float, level: str = "info", **attrs: str) -> dict[str, Any]:
    attributes = {key: {"value": value, "type": "string"} for key, value in attrs.items()}
    attributes["sentry.release"] = {"value": "shop@2", "type": "string"}
    return {"timestamp": (NOW - timedelta(minutes=minutes_ago)).timestamp(), "level": level,
            "body": body, "attributes": attributes, "trace_id": "c" * 32}


async def seed(service: QueryService) -> None:
    a, b = service.tenants.project_a, service.tenants.project_b
    rows = log_item("1" * 32, a, [
        line("Order A-17 failed", 5, "error", region="eu"),
        line("order B-2 FAILED again", 10, "warn", region="us"),
        line("cart loaded", 15),
        line("ancient", 60 * 30),
    ]) + log_item("2" * 32, b, [line("order of another tenant failed", 1, "error")])
    await service.clickhouse.insert("logs", LOGS_COLUMNS, rows)
    await service.clickhouse.insert("logs", LOGS_COLUMNS, rows)  # a redelivery


async def bodies(service: QueryService, **fields: Any) -> list[str]:
    fields.setdefault("project_id", service.tenants.project_a)
    reply = await service.stub.SearchLogs(Request(**fields))
    return [row.body for row in reply.rows]


async def test_search_filters_scope_and_order(service_any: QueryService) -> None:
    await seed(service_any)
    assert await bodies(service_any) == ["Order A-17 failed", "order B-2 FAILED again",
                                         "cart loaded"]
    assert await bodies(service_any, query="order") == ["Order A-17 failed",
                                                        "order B-2 FAILED again"]
    assert await bodies(service_any, levels=["error"]) == ["Order A-17 failed"]
    us = query_pb2.LogAttributeFilter(key="region", value="us")
    assert await bodies(service_any, attributes=[us]) == ["order B-2 FAILED again"]
    release = query_pb2.LogAttributeFilter(key="release", value="shop@2")
    assert len(await bodies(service_any, attributes=[release])) == 3
    assert await bodies(service_any, period_seconds=7 * 60) == ["Order A-17 failed"]
    assert (await bodies(service_any, period_seconds=90 * 86400))[-1:] == ["ancient"]
    assert await bodies(service_any, query="another tenant") == []


async def test_rows_carry_the_line(service_any: QueryService) -> None:
    await seed(service_any)
    reply = await service_any.stub.SearchLogs(
        Request(project_id=service_any.tenants.project_a, levels=["error"]))
    [row] = reply.rows
    assert row.timestamp.ToDatetime(UTC) == NOW - timedelta(minutes=5)
    assert (row.level, row.severity_number, row.trace_id, row.release) == (
        "error", 17, "c" * 32, "shop@2")
    assert {(a.key, a.value, a.type) for a in row.attributes} >= {("region", "eu", "string")}
    assert len(row.log_id) == 32


async def test_cursor_pages_visit_every_line_once(service_any: QueryService) -> None:
    await seed(service_any)
    seen: list[str] = []
    cursor = ""
    for _ in range(5):
        reply = await service_any.stub.SearchLogs(Request(
            project_id=service_any.tenants.project_a, limit=1, cursor=cursor,
            period_seconds=90 * 86400))
        seen.extend(row.body for row in reply.rows)
        cursor = reply.next_cursor
        if not cursor:
            break
    assert seen == ["Order A-17 failed", "order B-2 FAILED again", "cart loaded", "ancient"]


async def test_bad_requests_are_invalid_argument(service: QueryService) -> None:
    for request in (Request(project_id=0), Request(project_id=1, levels=["nope"]),
                    Request(project_id=1, cursor="forged")):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await service.stub.SearchLogs(request)
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_timestamps_in_requests_are_utc() -> None:
    moment = datetime(2025, 3, 12, 12, tzinfo=UTC)
    start = Timestamp()
    start.FromDatetime(moment)
    assert search(start=start).start == moment
