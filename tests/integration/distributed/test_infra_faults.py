"""Kafka or ClickHouse going away under a running stack, and coming back.

Both tests stop a server the whole session shares and restart it on the same ports and
data, in a ``finally``, so later tests find it running.
"""

from __future__ import annotations

import time
import uuid

import httpx

from tests.integration.allinone import wait_for
from tests.integration.distributed.conftest import StackFactory
from tests.integration.distributed.traffic import (
    assert_exactly_once,
    counted_in_postgres,
    default_project,
    post_event,
    processor_metric,
    stored_event_ids,
    stored_events,
)
from tests.integration.harness.infra import Infra

PUBLISH_TIMEOUT_S = 2.0
# The relay's answer may take the publish timeout plus the time to build a fresh
# producer; a loaded machine adds more. Unbounded would mean "hangs until the client gives up".
BOUNDED_ANSWER_S = PUBLISH_TIMEOUT_S + 10.0
RETRIES = "faultline_processor_write_retries_total"


def test_relay_answers_503_while_kafka_is_down_and_recovers(
    infra: Infra, new_stack: StackFactory
) -> None:
    stack = new_stack(FAULTLINE_BUS_PUBLISH_TIMEOUT_S=str(PUBLISH_TIMEOUT_S))
    project = default_project(stack)
    accepted: list[str] = []
    with httpx.Client(timeout=60) as client:
        def send() -> httpx.Response:
            event_id = uuid.uuid4().hex
            resp = post_event(client, stack, project, "kafka-outage", event_id)
            if resp.status_code == 200:
                accepted.append(event_id)
            return resp

        assert send().status_code == 200
        infra.stop_kafka()
        try:
            for _ in range(3):
                started = time.monotonic()
                resp = send()
                elapsed = time.monotonic() - started
                assert resp.status_code == 503, resp.text
                assert int(resp.headers["Retry-After"]) > 0
                assert elapsed < BOUNDED_ANSWER_S, f"503 took {elapsed:.1f}s"
        finally:
            infra.restart_kafka()
        wait_for(lambda: send().status_code == 200, timeout_s=60, interval_s=0.5)
        assert send().status_code == 200

    # Accepted events are processed (the processor rode out the outage too), once each.
    # A request refused with 503 may still reach Kafka later (its publish timed out, not
    # failed), so only the accepted ones are known to exist.
    wait_for(lambda: set(accepted) <= stored_event_ids(infra, stack), timeout_s=90)
    stored, distinct = stored_events(infra, stack)
    assert stored == distinct
    assert_exactly_once(infra, stack, [project], distinct)


def test_processor_backs_off_while_clickhouse_is_down_then_catches_up(
    infra: Infra, new_stack: StackFactory
) -> None:
    stack = new_stack()
    project = default_project(stack)
    with httpx.Client(timeout=60) as client:
        assert post_event(client, stack, project, "warm-up").status_code == 200
        assert_exactly_once(infra, stack, [project], 1)
        infra.stop_clickhouse()
        try:
            statuses = [post_event(client, stack, project, f"ch-outage-{i % 2}").status_code
                        for i in range(50)]
            assert statuses == [200] * 50  # ingestion does not depend on ClickHouse
            wait_for(lambda: processor_metric(stack, "processor", RETRIES) >= 5, timeout_s=60)
            # Issues are counted only once the raw events are stored.
            assert counted_in_postgres(stack) == 1
        finally:
            infra.restart_clickhouse()
    retries = processor_metric(stack, "processor", RETRIES)
    assert stack.services["processor"].alive()
    assert_exactly_once(infra, stack, [project], 51)
    # Backoff, not a busy loop: a few attempts per outage, not hundreds.
    assert retries < 40, retries
