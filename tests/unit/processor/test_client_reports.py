"""Client reports through the real processor: the SDK's own discard counts become hourly
outcomes, once per report, with client-controlled names made safe."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from faultline_core.messages import IngestMessage
from faultline_core.storage.postgres.outcomes import hour_bucket
from faultline_processor.items.base import InvalidItem
from faultline_processor.items.client_reports import ClientReportHandler, ParsedReport
from tests.unit.processor.conftest import Pipeline
from tests.unit.processor.test_sessions import iso


def report_message(project_id: int, payload: dict[str, Any] | bytes,
                   received_at: float | None = None) -> IngestMessage:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    item = uuid.uuid4().hex
    return IngestMessage(
        project_id=project_id, event_id=item, item_type="client_report",
        received_at=received_at if received_at is not None else time.time(),
        client_ip=None, payload=body, item_id=item,
    )


async def stored(pipeline: Pipeline) -> list[tuple[Any, ...]]:
    rows = await pipeline.rows(
        "SELECT bucket, outcome, category, reason, quantity FROM outcomes"
        " WHERE project_id = %s ORDER BY bucket, outcome, category, reason",
        pipeline.project_id,
    )
    return [tuple(r.values()) for r in rows]


async def test_reports_become_outcomes_once_despite_redelivery(pipeline: Pipeline) -> None:
    now = time.time()
    report = {
        "timestamp": iso(now - 7200),
        "discarded_events": [
            {"reason": "before_send", "category": "error", "quantity": 3},
            {"reason": "sample_rate", "category": "transaction", "quantity": 10},
        ],
        "rate_limited_events": [
            {"reason": "ratelimit_backoff", "category": "error", "quantity": 2}],
        "filtered_events": [{"reason": "release", "category": "error", "quantity": 1}],
    }
    message = report_message(pipeline.project_id, report, received_at=now)
    second = report_message(pipeline.project_id, {
        "discarded_events": [{"reason": "before_send", "category": "error", "quantity": 4}]},
        received_at=now)
    for item in (message, second, message):
        await pipeline.publish_raw(item.encode(), b"k")
    await pipeline.process_all()
    await pipeline.process_all(pipeline.settings(consumer_group="replay"))

    then, current = hour_bucket(now - 7200), hour_bucket(now)
    assert await stored(pipeline) == [
        (then, "client_discard", "error", "before_send", 3),
        (then, "client_discard", "transaction", "sample_rate", 10),
        (then, "filtered", "error", "release", 1),
        (then, "rate_limited", "error", "ratelimit_backoff", 2),
        (current, "client_discard", "error", "before_send", 4),
    ]
    assert await pipeline.dead_letters() == []


def parse(payload: dict[str, Any] | bytes, received_at: float) -> ParsedReport:
    parsed = ClientReportHandler().parse(report_message(1, payload, received_at))
    assert isinstance(parsed, ParsedReport)
    return parsed


def test_client_controlled_names_and_numbers_are_made_safe() -> None:
    now = time.time()
    parsed = parse({
        "timestamp": iso(now - 30 * 86400),  # outside the window: counted when received
        "discarded_events": [
            {"reason": "Queue_Overflow", "category": "ERROR", "quantity": 1},
            {"reason": "<script>alert(1)</script>", "category": "error", "quantity": 2},
            {"reason": "x" * 65, "category": "bogus\ncategory", "quantity": 3},
            {"reason": "before_send", "category": "error", "quantity": 10**15},
            {"reason": "before_send", "category": "error", "quantity": -4},
            {"reason": "before_send", "category": "error", "quantity": "7"},
            {"reason": "before_send", "category": "error", "quantity": True},
            {"reason": ["a"], "category": {"b": 1}, "quantity": 1.0},
            "not an entry", None,
        ],
        "rate_limited_events": "nope",
    }, now)
    assert parsed.timestamp == now
    assert [(o.outcome, o.category, o.reason, o.quantity) for o in parsed.outcomes] == [
        ("client_discard", "error", "queue_overflow", 1),
        ("client_discard", "error", "other", 2),
        ("client_discard", "unknown", "other", 3),
        ("client_discard", "error", "before_send", 1_000_000),
        ("client_discard", "unknown", "other", 1),
    ]


def test_only_the_first_hundred_entries_of_a_list_are_read() -> None:
    entries = [{"reason": f"r{i}", "category": "error", "quantity": 1} for i in range(500)]
    parsed = parse({"discarded_events": entries}, time.time())
    assert len(parsed.outcomes) == 100


@pytest.mark.parametrize("payload", [b"[1]", b"{oops", b"\xff"])
def test_a_report_that_is_not_an_object_is_invalid(payload: bytes) -> None:
    with pytest.raises(InvalidItem):
        parse(payload, time.time())


async def test_invalid_reports_are_dead_lettered(pipeline: Pipeline) -> None:
    await pipeline.publish_raw(report_message(pipeline.project_id, b"[]").encode(), b"k")
    await pipeline.publish_raw(report_message(pipeline.project_id, {
        "discarded_events": [{"reason": "network_error", "category": "session",
                              "quantity": 5}]}).encode(), b"k")
    await pipeline.process_all()
    assert [letter["reason"] for letter in await pipeline.dead_letters()] == ["invalid_item"]
    assert [row[1:] for row in await stored(pipeline)] == [
        ("client_discard", "session", "network_error", 5)]
