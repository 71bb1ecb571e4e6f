"""``log`` items through the real processor: rows in ClickHouse, outcomes in PostgreSQL.

Redelivery is exercised both ways it happens: the same bus message published twice, and
a handler write repeated after its ClickHouse insert (a crash before the commit).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from faultline_core.bus.base import BusMessage, Partition
from faultline_core.messages import IngestMessage
from faultline_core.storage.clickhouse.logs_table import LOGS_COLUMNS, LogBatch
from faultline_processor.items.base import ItemSinks, PreparedItem
from faultline_processor.items.logs import LogHandler
from faultline_processor.prepare import Poison, prepare
from tests.unit.processor.conftest import Pipeline

HANDLER = LogHandler()


def log_line(body: str, level: str = "info", **fields: Any) -> dict[str, Any]:
    return {"timestamp": time.time() - 1, "level": level, "body": body,
            "trace_id": uuid.uuid4().hex,
            "attributes": {"sentry.environment": {"value": "production", "type": "string"}},
            **fields}


def log_message(project_id: int, lines: list[Any], item_id: str | None = None,
                payload: bytes | None = None) -> IngestMessage:
    body = payload if payload is not None else json.dumps({"items": lines}).encode()
    return IngestMessage(
        project_id=project_id, event_id=uuid.uuid4().hex, item_type="log",
        received_at=time.time(), client_ip="203.0.113.9", payload=body,
        item_id=item_id or uuid.uuid4().hex,
    )


def bus_message(offset: int, message: IngestMessage) -> BusMessage:
    return BusMessage(Partition("ingest-events", 0), offset, None, message.encode(), 0)


async def publish(pipeline: Pipeline, message: IngestMessage) -> None:
    await pipeline.publish_raw(message.encode(), str(message.project_id).encode())


async def stored(pipeline: Pipeline) -> list[dict[str, Any]]:
    return await pipeline.clickhouse.query(
        "SELECT body, level, environment FROM logs FINAL WHERE project_id = %(p)s"
        " ORDER BY body", {"p": pipeline.project_id},
    )


async def row_count(pipeline: Pipeline) -> int:
    rows = await pipeline.clickhouse.query(
        "SELECT count() AS n FROM logs FINAL WHERE project_id = %(p)s",
        {"p": pipeline.project_id},
    )
    return int(rows[0]["n"])


async def outcomes(pipeline: Pipeline) -> dict[tuple[str, str], int]:
    rows = await pipeline.rows(
        "SELECT outcome, reason, sum(quantity)::bigint AS n FROM outcomes"
        " WHERE project_id = %s AND category = 'log_item' GROUP BY outcome, reason",
        pipeline.project_id,
    )
    return {(row["outcome"], row["reason"]): row["n"] for row in rows}


async def test_log_lines_are_stored_and_counted(pipeline: Pipeline) -> None:
    lines = [log_line("order A-17 failed", "error"), log_line("cart loaded"), "garbage"]
    await publish(pipeline, log_message(pipeline.project_id, lines))
    await pipeline.process_all()
    assert await stored(pipeline) == [
        {"body": "cart loaded", "level": "info", "environment": "production"},
        {"body": "order A-17 failed", "level": "error", "environment": "production"},
    ]
    assert await outcomes(pipeline) == {("accepted", ""): 2, ("invalid", "invalid_log"): 1}
    assert await pipeline.dead_letters() == []


async def test_a_redelivered_message_is_stored_and_counted_once(pipeline: Pipeline) -> None:
    message = log_message(pipeline.project_id, [log_line("one"), log_line("two")])
    await publish(pipeline, message)
    await publish(pipeline, message)
    await pipeline.process_all()
    await publish(pipeline, message)  # again, in a later batch
    await pipeline.process_all()
    assert await row_count(pipeline) == 2
    assert await outcomes(pipeline) == {("accepted", ""): 2}


async def test_a_write_repeated_after_a_crash_collapses(pipeline: Pipeline) -> None:
    message = log_message(pipeline.project_id, [log_line("only once")])
    item = PreparedItem(bus_message(0, message), message, HANDLER.parse(message))
    sinks = ItemSinks(pipeline.pool, pipeline.clickhouse)
    # The first attempt's insert landed, then the process died before PostgreSQL: the
    # rows are written again by the retry, and only the claim decides the counting.
    assert isinstance(item.parsed, LogBatch)
    await pipeline.clickhouse.insert("logs", LOGS_COLUMNS, item.parsed.rows)
    await HANDLER.write(sinks, [item])
    await HANDLER.write(sinks, [item])
    assert await row_count(pipeline) == 1
    assert await outcomes(pipeline) == {("accepted", ""): 1}


async def test_a_payload_without_items_goes_to_the_dead_letter_topic(pipeline: Pipeline) -> None:
    await publish(pipeline, log_message(pipeline.project_id, [], payload=b'{"items": 5}'))
    await publish(pipeline, log_message(pipeline.project_id, [log_line("after the bad one")]))
    await pipeline.process_all()
    [dead] = await pipeline.dead_letters()
    assert "items" in json.dumps(dead)
    assert [row["body"] for row in await stored(pipeline)] == ["after the bad one"]


def test_prepare_routes_log_items_to_the_handler() -> None:
    message = log_message(5, [log_line("hello")])
    prepared = prepare(bus_message(3, message))
    assert isinstance(prepared, PreparedItem)
    poison = prepare(bus_message(4, log_message(5, [], payload=b"[1]")))
    assert isinstance(poison, Poison) and poison.reason == "invalid_item"
