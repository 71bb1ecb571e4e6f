"""Fixtures for the processor: real PostgreSQL (with the embedded bus on it) and chDB.

:class:`Pipeline` publishes real-looking sentry-python events through an
``EmbeddedProducer`` and runs :class:`Processor` instances against the same database, the
way the all-in-one does.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest_asyncio
from psycopg.rows import dict_row
from pydantic import SecretStr

from faultline_core.bus.base import BusMessage, Partition
from faultline_core.bus.embedded import EmbeddedConsumer, EmbeddedProducer
from faultline_core.messages import IngestMessage
from faultline_core.settings import BusSettings, PostgresSettings, ProcessorSettings
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.postgres import tenancy
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_processor.runner import Processor
from faultline_processor.writer import RetryPolicy
from tests.integration.harness.clickhouse import ClickHouseServer

WAIT_S = 15.0


def python_error(
    exc_type: str = "ZeroDivisionError",
    value: str = "division by zero",
    *,
    function: str = "divide",
    event_id: str | None = None,
    timestamp: float | None = None,
    level: str = "error",
) -> dict[str, Any]:
    """An error event shaped like sentry-python 2.x sends it (exception with frames)."""
    return {
        "event_id": event_id or uuid.uuid4().hex,
        "timestamp": timestamp if timestamp is not None else time.time() - 1,
        "platform": "python",
        "level": level,
        "server_name": "web-1",
        "environment": "production",
        "release": "shop@1.4.2",
        "sdk": {
            "name": "sentry.python",
            "version": "2.19.0",
            "packages": [{"name": "pypi:sentry-sdk", "version": "2.19.0"}],
            "integrations": ["argv", "atexit", "dedupe", "excepthook", "logging"],
        },
        "contexts": {
            "runtime": {"name": "CPython", "version": "3.11.9", "build": "3.11.9 (main)"},
            "trace": {"trace_id": uuid.uuid4().hex, "span_id": uuid.uuid4().hex[:16]},
        },
        "exception": {
            "values": [
                {
                    "type": exc_type,
                    "value": value,
                    "module": None,
                    "mechanism": {"type": "excepthook", "handled": False},
                    "stacktrace": {
                        "frames": [
                            {
                                "filename": "shop/views.py",
                                "abs_path": "/srv/shop/views.py",
                                "function": "checkout",
                                "module": "shop.views",
                                "lineno": 42,
                                "pre_context": ["def checkout(request):", "    cart = load()"],
                                "context_line": "    total = divide(cart.sum, cart.count)",
                                "post_context": ["    return total"],
                                "in_app": True,
                                "vars": {"request": "<Request>", "cart": "<Cart>"},
                            },
                            {
                                "filename": "shop/maths.py",
                                "abs_path": "/srv/shop/maths.py",
                                "function": function,
                                "module": "shop.maths",
                                "lineno": 7,
                                "context_line": "    return a / b",
                                "in_app": True,
                                "vars": {"a": "10", "b": "0"},
                            },
                        ]
                    },
                }
            ]
        },
        "breadcrumbs": {"values": []},
        "extra": {"sys.argv": ["manage.py", "runserver"]},
        "modules": {"django": "5.0.6", "sentry-sdk": "2.19.0"},
    }


@dataclass
class RunningProcessor:
    processor: Processor
    consumer: EmbeddedConsumer
    task: asyncio.Task[None]

    def committed(self, topic: str) -> int:
        return self.processor.committed.get(Partition(topic, 0), 0)

    async def wait_committed(self, topic: str, offset: int) -> None:
        """Until the processor has committed up to ``offset`` (the next to read)."""
        deadline = time.monotonic() + WAIT_S
        while self.committed(topic) < offset:
            if self.task.done():
                self.task.result()  # raises what killed it
                raise AssertionError("the processor stopped before catching up")
            if time.monotonic() > deadline:
                raise AssertionError(f"committed {self.committed(topic)}, wanted {offset}")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        await self.processor.stop()
        await self.task
        await self.consumer.close()


@dataclass
class Pipeline:
    """The bus, the stores and a project, plus helpers to publish and to process."""

    pool: Pool
    clickhouse: ClickHouse
    producer: EmbeddedProducer
    project_id: int
    bus: BusSettings = field(default_factory=BusSettings)
    published: int = 0
    running: list[RunningProcessor] = field(default_factory=list)

    def settings(self, **overrides: Any) -> ProcessorSettings:
        values: dict[str, Any] = {"batch_max_events": 50, "batch_max_wait_s": 0.05}
        values.update(overrides)
        return ProcessorSettings(**values)

    async def publish_raw(self, value: bytes, key: bytes | None = None) -> None:
        await self.producer.publish(self.bus.events_topic, key, value)
        self.published += 1

    async def publish(
        self,
        payload: dict[str, Any] | bytes,
        *,
        project_id: int | None = None,
        received_at: float | None = None,
    ) -> str:
        """Publish one event the way the relay does; returns its event id."""
        project = project_id if project_id is not None else self.project_id
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        event_id = payload["event_id"] if isinstance(payload, dict) else uuid.uuid4().hex
        message = IngestMessage(
            project_id=project, event_id=event_id, item_type="event",
            received_at=received_at if received_at is not None else time.time(),
            client_ip="203.0.113.9", payload=body,
        )
        await self.publish_raw(message.encode(), str(project).encode())
        return str(event_id)

    async def start(self, settings: ProcessorSettings | None = None,
                    **processor_kwargs: Any) -> RunningProcessor:
        settings = settings or self.settings()
        processor: Processor | None = None

        async def on_revoke(partitions: frozenset[Partition]) -> None:
            assert processor is not None
            await processor.on_revoke(partitions)

        consumer = EmbeddedConsumer(
            self.pool, self.bus.events_topic, settings.consumer_group,
            on_revoke=on_revoke, recheck_interval_s=0.05,
        )
        await consumer.start()
        processor_kwargs.setdefault("retry", RetryPolicy(initial_delay_s=0.01, max_delay_s=0.05))
        processor_kwargs.setdefault("idle_poll_s", 0.05)
        processor = Processor(consumer, self.producer, self.clickhouse, self.pool, settings,
                              self.bus, **processor_kwargs)
        running = RunningProcessor(processor, consumer, asyncio.create_task(processor.run()))
        self.running.append(running)
        return running

    async def process_all(self, settings: ProcessorSettings | None = None,
                          **processor_kwargs: Any) -> RunningProcessor:
        """Run a processor until everything published so far is committed, then stop it."""
        running = await self.start(settings, **processor_kwargs)
        await running.wait_committed(self.bus.events_topic, self.published)
        await running.stop()
        return running

    async def rows(self, sql: str, *params: Any) -> list[dict[str, Any]]:
        """The rows of one PostgreSQL query, as dicts."""
        async with self.pool.connection() as conn:
            cur = conn.cursor(row_factory=dict_row)
            await cur.execute(sql, params)
            return list(await cur.fetchall())

    async def issues(self) -> list[dict[str, Any]]:
        return await self.rows("SELECT * FROM issues ORDER BY id")

    async def stored_events(self) -> list[dict[str, Any]]:
        """The ``errors`` rows as readers see them (FINAL collapses replays)."""
        return await self.clickhouse.query(
            "SELECT event_id, group_id, primary_hash, exception_type, title"
            " FROM errors FINAL WHERE project_id = %(project)s ORDER BY timestamp",
            {"project": self.project_id},
        )

    async def dead_letters(self) -> list[dict[str, Any]]:
        consumer = EmbeddedConsumer(self.pool, self.bus.dlq_topic, "test-dlq-reader")
        await consumer.start()
        try:
            messages: list[BusMessage] = list(await consumer.poll(100, 0.2))
        finally:
            await consumer.close()
        return [json.loads(m.value) for m in messages]


@pytest_asyncio.fixture
async def pool(pg_dsn: str) -> AsyncIterator[Pool]:
    settings = PostgresSettings(dsn=SecretStr(pg_dsn), pool_min_size=1, pool_max_size=8)
    pool = await open_pool(settings, name="processor-tests")
    yield pool
    await pool.close()


@pytest_asyncio.fixture
async def project_id(pool: Pool) -> int:
    async with pool.connection() as conn, conn.transaction():
        org = await tenancy.create_organization(conn, "acme", "Acme")
        return await tenancy.create_project(conn, org, "shop", "Shop", "python")


@asynccontextmanager
async def running_pipeline(
    pool: Pool, clickhouse: ClickHouse, project_id: int
) -> AsyncIterator[Pipeline]:
    """A :class:`Pipeline` on ``clickhouse``; its processors are stopped on exit."""
    producer = EmbeddedProducer(pool, publish_timeout_s=5.0)
    await producer.start()
    pipeline = Pipeline(pool, clickhouse, producer, project_id)
    try:
        yield pipeline
    finally:
        for running in pipeline.running:
            if not running.task.done():
                running.task.cancel()
                await asyncio.gather(running.task, return_exceptions=True)
            await running.consumer.close()
        await producer.close()


@pytest_asyncio.fixture
async def pipeline(
    pool: Pool, clickhouse: ClickHouse, project_id: int
) -> AsyncIterator[Pipeline]:
    async with running_pipeline(pool, clickhouse, project_id) as pipeline:
        yield pipeline


@pytest_asyncio.fixture
async def native_pipeline(
    pool: Pool, clickhouse_native: ClickHouse, project_id: int
) -> AsyncIterator[Pipeline]:
    """The processor's pipeline writing to the ClickHouse 18.16 server instead of chDB."""
    async with running_pipeline(pool, clickhouse_native, project_id) as pipeline:
        yield pipeline


def run_faultline_cli(
    pg_dsn: str, server: ClickHouseServer, database: str, *args: str, timeout_s: float = 180
) -> subprocess.CompletedProcess[str]:
    """``python -m faultline_processor.cli *args`` against PostgreSQL and the 18.16 server,
    configured through the environment as a user would."""
    env = {
        **os.environ,
        "FAULTLINE_PG_DSN": pg_dsn,
        "FAULTLINE_CLICKHOUSE_BACKEND": "native",
        "FAULTLINE_CLICKHOUSE_HOST": server.host,
        "FAULTLINE_CLICKHOUSE_PORT": str(server.tcp_port),
        "FAULTLINE_CLICKHOUSE_DATABASE": database,
    }
    return subprocess.run(
        [sys.executable, "-m", "faultline_processor.cli", *args],
        env=env, capture_output=True, text=True, timeout=timeout_s, check=False)
