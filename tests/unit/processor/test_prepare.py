"""The pure steps: decoding and grouping a message, batching, dead-letter envelopes."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import pytest

from faultline_core.bus.base import BusMessage, Partition
from faultline_core.messages import IngestMessage
from faultline_processor.batch import Batch
from faultline_processor.dlq import dead_letter
from faultline_processor.prepare import Poison, PreparedEvent, prepare
from faultline_processor.writer import RetryPolicy, issue_seed
from tests.unit.processor.conftest import python_error

TOPIC = Partition("ingest-events", 0)


def message(value: bytes, offset: int = 0, partition: Partition = TOPIC) -> BusMessage:
    return BusMessage(partition, offset, b"1", value, int(time.time() * 1000))


def ingest(payload: dict[str, Any] | bytes, **header: Any) -> bytes:
    fields: dict[str, Any] = {
        "project_id": 1, "event_id": uuid.uuid4().hex, "item_type": "event",
        "received_at": time.time(), "client_ip": "203.0.113.9",
        "payload": payload if isinstance(payload, bytes) else json.dumps(payload).encode(),
    }
    fields.update(header)
    return IngestMessage(**fields).encode()


def test_a_python_error_is_normalised_and_grouped() -> None:
    payload = python_error()
    prepared = prepare(message(ingest(payload, event_id=payload["event_id"])))

    assert isinstance(prepared, PreparedEvent)
    assert prepared.event.event_id == payload["event_id"]
    assert prepared.event.title == "ZeroDivisionError: division by zero"
    assert len(prepared.primary_hash) == 32
    again = prepare(message(ingest(python_error())))
    other = prepare(message(ingest(python_error("KeyError", "'x'", function="lookup"))))
    assert isinstance(again, PreparedEvent) and isinstance(other, PreparedEvent)
    assert again.hashes == prepared.hashes
    assert other.primary_hash != prepared.primary_hash


def test_issue_seed_carries_type_and_metadata() -> None:
    prepared = prepare(message(ingest(python_error())))
    assert isinstance(prepared, PreparedEvent)

    seed = issue_seed(prepared)

    assert (seed.type, seed.level, seed.platform) == ("error", "error", "python")
    assert seed.metadata["type"] == "ZeroDivisionError"
    assert seed.metadata["function"] == "divide"
    assert seed.hashes == prepared.hashes


@pytest.mark.parametrize(
    ("value", "reason", "error_part"),
    [
        (b"garbage", "undecodable", "missing header line"),
        (b'{"v": 9}\n{}', "undecodable", "unknown message format version"),
        (ingest(python_error(), item_type="replay_video"), "unsupported_item_type", "replay"),
        (ingest(python_error(), project_id=0), "invalid_header", "project id 0"),
        (ingest(b'"just a string"'), "invalid_event", "not an object"),
        (ingest(b"{not json"), "invalid_event", "not valid JSON"),
        (ingest(python_error(), event_id="nope"), "invalid_event", "invalid event id"),
        (ingest(python_error(), received_at=5.0), "invalid_header", "out of range"),
        (ingest(python_error(), received_at=float("nan")), "invalid_header", "out of range"),
        (ingest(python_error(), received_at=1e20), "invalid_header", "out of range"),
    ],
)
def test_bad_messages_are_poison_with_a_reason(value: bytes, reason: str,
                                               error_part: str) -> None:
    result = prepare(message(value, offset=4))

    assert isinstance(result, Poison)
    assert (result.reason, result.message.offset) == (reason, 4)
    assert error_part in result.error


def test_dead_letter_envelope_keeps_the_original() -> None:
    poison = Poison(message(b"\x00\xffbinary", offset=12), "undecodable", "missing header line")

    envelope = json.loads(dead_letter(poison))

    assert envelope == {
        "reason": "undecodable", "error": "missing header line", "topic": "ingest-events",
        "partition": 0, "offset": 12,
        "original": base64.b64encode(b"\x00\xffbinary").decode(),
    }


def test_batch_tracks_next_offsets_per_partition_and_readiness() -> None:
    other = Partition("ingest-events", 3)
    batch = Batch()
    assert batch.remaining_wait(1.0) is None
    assert not batch.is_ready(3, 1.0)

    batch.add(Poison(message(b"x", offset=7), "undecodable", "x"))
    batch.add(Poison(message(b"x", offset=2, partition=other), "undecodable", "x"))
    assert batch.offsets == {TOPIC: 8, other: 3}
    assert not batch.is_ready(3, 1.0)
    assert batch.started_at is not None
    assert batch.is_ready(3, 1.0, now=batch.started_at + 1.0)

    batch.add(Poison(message(b"x", offset=8), "undecodable", "x"))
    assert (len(batch), batch.offsets[TOPIC]) == (3, 9)
    assert batch.is_ready(3, 1.0)


def test_retry_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_delay_s=0.1, max_delay_s=1.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5, 10)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
