"""Load and bookkeeping for the fault tests: raw envelopes, projects, counts and lag."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx
import psycopg
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.partitioner import murmur2
from psycopg.rows import dict_row

from faultline_core.storage.postgres import tenancy
from tests.integration.allinone import wait_for
from tests.integration.harness.infra import Infra, run_async
from tests.integration.harness.services import Stack

POST_TIMEOUT_S = 30.0
CATCH_UP_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class Project:
    id: int
    slug: str
    public_key: str


def kafka_partition(project_id: int, partitions: int) -> int:
    """Where the relay's messages of a project land (key = the id in ASCII, murmur2)."""
    return int(murmur2(str(project_id).encode()) & 0x7FFFFFFF) % partitions


def default_project(stack: Stack) -> Project:
    key = stack.dsn.split("://", 1)[1].split("@", 1)[0]
    return Project(int(stack.dsn.rsplit("/", 1)[1]), "default", key)


def projects_on_every_partition(stack: Stack, partitions: int) -> list[Project]:
    """One project per Kafka partition (creating projects until every one is covered)."""
    return run_async(_projects_on_every_partition(stack, partitions))


async def _projects_on_every_partition(stack: Stack, partitions: int) -> list[Project]:
    found: dict[int, Project] = {}
    default = default_project(stack)
    found[kafka_partition(default.id, partitions)] = default
    dsn = stack.env["FAULTLINE_PG_DSN"]
    async with await psycopg.AsyncConnection.connect(dsn, row_factory=dict_row) as conn:
        row = await (await conn.execute("SELECT id FROM organizations WHERE slug = 'default'"))\
            .fetchone()
        assert row is not None
        for attempt in range(100):
            if len(found) == partitions:
                break
            slug = f"p{attempt}"
            project_id = await tenancy.create_project(conn, int(row["id"]), slug, slug)
            key = await tenancy.create_project_key(conn, project_id)
            found.setdefault(kafka_partition(project_id, partitions),
                             Project(project_id, slug, key))
        await conn.commit()
    assert len(found) == partitions, f"projects cover only partitions {sorted(found)}"
    return [found[index] for index in sorted(found)]


def envelope(event_id: str, fingerprint: str) -> bytes:
    """A minimal Sentry envelope with one error event, grouped by ``fingerprint``."""
    event = {"event_id": event_id, "message": f"fault test {fingerprint}", "level": "error",
             "fingerprint": [fingerprint], "platform": "python"}
    payload = json.dumps(event).encode()
    return b"\n".join([json.dumps({"event_id": event_id}).encode(),
                       json.dumps({"type": "event", "length": len(payload)}).encode(), payload])


def post_event(client: httpx.Client, stack: Stack, project: Project, fingerprint: str,
               event_id: str | None = None) -> httpx.Response:
    """Send one event (a new one unless ``event_id``) to the relay as an SDK would."""
    return client.post(
        f"{stack.relay_url}/api/{project.id}/envelope/",
        content=envelope(event_id or uuid.uuid4().hex, fingerprint),
        headers={"X-Sentry-Auth": f"Sentry sentry_version=7, sentry_key={project.public_key}",
                 "Content-Type": "application/x-sentry-envelope"},
    )


@dataclass
class Publisher:
    """Sends ``count`` events spread over ``projects`` from a background thread."""

    stack: Stack
    projects: Sequence[Project]
    count: int
    concurrency: int = 4
    statuses: list[int] = field(default_factory=list)
    _thread: threading.Thread | None = None

    def start(self) -> Publisher:
        self._thread = threading.Thread(target=self._run, name="publisher", daemon=True)
        self._thread.start()
        return self

    def join(self, timeout_s: float = 120.0) -> list[int]:
        assert self._thread is not None
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), "publishing did not finish in time"
        return self.statuses

    def _run(self) -> None:
        def send(index: int) -> int:
            project = self.projects[index % len(self.projects)]
            return post_event(client, self.stack, project, f"group-{index % 3}").status_code

        with httpx.Client(timeout=POST_TIMEOUT_S) as client, \
                ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            self.statuses.extend(pool.map(send, range(self.count)))


def stored_events(infra: Infra, stack: Stack) -> tuple[int, int]:
    """ClickHouse's view: (rows after deduplication, distinct event ids)."""
    client = infra.clickhouse_client(stack.env["FAULTLINE_CLICKHOUSE_DATABASE"])
    try:
        rows: Any = client.execute("SELECT count(), uniqExact(event_id) FROM errors FINAL")
    finally:
        client.disconnect()
    return int(rows[0][0]), int(rows[0][1])


def stored_event_ids(infra: Infra, stack: Stack) -> set[str]:
    client = infra.clickhouse_client(stack.env["FAULTLINE_CLICKHOUSE_DATABASE"])
    try:
        rows: Any = client.execute("SELECT DISTINCT event_id FROM errors")
    finally:
        client.disconnect()
    return {uuid.UUID(str(row[0])).hex for row in rows}


def counted_in_postgres(stack: Stack) -> int:
    """The sum of every issue's ``times_seen``, read from PostgreSQL itself (for when
    the query service cannot answer)."""
    with psycopg.connect(stack.env["FAULTLINE_PG_DSN"]) as conn:
        row = conn.execute("SELECT coalesce(sum(times_seen), 0) FROM issues").fetchone()
    assert row is not None
    return int(row[0])


def counted_events(stack: Stack, projects: Sequence[Project]) -> int:
    """The sum of every issue's ``count`` in the projects, through the web API."""
    total = 0
    for project in projects:
        resp = stack.api(f"/api/0/projects/default/{project.slug}/issues/",
                         params={"limit": "100"})
        assert resp.status_code == 200, resp.text
        total += sum(int(issue["count"]) for issue in resp.json())
    return total


def consumer_caught_up(stack: Stack, partition_count: int) -> bool:
    """Whether the processors' group has committed every message of the events topic."""
    return run_async(_caught_up(stack.env, partition_count))


async def _caught_up(env: dict[str, str], partition_count: int) -> bool:
    bootstrap = env["FAULTLINE_KAFKA_BOOTSTRAP_SERVERS"]
    topic = env["FAULTLINE_BUS_EVENTS_TOPIC"]
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await admin.start()
    await consumer.start()
    try:
        committed = await admin.list_consumer_group_offsets(
            env["FAULTLINE_PROCESSOR_CONSUMER_GROUP"])
        partitions = [TopicPartition(topic, index) for index in range(partition_count)]
        ends = await consumer.end_offsets(partitions)
    finally:
        await consumer.stop()
        await admin.close()
    return all(end == 0 or (tp in committed and committed[tp].offset == end)
               for tp, end in ends.items())


def processor_metric(stack: Stack, label: str, name: str) -> float:
    """A counter's value from a processor's Prometheus endpoint (0 when absent)."""
    port = stack.services[label].env["FAULTLINE_PROCESSOR_METRICS_PORT"]
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith((f"{name} ", f"{name}{{")):  # every label combination
            total += float(line.rsplit(" ", 1)[1])
    return total


def dead_letters(stack: Stack, expected: int, timeout_s: float = 60.0) -> list[dict[str, Any]]:
    """Read the DLQ topic from the start until ``expected`` messages arrived."""
    return run_async(_dead_letters(stack.env, expected, timeout_s))


async def _dead_letters(env: dict[str, str], expected: int,
                        timeout_s: float) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(env["FAULTLINE_BUS_DLQ_TOPIC"],
                                bootstrap_servers=env["FAULTLINE_KAFKA_BOOTSTRAP_SERVERS"],
                                auto_offset_reset="earliest", enable_auto_commit=False)
    await consumer.start()
    letters: list[dict[str, Any]] = []
    try:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while len(letters) < expected and loop.time() < deadline:
            batches = await consumer.getmany(timeout_ms=500)
            letters += [json.loads(r.value) for records in batches.values() for r in records]
    finally:
        await consumer.stop()
    return letters


def assert_exactly_once(infra: Infra, stack: Stack, projects: Sequence[Project], sent: int) -> None:
    """Wait until all ``sent`` events are processed and committed; then check each is
    stored and counted once."""
    def done() -> bool:
        caught_up = consumer_caught_up(stack, infra.kafka_partitions)
        return caught_up and counted_events(stack, projects) >= sent

    wait_for(done, timeout_s=CATCH_UP_TIMEOUT_S, interval_s=0.5)
    assert stored_events(infra, stack) == (sent, sent)
    assert counted_events(stack, projects) == sent
