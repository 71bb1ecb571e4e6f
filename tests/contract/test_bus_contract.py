"""The bus contract (``faultline_core/bus/base.py``), run against every adapter.

"embedded" is the PostgreSQL log on a fresh migrated database; "kafka" is a real Apache
Kafka broker (``tests/integration/harness/kafka.py``, started once per session) or the
broker named by ``FAULTLINE_TEST_KAFKA_BOOTSTRAP``.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from psycopg import AsyncConnection
from psycopg.rows import DictRow
from psycopg_pool import AsyncConnectionPool
from pydantic import SecretStr

from faultline_core.bus.base import (
    BusConsumer,
    BusMessage,
    BusProducer,
    BusUnavailable,
    Partition,
)
from faultline_core.bus.embedded import EmbeddedConsumer, EmbeddedProducer, RevokeCallback
from faultline_core.bus.factory import build_consumer, build_producer
from faultline_core.bus.kafka import KafkaConsumerAdapter, KafkaProducerAdapter
from faultline_core.ports import free_port
from faultline_core.settings import BusSettings, KafkaSettings, PostgresSettings
from faultline_core.storage.postgres.pool import Pool, open_pool

PUBLISH_TIMEOUT_S = 5.0
UNREACHABLE_TIMEOUT_S = 0.5
KAFKA_PARTITIONS = 4
DRAIN_DEADLINE_S = 20.0


@dataclass
class BusUnderTest:
    """Builds started producers and consumers of one adapter; closes them at teardown."""

    name: str
    new_producer: Callable[[], BusProducer]
    new_consumer: Callable[[str, str, RevokeCallback | None], BusConsumer]
    new_unreachable_producer: Callable[[float], Awaitable[BusProducer]]
    create_topic: Callable[[str], Awaitable[None]]
    _opened: list[BusProducer | BusConsumer] = field(default_factory=list)

    async def producer(self) -> BusProducer:
        producer = self.new_producer()
        self._opened.append(producer)
        await producer.start()
        return producer

    async def consumer(
        self, topic: str, group_id: str, on_revoke: RevokeCallback | None = None
    ) -> BusConsumer:
        consumer = self.new_consumer(topic, group_id, on_revoke)
        self._opened.append(consumer)
        await consumer.start()
        return consumer

    async def topic(self) -> str:
        name = f"t-{uuid.uuid4().hex[:12]}"
        await self.create_topic(name)
        return name

    async def close_all(self) -> None:
        for opened in reversed(self._opened):
            await opened.close()


def _unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


# --- adapters under test -----------------------------------------------------------------




def _kafka_settings(bootstrap: str) -> KafkaSettings:
    # Short group timeouts so joins and leaves in tests take well under a second.
    return KafkaSettings(
        bootstrap_servers=bootstrap,
        client_id="faultline-tests",
        linger_ms=2,
        request_timeout_ms=5000,
        session_timeout_ms=3000,
        heartbeat_interval_ms=300,
    )


async def _create_kafka_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, KAFKA_PARTITIONS, 1)])
    finally:
        await admin.close()


def _kafka_bus(bootstrap: str) -> BusUnderTest:
    settings = _kafka_settings(bootstrap)

    async def unreachable(timeout_s: float) -> BusProducer:
        dead = _kafka_settings(f"127.0.0.1:{free_port()}")
        return KafkaProducerAdapter(dead, timeout_s, retry_start_after_s=0.0)

    async def create_topic(name: str) -> None:
        await _create_kafka_topic(bootstrap, name)

    return BusUnderTest(
        name="kafka",
        new_producer=lambda: KafkaProducerAdapter(settings, PUBLISH_TIMEOUT_S),
        new_consumer=lambda topic, group, on_revoke: KafkaConsumerAdapter(
            settings, topic, group, on_revoke=on_revoke
        ),
        new_unreachable_producer=unreachable,
        create_topic=create_topic,
    )


def _embedded_bus(pool: Pool, dsn: str, cleanup: list[Pool]) -> BusUnderTest:
    async def unreachable(timeout_s: float) -> BusProducer:
        # Nothing listens on that port: the pool can never hand out a connection.
        dead: Pool = AsyncConnectionPool(
            f"host=127.0.0.1 port={free_port()} dbname=none connect_timeout=1",
            connection_class=AsyncConnection[DictRow],
            min_size=1,
            open=False,
        )
        await dead.open(wait=False)
        cleanup.append(dead)
        return EmbeddedProducer(dead, timeout_s)

    async def create_topic(name: str) -> None:
        """Embedded topics need no setup."""

    return BusUnderTest(
        name="embedded",
        new_producer=lambda: EmbeddedProducer(pool, PUBLISH_TIMEOUT_S),
        # Consumers get the DSN so the path that builds its own pool is exercised too.
        new_consumer=lambda topic, group, on_revoke: EmbeddedConsumer(
            dsn, topic, group, on_revoke=on_revoke
        ),
        new_unreachable_producer=unreachable,
        create_topic=create_topic,
    )


@dataclass(frozen=True)
class BusTarget:
    name: str
    address: str  # embedded: a PostgreSQL DSN; kafka: bootstrap servers


@pytest.fixture(params=["embedded", "kafka"])
def bus_target(request: pytest.FixtureRequest) -> BusTarget:
    # Sync on purpose: the server fixtures behind it must not start inside the event loop.
    if request.param == "kafka":
        return BusTarget("kafka", request.getfixturevalue("kafka_bootstrap"))
    return BusTarget("embedded", request.getfixturevalue("pg_dsn"))


@pytest_asyncio.fixture
async def bus(bus_target: BusTarget) -> AsyncIterator[BusUnderTest]:
    if bus_target.name == "kafka":
        under_test = _kafka_bus(bus_target.address)
        yield under_test
        await under_test.close_all()
        return
    dsn = bus_target.address
    pool = await open_pool(PostgresSettings(dsn=SecretStr(dsn)), name="bus-tests")
    extra_pools: list[Pool] = []
    under_test = _embedded_bus(pool, dsn, extra_pools)
    yield under_test
    await under_test.close_all()
    for extra in extra_pools:
        await extra.close()
    await pool.close()


# --- helpers -------------------------------------------------------------------------------


async def drain(consumer: BusConsumer, count: int) -> list[BusMessage]:
    """Poll until ``count`` messages arrived (failing after a deadline), then check that
    nothing more follows."""
    received: list[BusMessage] = []
    deadline = time.monotonic() + DRAIN_DEADLINE_S
    while len(received) < count:
        assert time.monotonic() < deadline, f"got {len(received)} of {count} messages"
        received.extend(await consumer.poll(count - len(received), 0.5))
    assert not await consumer.poll(10, 0.2), "more messages than published"
    return received


async def wait_assigned(consumer: BusConsumer) -> None:
    """Poll an empty topic until the group has given the consumer its partitions."""
    deadline = time.monotonic() + DRAIN_DEADLINE_S
    while not consumer.assignment():
        assert time.monotonic() < deadline, "no partitions assigned"
        assert not await consumer.poll(10, 0.2)


def values(messages: Sequence[BusMessage]) -> list[bytes]:
    return [message.value for message in messages]


# --- the contract --------------------------------------------------------------------------


async def test_publish_then_poll_returns_the_message(bus: BusUnderTest) -> None:
    topic = await bus.topic()
    producer = await bus.producer()
    before_ms = int(time.time() * 1000)
    await producer.publish(topic, b"42", b"first event")
    await producer.publish(topic, None, b"no key")
    consumer = await bus.consumer(topic, _unique("g"))

    received = await drain(consumer, 2)

    by_value = {message.value: message for message in received}
    first = by_value[b"first event"]
    assert first.key == b"42"
    assert first.partition.topic == topic
    assert first.offset == 0
    assert first.partition in consumer.assignment()
    assert before_ms - 60_000 <= first.timestamp_ms <= int(time.time() * 1000) + 60_000
    assert by_value[b"no key"].key is None


async def test_messages_with_one_key_keep_their_order(bus: BusUnderTest) -> None:
    topic = await bus.topic()
    producer = await bus.producer()
    sent = [f"event-{i}".encode() for i in range(30)]
    for value in sent:
        await producer.publish(topic, b"7", value)
    consumer = await bus.consumer(topic, _unique("g"))

    received = await drain(consumer, len(sent))

    assert values(received) == sent
    assert len({message.partition for message in received}) == 1
    offsets = [message.offset for message in received]
    assert offsets == sorted(offsets) and len(set(offsets)) == len(offsets)


async def test_poll_returns_at_most_max_messages(bus: BusUnderTest) -> None:
    topic = await bus.topic()
    producer = await bus.producer()
    for i in range(5):
        await producer.publish(topic, b"1", str(i).encode())
    consumer = await bus.consumer(topic, _unique("g"))
    deadline = time.monotonic() + DRAIN_DEADLINE_S
    batch: Sequence[BusMessage] = []
    while not batch and time.monotonic() < deadline:
        batch = await consumer.poll(2, 0.5)

    assert [message.value for message in batch] == [b"0", b"1"]
    assert values(await drain(consumer, 3)) == [b"2", b"3", b"4"]


async def test_a_restarted_group_resumes_at_its_committed_offset(bus: BusUnderTest) -> None:
    """At-least-once: what was committed is not redelivered, everything after it is."""
    topic, group = await bus.topic(), _unique("g")
    producer = await bus.producer()
    sent = [f"m{i}".encode() for i in range(6)]
    for value in sent:
        await producer.publish(topic, b"p1", value)
    first = await bus.consumer(topic, group)
    received = await drain(first, 6)
    third = received[2]
    await first.commit({third.partition: third.offset + 1})
    await first.close()  # "crash" before the rest is committed

    second = await bus.consumer(topic, group)
    redelivered = await drain(second, 3)

    assert values(redelivered) == sent[3:]
    assert redelivered[0].offset == third.offset + 1


async def test_a_group_that_never_committed_gets_everything_again(bus: BusUnderTest) -> None:
    topic, group = await bus.topic(), _unique("g")
    producer = await bus.producer()
    for i in range(3):
        await producer.publish(topic, b"k", str(i).encode())
    first = await bus.consumer(topic, group)
    assert len(await drain(first, 3)) == 3
    await first.close()

    second = await bus.consumer(topic, group)
    assert values(await drain(second, 3)) == [b"0", b"1", b"2"]


async def test_consumer_groups_are_independent(bus: BusUnderTest) -> None:
    topic = await bus.topic()
    producer = await bus.producer()
    for i in range(4):
        await producer.publish(topic, b"k", str(i).encode())
    group_a = await bus.consumer(topic, _unique("a"))
    received = await drain(group_a, 4)
    await group_a.commit({received[-1].partition: received[-1].offset + 1})

    group_b = await bus.consumer(topic, _unique("b"))

    assert values(await drain(group_b, 4)) == [b"0", b"1", b"2", b"3"]


async def test_poll_on_an_empty_topic_waits_about_the_timeout(bus: BusUnderTest) -> None:
    topic = await bus.topic()
    consumer = await bus.consumer(topic, _unique("g"))
    await wait_assigned(consumer)

    started = time.monotonic()
    received = await consumer.poll(10, 0.6)
    elapsed = time.monotonic() - started

    assert list(received) == []
    assert 0.5 <= elapsed < 2.0


async def test_poll_wakes_up_when_a_message_arrives(bus: BusUnderTest) -> None:
    topic = await bus.topic()
    consumer = await bus.consumer(topic, _unique("g"))
    await wait_assigned(consumer)
    producer = await bus.producer()

    async def publish_later() -> None:
        await asyncio.sleep(0.3)
        await producer.publish(topic, b"k", b"late")

    publisher = asyncio.create_task(publish_later())
    started = time.monotonic()
    received = await consumer.poll(10, 10.0)
    await publisher

    assert values(received) == [b"late"]
    assert time.monotonic() - started < 5.0


async def test_paused_partitions_yield_nothing_until_resumed(bus: BusUnderTest) -> None:
    topic = await bus.topic()
    consumer = await bus.consumer(topic, _unique("g"))
    await wait_assigned(consumer)
    producer = await bus.producer()
    assigned = sorted(consumer.assignment())
    consumer.pause(assigned)
    await producer.publish(topic, b"k", b"held back")

    started = time.monotonic()
    assert list(await consumer.poll(10, 0.6)) == []
    assert time.monotonic() - started >= 0.5

    consumer.resume(assigned)
    assert values(await drain(consumer, 1)) == [b"held back"]


async def test_concurrent_publishes_land_exactly_once_without_gaps(bus: BusUnderTest) -> None:
    topic = await bus.topic()
    producers = [await bus.producer(), await bus.producer()]
    tasks_count, per_task = 20, 25

    async def publish_sequence(task: int) -> None:
        producer = producers[task % len(producers)]
        for seq in range(per_task):
            await producer.publish(topic, f"key-{task}".encode(), f"{task}:{seq}".encode())

    await asyncio.gather(*(publish_sequence(task) for task in range(tasks_count)))
    consumer = await bus.consumer(topic, _unique("g"))
    received = await drain(consumer, tasks_count * per_task)

    expected = {f"{t}:{s}".encode() for t in range(tasks_count) for s in range(per_task)}
    assert sorted(values(received)) == sorted(expected)  # every message, none twice
    by_partition: dict[object, list[BusMessage]] = {}
    for message in received:
        by_partition.setdefault(message.partition, []).append(message)
    for messages in by_partition.values():
        offsets = sorted(message.offset for message in messages)
        assert offsets == list(range(len(offsets)))  # dense, starting at 0
    seen: dict[bytes | None, int] = {}
    for message in sorted(received, key=lambda m: (m.partition, m.offset)):
        seq = int(message.value.split(b":")[1])
        assert seq == seen.get(message.key, -1) + 1, "a key's messages are out of order"
        seen[message.key] = seq


async def test_publish_to_an_unreachable_bus_raises_in_time(bus: BusUnderTest) -> None:
    producer = await bus.new_unreachable_producer(UNREACHABLE_TIMEOUT_S)
    try:
        started = time.monotonic()
        with pytest.raises(BusUnavailable):
            await producer.start()
            await producer.publish("ingest-events", b"1", b"lost")
        with pytest.raises(BusUnavailable):
            await producer.publish("ingest-events", b"1", b"lost")
        assert time.monotonic() - started < 2 * UNREACHABLE_TIMEOUT_S + 2.0
    finally:
        await producer.close()


async def test_close_lets_the_owner_commit_through_on_revoke(bus: BusUnderTest) -> None:
    """The processor flushes and commits in ``on_revoke``; a successor starts after that."""
    topic, group = await bus.topic(), _unique("g")
    producer = await bus.producer()
    for i in range(3):
        await producer.publish(topic, b"k", str(i).encode())
    revoked: list[frozenset[Partition]] = []
    consumer: BusConsumer | None = None
    last_read: dict[Partition, int] = {}

    async def flush_and_commit(partitions: frozenset[Partition]) -> None:
        revoked.append(partitions)
        assert consumer is not None
        await consumer.commit({p: last_read[p] + 1 for p in partitions if p in last_read})

    consumer = await bus.consumer(topic, group, flush_and_commit)
    for message in await drain(consumer, 3):
        last_read[message.partition] = message.offset
    owned = consumer.assignment()
    await consumer.close()

    assert revoked == [owned]
    await producer.publish(topic, b"k", b"3")
    successor = await bus.consumer(topic, group)
    assert values(await drain(successor, 1)) == [b"3"]


# --- embedded only -------------------------------------------------------------------------


@pytest_asyncio.fixture
async def pool(pg_dsn: str) -> AsyncIterator[Pool]:
    opened = await open_pool(PostgresSettings(dsn=SecretStr(pg_dsn)), name="bus-tests")
    yield opened
    await opened.close()


async def _log_offsets(pool: Pool, topic: str) -> list[int]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            'SELECT "offset" AS o FROM bus_log WHERE topic = %s ORDER BY 1', (topic,)
        )
        return [int(row["o"]) for row in await cur.fetchall()]


async def test_embedded_retention_drops_what_every_group_has_read(
    pool: Pool,
) -> None:
    producer = EmbeddedProducer(pool, PUBLISH_TIMEOUT_S)
    fast = EmbeddedConsumer(pool, "t", "fast", retention_interval_s=0, retention_grace_s=0)
    slow = EmbeddedConsumer(pool, "t", "slow", retention_interval_s=0, retention_grace_s=0)
    for client in (producer, fast, slow):
        await client.start()
    try:
        for i in range(6):
            await producer.publish("t", None, str(i).encode())
        assert len(await drain(fast, 6)) == 6
        await slow.commit({Partition("t", 0): 2})
        await fast.commit({Partition("t", 0): 6})  # retention runs on commit
        assert await _log_offsets(pool, "t") == [2, 3, 4, 5]

        await slow.commit({Partition("t", 0): 6})
        assert await _log_offsets(pool, "t") == [5]  # the newest row anchors the offsets

        await producer.publish("t", None, b"after retention")
        assert values(await fast.poll(10, 1.0)) == [b"after retention"]
        assert await _log_offsets(pool, "t") == [5, 6]
    finally:
        for client in (slow, fast, producer):
            await client.close()


async def test_embedded_retention_keeps_recent_rows(pool: Pool) -> None:
    producer = EmbeddedProducer(pool, PUBLISH_TIMEOUT_S)
    consumer = EmbeddedConsumer(pool, "t", "g", retention_interval_s=0)
    await producer.start()
    await consumer.start()
    try:
        for i in range(3):
            await producer.publish("t", None, str(i).encode())
        await consumer.commit({Partition("t", 0): 3})
        assert await _log_offsets(pool, "t") == [0, 1, 2]
    finally:
        await consumer.close()
        await producer.close()


async def test_embedded_poll_is_woken_by_notify_not_by_the_recheck(
    pool: Pool,
) -> None:
    producer = EmbeddedProducer(pool, PUBLISH_TIMEOUT_S)
    consumer = EmbeddedConsumer(pool, "t", "g", recheck_interval_s=30.0)
    await producer.start()
    await consumer.start()
    try:
        waiting = asyncio.create_task(consumer.poll(10, 20.0))
        await asyncio.sleep(0.2)
        started = time.monotonic()
        await producer.publish("t", b"k", b"wake up")
        received = await waiting
        assert values(received) == [b"wake up"]
        assert time.monotonic() - started < 2.0
    finally:
        await consumer.close()
        await producer.close()


async def test_embedded_group_commit_sustains_over_1000_events_per_second(
    pool: Pool,
) -> None:
    producer = EmbeddedProducer(pool, PUBLISH_TIMEOUT_S)
    await producer.start()
    publishers, per_publisher, payload = 100, 30, b"x" * 2000
    try:

        async def publish_many() -> None:
            for _ in range(per_publisher):
                await producer.publish("t", b"1", payload)

        started = time.monotonic()
        await asyncio.gather(*(publish_many() for _ in range(publishers)))
        rate = publishers * per_publisher / (time.monotonic() - started)
    finally:
        await producer.close()
    assert rate > 1000, f"{rate:.0f} events/s"
    assert await _log_offsets(pool, "t") == list(range(publishers * per_publisher))


async def test_embedded_publish_on_a_closed_pool_raises_at_once(pg_dsn: str) -> None:
    closed = await open_pool(PostgresSettings(dsn=SecretStr(pg_dsn)), name="closed")
    await closed.close()
    producer = EmbeddedProducer(closed, PUBLISH_TIMEOUT_S)
    started = time.monotonic()
    with pytest.raises(BusUnavailable):
        await producer.publish("t", None, b"lost")
    assert time.monotonic() - started < 1.0
    await producer.close()


async def test_embedded_consumer_refuses_foreign_partitions(pool: Pool) -> None:
    consumer = EmbeddedConsumer(pool, "t", "g")
    await consumer.start()
    try:
        with pytest.raises(ValueError, match="not assigned"):
            await consumer.commit({Partition("other", 0): 1})
    finally:
        await consumer.close()


async def test_embedded_consumer_on_an_unreachable_database_raises() -> None:
    consumer = EmbeddedConsumer(f"host=127.0.0.1 port={free_port()} connect_timeout=1", "t", "g")
    with pytest.raises(BusUnavailable):
        await consumer.start()


# --- kafka only ----------------------------------------------------------------------------


async def _forward(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


async def test_kafka_producer_recovers_when_kafka_comes_back(kafka_bootstrap: str) -> None:
    """The relay keeps one producer: after a failed start it must connect on a later try."""
    topic = _unique("t")
    await _create_kafka_topic(kafka_bootstrap, topic)
    host, port = kafka_bootstrap.rsplit(":", 1)
    proxy_port = free_port()
    producer = KafkaProducerAdapter(
        _kafka_settings(f"127.0.0.1:{proxy_port}"), PUBLISH_TIMEOUT_S, retry_start_after_s=0.0
    )

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream_reader, upstream_writer = await asyncio.open_connection(host, int(port))
        await asyncio.gather(_forward(reader, upstream_writer), _forward(upstream_reader, writer))

    with pytest.raises(BusUnavailable):
        await producer.start()
    # "Kafka comes back": bootstrap now answers (the broker then advertises its own address).
    proxy = await asyncio.start_server(relay, "127.0.0.1", proxy_port)
    try:
        await producer.publish(topic, b"k", b"after the outage")
    finally:
        await producer.close()
        proxy.close()
        await proxy.wait_closed()
    consumer = KafkaConsumerAdapter(_kafka_settings(kafka_bootstrap), topic, _unique("g"))
    await consumer.start()
    try:
        assert values(await drain(consumer, 1)) == [b"after the outage"]
    finally:
        await consumer.close()


async def test_kafka_rebalance_calls_on_revoke(kafka_bootstrap: str) -> None:
    topic, group = _unique("t"), _unique("g")
    await _create_kafka_topic(kafka_bootstrap, topic)
    settings = _kafka_settings(kafka_bootstrap)
    revoked: list[frozenset[Partition]] = []

    async def remember(partitions: frozenset[Partition]) -> None:
        revoked.append(partitions)

    first = KafkaConsumerAdapter(settings, topic, group, on_revoke=remember)
    second = KafkaConsumerAdapter(settings, topic, group)
    await first.start()
    try:
        await wait_assigned(first)
        everything = first.assignment()
        assert len(everything) == KAFKA_PARTITIONS
        await second.start()
        deadline = time.monotonic() + DRAIN_DEADLINE_S
        while not (second.assignment() and len(first.assignment()) < KAFKA_PARTITIONS):
            assert time.monotonic() < deadline, "the group did not rebalance"
            await asyncio.gather(first.poll(10, 0.2), second.poll(10, 0.2))
        assert revoked and revoked[0] == everything
        assert first.assignment() | second.assignment() == everything
        assert not first.assignment() & second.assignment()
    finally:
        await second.close()
        await first.close()


async def test_kafka_consumer_on_an_unreachable_broker_raises() -> None:
    consumer = KafkaConsumerAdapter(_kafka_settings(f"127.0.0.1:{free_port()}"), "t", "g")
    started = time.monotonic()
    with pytest.raises(BusUnavailable):
        await consumer.start()
    assert time.monotonic() - started < 5.0


def test_factory_builds_the_configured_backend() -> None:
    kafka = _kafka_settings("127.0.0.1:9")
    embedded = BusSettings(backend="embedded")
    dsn = "postgresql://nobody@127.0.0.1:9/none"
    assert isinstance(build_consumer(embedded, kafka, dsn, "t", "g"), EmbeddedConsumer)
    with pytest.raises(ValueError, match="PostgreSQL"):
        build_producer(embedded, kafka, None)
    kafka_bus = BusSettings(backend="kafka")
    assert isinstance(build_producer(kafka_bus, kafka, None), KafkaProducerAdapter)
    assert isinstance(build_consumer(kafka_bus, kafka, None, "t", "g"), KafkaConsumerAdapter)


# --- consumer lag (every adapter) ------------------------------------------------------------


async def wait_for_lag(consumer: BusConsumer, partition: Partition, expected: int) -> None:
    """Until ``lag()`` reports ``expected`` for ``partition`` and nothing waiting elsewhere
    (Kafka learns end offsets from its fetches, so that can take a moment)."""
    deadline = time.monotonic() + DRAIN_DEADLINE_S
    while True:
        lag = dict(await consumer.lag())
        others = {p: n for p, n in lag.items() if p != partition and n}
        if lag.get(partition) == expected and not others:
            return
        assert time.monotonic() < deadline, f"lag {lag}, wanted {expected} on {partition}"
        await asyncio.sleep(0.1)


async def test_lag_counts_the_messages_not_yet_read(bus: BusUnderTest) -> None:
    topic = await bus.topic()
    producer = await bus.producer()
    for i in range(5):
        await producer.publish(topic, b"lag", str(i).encode())
    consumer = await bus.consumer(topic, _unique("g"))
    deadline = time.monotonic() + DRAIN_DEADLINE_S
    first: Sequence[BusMessage] = []
    while not first:
        assert time.monotonic() < deadline, "nothing was delivered"
        first = await consumer.poll(2, 0.5)
    partition = first[0].partition
    assert len(first) == 2

    await wait_for_lag(consumer, partition, 3)
    assert set(await consumer.lag()) <= consumer.assignment()
    await drain(consumer, 3)
    await wait_for_lag(consumer, partition, 0)

    await producer.publish(topic, b"lag", b"late 1")
    await producer.publish(topic, b"lag", b"late 2")
    await wait_for_lag(consumer, partition, 2)
    await drain(consumer, 2)
    await wait_for_lag(consumer, partition, 0)


async def test_lag_is_empty_before_start(bus: BusUnderTest) -> None:
    topic = await bus.topic()
    producer = await bus.producer()
    await producer.publish(topic, b"k", b"waiting")
    unstarted = bus.new_consumer(topic, _unique("g"), None)

    assert dict(await unstarted.lag()) == {}
