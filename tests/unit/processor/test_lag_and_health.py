"""The consumer lag gauge, and the processor's ``/healthz`` next to its metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path

from httpx import AsyncClient
from prometheus_client import REGISTRY

from faultline_core.settings import ProcessorSettings
from faultline_core.storage.postgres.pool import Pool
from faultline_processor import issue_store
from faultline_processor.health import (
    LIVENESS_FILE_NAME,
    LivenessProbe,
    start_health_server,
    with_default_liveness_file,
)
from faultline_processor.issue_store import IssueSeed, Resolution
from tests.unit.processor.conftest import Pipeline, python_error

LAG = "faultline_processor_consumer_lag"


def lag_of(partition: str) -> float | None:
    return REGISTRY.get_sample_value(LAG, {"partition": partition})


async def wait_for_lag(partition: str, expected: float) -> None:
    deadline = time.monotonic() + 10
    while lag_of(partition) != expected:
        assert time.monotonic() < deadline, f"lag {lag_of(partition)}, wanted {expected}"
        await asyncio.sleep(0.02)


async def test_consumer_lag_gauge_follows_what_is_left_on_the_bus(pipeline: Pipeline) -> None:
    broken = asyncio.Event()
    broken.set()

    async def resolve(pool: Pool, seeds: Sequence[IssueSeed]) -> Resolution:
        if broken.is_set():
            raise ConnectionError("PostgreSQL is down")
        return await issue_store.resolve_issues(pool, seeds)

    await pipeline.publish(python_error())
    running = await pipeline.start(resolve_issues=resolve, lag_interval_s=0.0)
    deadline = time.monotonic() + 10
    while REGISTRY.get_sample_value("faultline_processor_paused") != 1:
        assert time.monotonic() < deadline, "the processor never paused"
        await asyncio.sleep(0.02)
    await wait_for_lag("0", 0)  # the one message is read; the writer is stuck on it
    for _ in range(3):
        await pipeline.publish(python_error())

    await wait_for_lag("0", 3)  # paused for backpressure: the rest waits on the bus

    broken.clear()
    await running.wait_committed(pipeline.bus.events_topic, 4)
    await wait_for_lag("0", 0)
    await running.stop()


async def test_healthz_is_ok_while_the_loop_runs_and_503_once_it_stalls(
    pipeline: Pipeline,
) -> None:
    probe = LivenessProbe(stale_after_s=0.5)
    server = start_health_server(0, probe, addr="127.0.0.1")
    try:
        async with AsyncClient(base_url=f"http://127.0.0.1:{server.port}") as client:
            starting = await client.get("/healthz")  # grace period before a processor
            running = await pipeline.start()
            probe.watch(running.processor)
            await asyncio.sleep(0.7)  # longer than stale_after_s: only beats keep it alive
            alive = await client.get("/healthz")
            metrics = await client.get("/metrics")
            await running.stop()
            await asyncio.sleep(0.7)
            stalled = await client.get("/healthz")
    finally:
        await asyncio.to_thread(server.close)

    assert starting.status_code == 200
    assert alive.status_code == 200 and alive.json()["status"] == "ok"
    assert "faultline_processor_messages_consumed_total" in metrics.text
    assert stalled.status_code == 503 and stalled.json()["status"] == "stalled"
    assert stalled.json()["idle_s"] >= 0.5


def test_liveness_file_defaults_to_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    configured = ProcessorSettings(liveness_file=tmp_path / "mine")

    assert with_default_liveness_file(configured, data_dir).liveness_file == tmp_path / "mine"
    default = with_default_liveness_file(ProcessorSettings(), data_dir)
    assert default.liveness_file == data_dir / LIVENESS_FILE_NAME
    assert data_dir.is_dir()

    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    assert with_default_liveness_file(ProcessorSettings(), blocked / "data").liveness_file is None
