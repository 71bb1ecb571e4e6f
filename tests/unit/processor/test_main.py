"""``python -m faultline_processor``'s ``serve``: settings from the environment, SIGTERM drains."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path
from typing import cast

import pytest

from faultline_core.bus.embedded import EmbeddedConsumer
from faultline_core.settings import AppSettings, BusSettings, ProcessorSettings
from faultline_core.storage.clickhouse.chdb import ChdbClickHouse
from faultline_processor.__main__ import serve
from tests.unit.processor.conftest import Pipeline, python_error


async def test_serve_processes_until_sigterm_then_drains(
    pipeline: Pipeline, pg_dsn: str, chdb_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = cast(ChdbClickHouse, pipeline.clickhouse).database
    monkeypatch.setenv("FAULTLINE_PG_DSN", pg_dsn)
    monkeypatch.setenv("FAULTLINE_CLICKHOUSE_BACKEND", "chdb")
    monkeypatch.setenv("FAULTLINE_CLICKHOUSE_CHDB_PATH", str(chdb_path))
    monkeypatch.setenv("FAULTLINE_CLICKHOUSE_DATABASE", database)
    settings = ProcessorSettings(batch_max_events=100, batch_max_wait_s=0.05)
    await pipeline.publish(python_error())
    await pipeline.publish(python_error())

    serving = asyncio.create_task(serve(AppSettings(), settings, BusSettings()))
    deadline = time.monotonic() + 15
    while [i["times_seen"] for i in await pipeline.issues()] != [2]:
        assert not serving.done(), serving.exception()
        assert time.monotonic() < deadline, "the events were never counted"
        await asyncio.sleep(0.05)
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(serving, 10)

    assert len(await pipeline.stored_events()) == 2
    consumer = EmbeddedConsumer(pipeline.pool, pipeline.bus.events_topic, settings.consumer_group)
    await consumer.start()
    try:
        assert list(await consumer.poll(10, 0.1)) == []  # all committed
    finally:
        await consumer.close()
