"""Processor crashes, a shared consumer group and poison messages, on real Kafka.

"Exactly once" is checked where it shows: ClickHouse holds each event once (after
deduplication), the issues' counts add up to what the relay accepted, and the consumer
group has committed every message, so nothing is left to be redelivered and recounted.
"""

from __future__ import annotations

import base64
import uuid

import httpx
from aiokafka import AIOKafkaProducer

from tests.integration.allinone import wait_for
from tests.integration.distributed.conftest import StackFactory
from tests.integration.distributed.traffic import (
    Publisher,
    assert_exactly_once,
    dead_letters,
    default_project,
    post_event,
    processor_metric,
    projects_on_every_partition,
    stored_events,
)
from tests.integration.harness.infra import Infra, run_async

CONSUMED = "faultline_processor_messages_consumed_total"
# Small batches: a crash then lands between writes of one stream, not after all of it.
SMALL_BATCHES = {"FAULTLINE_PROCESSOR_BATCH_MAX_EVENTS": "20"}


def test_processor_killed_mid_stream_loses_and_doubles_nothing(
    infra: Infra, new_stack: StackFactory
) -> None:
    stack = new_stack(**SMALL_BATCHES)
    projects = [default_project(stack)]
    publisher = Publisher(stack, projects, count=300).start()
    wait_for(lambda: stored_events(infra, stack)[0] >= 20, timeout_s=60, interval_s=0.05)
    stack.services["processor"].kill()
    statuses = publisher.join()
    assert statuses == [200] * 300
    stored_while_down = stored_events(infra, stack)[0]
    assert stored_while_down < 300, "the processor finished before it could be killed"

    stack.start("processor")
    assert_exactly_once(infra, stack, projects, 300)


def test_two_processors_share_partitions_and_survive_one_killed(
    infra: Infra, new_stack: StackFactory
) -> None:
    stack = new_stack(**SMALL_BATCHES)
    projects = projects_on_every_partition(stack, infra.kafka_partitions)
    stack.start("processor", label="processor-2")
    labels = ("processor", "processor-2")
    warm_up: list[int] = []

    def both_consuming() -> bool:
        # Events on every partition until each processor has consumed some: then the
        # group has split the partitions between them.
        with httpx.Client(timeout=30) as client:
            warm_up.extend(post_event(client, stack, p, "warm-up").status_code
                           for p in projects)
        return all(processor_metric(stack, label, CONSUMED) > 0 for label in labels)

    wait_for(both_consuming, timeout_s=60, interval_s=0.5)
    consumed_before = processor_metric(stack, "processor-2", CONSUMED)
    publisher = Publisher(stack, projects, count=400).start()
    wait_for(lambda: processor_metric(stack, "processor-2", CONSUMED) >= consumed_before + 20,
             timeout_s=60, interval_s=0.05)
    stack.services["processor-2"].kill()
    assert publisher.join() == [200] * 400
    assert warm_up == [200] * len(warm_up)
    assert stack.services["processor"].alive()
    assert_exactly_once(infra, stack, projects, 400 + len(warm_up))


def test_poison_message_is_dead_lettered_and_processing_continues(
    infra: Infra, new_stack: StackFactory
) -> None:
    stack = new_stack()
    project = default_project(stack)
    garbage = b"\x00not an ingest message\xff" + uuid.uuid4().bytes
    # Keyed like the project's events, so it sits in their partition ahead of the next one.
    run_async(_publish_raw(stack.env, str(project.id).encode(), garbage))
    with httpx.Client(timeout=30) as client:
        assert post_event(client, stack, project, "after-poison").status_code == 200

    letters = dead_letters(stack, expected=1)
    assert len(letters) == 1
    assert letters[0]["reason"] == "undecodable" and letters[0]["error"]
    assert base64.b64decode(letters[0]["original"]) == garbage
    assert letters[0]["topic"] == stack.env["FAULTLINE_BUS_EVENTS_TOPIC"]
    assert_exactly_once(infra, stack, [project], 1)


async def _publish_raw(env: dict[str, str], key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=env["FAULTLINE_KAFKA_BOOTSTRAP_SERVERS"])
    await producer.start()
    try:
        await producer.send_and_wait(env["FAULTLINE_BUS_EVENTS_TOPIC"], value, key=key)
    finally:
        await producer.stop()
