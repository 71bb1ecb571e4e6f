"""The processor end to end: embedded bus → Processor → PostgreSQL issues + chDB events."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Sequence
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from faultline_core.bus.base import Partition
from faultline_core.bus.embedded import EmbeddedConsumer
from faultline_core.storage.postgres.pool import Pool
from faultline_processor import issue_store
from faultline_processor.issue_store import EventRecord, IssueSeed, RecordResult, Resolution
from faultline_processor.writer import RecordEvents
from tests.unit.processor.conftest import Pipeline, python_error


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_same_exception_twice_is_one_issue_seen_twice(pipeline: Pipeline) -> None:
    first = await pipeline.publish(python_error())
    second = await pipeline.publish(python_error())

    await pipeline.process_all()

    [issue] = await pipeline.issues()
    assert issue["times_seen"] == 2
    assert issue["title"] == "ZeroDivisionError: division by zero"
    assert issue["status"] == "unresolved"
    assert issue["metadata"]["type"] == "ZeroDivisionError"
    rows = await pipeline.stored_events()
    assert sorted(r["event_id"] for r in rows) == sorted([first, second])
    assert {r["group_id"] for r in rows} == {issue["id"]}
    assert {r["exception_type"] for r in rows} == {"ZeroDivisionError"}


async def test_different_exception_type_is_another_issue(pipeline: Pipeline) -> None:
    await pipeline.publish(python_error())
    await pipeline.publish(python_error("KeyError", "'sku'", function="lookup"))
    await pipeline.publish(python_error("KeyError", "'price'", function="lookup"))

    await pipeline.process_all()

    issues = await pipeline.issues()
    assert sorted((i["metadata"]["type"], i["times_seen"]) for i in issues) == [
        ("KeyError", 2), ("ZeroDivisionError", 1)
    ]
    rows = await pipeline.stored_events()
    by_issue = {i["metadata"]["type"]: i["id"] for i in issues}
    assert sorted((r["exception_type"], r["group_id"]) for r in rows) == sorted([
        ("ZeroDivisionError", by_issue["ZeroDivisionError"]),
        ("KeyError", by_issue["KeyError"]),
        ("KeyError", by_issue["KeyError"]),
    ])


async def test_redelivered_event_counts_once(pipeline: Pipeline) -> None:
    payload = python_error()
    duplicates_before = metric("faultline_processor_duplicates_skipped_total")
    await pipeline.publish(payload)
    await pipeline.publish(payload)  # delivered twice in one batch
    await pipeline.process_all()
    await pipeline.publish(payload)  # and once more, long after it was counted
    await pipeline.process_all()

    [issue] = await pipeline.issues()
    assert issue["times_seen"] == 1
    rows = await pipeline.stored_events()
    assert [r["event_id"] for r in rows] == [payload["event_id"]]
    assert metric("faultline_processor_duplicates_skipped_total") - duplicates_before == 2


async def test_poison_goes_to_dlq_and_processing_continues(pipeline: Pipeline) -> None:
    undecodable_before = metric("faultline_processor_dlq_messages_total", reason="undecodable")
    await pipeline.publish_raw(b"this is not an ingest message", b"7")
    await pipeline.publish(b"[1, 2, 3]")  # a valid message whose payload is no event
    good = await pipeline.publish(python_error())

    await pipeline.process_all()

    dead = await pipeline.dead_letters()
    assert [d["reason"] for d in dead] == ["undecodable", "invalid_event"]
    assert base64.b64decode(dead[0]["original"]) == b"this is not an ingest message"
    assert dead[0]["topic"] == pipeline.bus.events_topic
    assert (dead[0]["partition"], dead[0]["offset"]) == (0, 0)
    assert dead[0]["error"] == "missing header line"
    assert "not an object" in dead[1]["error"]
    assert [r["event_id"] for r in await pipeline.stored_events()] == [good]
    assert (await pipeline.issues())[0]["times_seen"] == 1
    after = metric("faultline_processor_dlq_messages_total", reason="undecodable")
    assert after - undecodable_before == 1


async def test_event_of_deleted_project_is_dead_lettered(pipeline: Pipeline) -> None:
    await pipeline.publish(python_error(), project_id=pipeline.project_id + 1000)
    good = await pipeline.publish(python_error())

    await pipeline.process_all()

    dead = await pipeline.dead_letters()
    assert [d["reason"] for d in dead] == ["unknown_project"]
    assert [r["event_id"] for r in await pipeline.stored_events()] == [good]


async def test_offsets_are_committed(pipeline: Pipeline) -> None:
    for _ in range(3):
        await pipeline.publish(python_error())
    running = await pipeline.process_all()
    assert running.committed(pipeline.bus.events_topic) == 3

    settings = pipeline.settings()
    fresh = EmbeddedConsumer(pipeline.pool, pipeline.bus.events_topic, settings.consumer_group)
    await fresh.start()
    try:
        assert list(await fresh.poll(10, 0.1)) == []
    finally:
        await fresh.close()


class Crash(BaseException):
    """Stands for the process dying: not an ``Exception``, so nothing retries it."""


def failing_once(
    error: BaseException,
) -> tuple[list[int], RecordEvents]:
    calls: list[int] = []

    async def record(pool: Pool, records: Sequence[EventRecord]) -> RecordResult:
        calls.append(len(records))
        if len(calls) == 1:
            raise error
        return await issue_store.record_events(pool, records)

    return calls, record


async def test_crash_between_clickhouse_and_counters_loses_nothing(pipeline: Pipeline) -> None:
    ids = [await pipeline.publish(python_error()) for _ in range(3)]
    calls, crashing_record = failing_once(Crash())

    crashed = await pipeline.start(record_events=crashing_record)
    with pytest.raises(Crash):
        await crashed.task
    await crashed.consumer.close()
    assert calls == [3]
    assert len(await pipeline.stored_events()) == 3  # ClickHouse was written…
    assert [i["times_seen"] for i in await pipeline.issues()] == [0]  # …the counters not
    assert crashed.committed(pipeline.bus.events_topic) == 0

    await pipeline.process_all()  # the restart replays the uncommitted batch

    [issue] = await pipeline.issues()
    assert issue["times_seen"] == 3
    assert sorted(r["event_id"] for r in await pipeline.stored_events()) == sorted(ids)


async def test_failed_write_is_retried_without_committing(pipeline: Pipeline) -> None:
    retries_before = metric("faultline_processor_write_retries_total")
    await pipeline.publish(python_error())
    await pipeline.publish(python_error())
    calls, flaky_record = failing_once(RuntimeError("PostgreSQL went away"))

    await pipeline.process_all(record_events=flaky_record)

    assert calls == [2, 2]
    assert [i["times_seen"] for i in await pipeline.issues()] == [2]
    assert len(await pipeline.stored_events()) == 2
    assert metric("faultline_processor_write_retries_total") - retries_before == 1


async def _set_status(pipeline: Pipeline, issue_id: int, status: str) -> None:
    async with pipeline.pool.connection() as conn:
        await conn.execute(
            "UPDATE issues SET status = %s, status_changed_at = now() WHERE id = %s",
            (status, issue_id),
        )


async def test_resolved_issue_reopens_on_a_new_event(pipeline: Pipeline) -> None:
    await pipeline.publish(python_error())
    await pipeline.process_all()
    [issue] = await pipeline.issues()
    await _set_status(pipeline, issue["id"], "resolved")

    # Received before the resolution (the processor was lagging): no regression.
    lagged = time.time() - 60
    await pipeline.publish(python_error(timestamp=lagged), received_at=lagged)
    await pipeline.process_all()
    [issue] = await pipeline.issues()
    assert (issue["status"], issue["times_seen"]) == ("resolved", 2)

    await pipeline.publish(python_error(), received_at=time.time() + 1)
    await pipeline.process_all()
    [issue] = await pipeline.issues()
    assert (issue["status"], issue["times_seen"]) == ("unresolved", 3)


async def test_ignored_issue_stays_ignored(pipeline: Pipeline) -> None:
    await pipeline.publish(python_error())
    await pipeline.process_all()
    [issue] = await pipeline.issues()
    await _set_status(pipeline, issue["id"], "ignored")

    await pipeline.publish(python_error(), received_at=time.time() + 1)
    await pipeline.process_all()

    [issue] = await pipeline.issues()
    assert (issue["status"], issue["times_seen"]) == ("ignored", 2)


async def test_stop_drains_the_in_flight_batch(pipeline: Pipeline) -> None:
    # A batch that would wait a minute: only stop() can have written it.
    settings = pipeline.settings(batch_max_events=1000, batch_max_wait_s=60.0)
    consumed_before = metric("faultline_processor_messages_consumed_total")
    running = await pipeline.start(settings)
    for _ in range(3):
        await pipeline.publish(python_error())
    deadline = time.monotonic() + 10
    while metric("faultline_processor_messages_consumed_total") - consumed_before < 3:
        assert time.monotonic() < deadline, "the processor did not read the messages"
        await asyncio.sleep(0.02)
    assert await pipeline.issues() == []  # read, but still in the open batch

    started = time.monotonic()
    await running.stop()

    assert time.monotonic() - started < 10
    assert [i["times_seen"] for i in await pipeline.issues()] == [3]
    assert len(await pipeline.stored_events()) == 3
    assert running.committed(pipeline.bus.events_topic) == 3


async def test_writer_failure_pauses_consumption_until_it_recovers(pipeline: Pipeline) -> None:
    broken = asyncio.Event()
    broken.set()

    async def resolve(pool: Pool, seeds: Sequence[IssueSeed]) -> Resolution:
        if broken.is_set():
            raise ConnectionError("PostgreSQL is down")
        return await issue_store.resolve_issues(pool, seeds)

    consumed_before = metric("faultline_processor_messages_consumed_total")
    running = await pipeline.start(resolve_issues=resolve)
    await pipeline.publish(python_error())
    deadline = time.monotonic() + 10
    while metric("faultline_processor_paused") != 1:
        assert time.monotonic() < deadline, "the processor never paused"
        await asyncio.sleep(0.02)
    for _ in range(3):
        await pipeline.publish(python_error())
    await asyncio.sleep(0.3)
    # Paused: the later messages stay on the bus while the first batch is retried.
    assert metric("faultline_processor_messages_consumed_total") - consumed_before == 1
    assert running.committed(pipeline.bus.events_topic) == 0

    broken.clear()
    await running.wait_committed(pipeline.bus.events_topic, 4)
    await running.stop()
    assert metric("faultline_processor_paused") == 0
    assert [i["times_seen"] for i in await pipeline.issues()] == [4]


async def test_on_revoke_writes_and_commits_before_returning(pipeline: Pipeline) -> None:
    settings = pipeline.settings(batch_max_events=1000, batch_max_wait_s=60.0)
    consumed_before = metric("faultline_processor_messages_consumed_total")
    running = await pipeline.start(settings)
    await pipeline.publish(python_error())
    await pipeline.publish(python_error())
    deadline = time.monotonic() + 10
    while metric("faultline_processor_messages_consumed_total") - consumed_before < 2:
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)

    await running.processor.on_revoke(frozenset({Partition(pipeline.bus.events_topic, 0)}))

    assert running.committed(pipeline.bus.events_topic) == 2
    assert [i["times_seen"] for i in await pipeline.issues()] == [2]
    await running.stop()


async def test_batches_are_cut_at_the_size_limit(pipeline: Pipeline) -> None:
    count_before = metric("faultline_processor_batch_size_count")
    sum_before = metric("faultline_processor_batch_size_sum")
    for _ in range(10):
        await pipeline.publish(python_error())

    await pipeline.process_all(pipeline.settings(batch_max_events=4, batch_max_wait_s=0.05))

    batches = metric("faultline_processor_batch_size_count") - count_before
    assert metric("faultline_processor_batch_size_sum") - sum_before == 10
    assert batches >= 3  # at most 4 messages per batch
    assert [i["times_seen"] for i in await pipeline.issues()] == [10]


async def test_liveness_file_is_touched(pipeline: Pipeline, tmp_path: Path) -> None:
    liveness = tmp_path / "alive"
    running = await pipeline.start(pipeline.settings(liveness_file=liveness))
    deadline = time.monotonic() + 5
    while not liveness.exists():
        assert time.monotonic() < deadline
        await asyncio.sleep(0.02)
    first = liveness.stat().st_mtime_ns
    beat = running.processor.last_progress
    await asyncio.sleep(0.2)  # longer than one idle poll

    assert liveness.stat().st_mtime_ns > first
    assert running.processor.last_progress > beat
    await running.stop()


async def test_end_to_end_latency_is_observed(pipeline: Pipeline) -> None:
    def over_one_second() -> float:
        return metric("faultline_processor_end_to_end_seconds_bucket", le="+Inf") - metric(
            "faultline_processor_end_to_end_seconds_bucket", le="1.0"
        )

    slow_before = over_one_second()
    written_before = metric("faultline_processor_events_written_total")
    received = time.time() - 2
    await pipeline.publish(python_error(timestamp=received), received_at=received)
    await pipeline.process_all()

    assert metric("faultline_processor_events_written_total") - written_before == 1
    assert over_one_second() - slow_before == 1  # the 2 s it waited on the bus
