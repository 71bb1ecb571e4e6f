"""The Kafka bus: thin aiokafka adapters with the semantics of ``bus/base.py``.

The producer is idempotent with ``acks=all``, so a publish that returned is replicated to
every in-sync replica. Starting is bounded: when Kafka is down, ``start`` raises
``BusUnavailable`` and a later ``publish`` tries again (at most once per
``retry_start_after_s``), so the relay recovers by itself when Kafka comes back.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, TopicPartition
from aiokafka.errors import IllegalStateError, KafkaError

from faultline_core.bus.base import BusMessage, BusUnavailable, Partition
from faultline_core.settings import KafkaSettings

log = logging.getLogger(__name__)

RevokeCallback = Callable[[frozenset[Partition]], Awaitable[None]]

# Connection failures surface as aiokafka errors, OS errors or our own timeouts.
_BUS_ERRORS = (KafkaError, OSError, TimeoutError)
_LAG_TIMEOUT_S = 2.0
# A position is known at once after the first fetch; before that it is not waited for.
_POSITION_TIMEOUT_S = 0.2


def _partitions(tps: Iterable[TopicPartition]) -> frozenset[Partition]:
    return frozenset(Partition(tp.topic, tp.partition) for tp in tps)


class KafkaProducerAdapter:
    """Publishes to Kafka and waits for the broker's acknowledgement."""

    def __init__(
        self,
        settings: KafkaSettings,
        publish_timeout_s: float,
        *,
        retry_start_after_s: float = 1.0,
    ) -> None:
        self._settings = settings
        self._timeout_s = publish_timeout_s
        self._retry_start_after_s = retry_start_after_s
        self._producer: AIOKafkaProducer | None = None
        self._start_lock = asyncio.Lock()
        self._failed_start_at = -math.inf
        self._closed = False

    async def start(self) -> None:
        """Connect, within the publish timeout; raise ``BusUnavailable`` if Kafka is down."""
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._ensure_started()
        except TimeoutError as exc:
            raise BusUnavailable(f"Kafka did not answer within {self._timeout_s:g}s") from exc

    async def publish(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Return once every in-sync replica has the message; raise ``BusUnavailable``."""
        if self._closed:
            raise BusUnavailable("the Kafka producer is closed")
        if self._producer is None and self._recently_failed():
            raise BusUnavailable("Kafka is unreachable (retrying shortly)")
        try:
            async with asyncio.timeout(self._timeout_s):
                producer = await self._ensure_started()
                await producer.send_and_wait(topic, value, key=key)
        except TimeoutError as exc:
            raise BusUnavailable(f"Kafka did not acknowledge within {self._timeout_s:g}s") from exc
        except _BUS_ERRORS as exc:
            raise BusUnavailable(f"Kafka refused the message: {exc!r}") from exc

    async def close(self) -> None:
        self._closed = True
        async with self._start_lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            await producer.stop()

    def _recently_failed(self) -> bool:
        return time.monotonic() - self._failed_start_at < self._retry_start_after_s

    async def _ensure_started(self) -> AIOKafkaProducer:
        async with self._start_lock:
            if self._producer is not None:
                return self._producer
            if self._closed:
                raise BusUnavailable("the Kafka producer is closed")
            producer = AIOKafkaProducer(
                bootstrap_servers=self._settings.bootstrap_servers,
                client_id=self._settings.client_id,
                acks="all",
                enable_idempotence=True,
                linger_ms=self._settings.linger_ms,
                request_timeout_ms=self._settings.request_timeout_ms,
            )
            try:
                await producer.start()
            except BaseException as exc:
                # A half-started client holds sockets and tasks; a fresh one is built next time.
                self._failed_start_at = time.monotonic()
                await producer.stop()
                if isinstance(exc, _BUS_ERRORS) and not isinstance(exc, TimeoutError):
                    raise BusUnavailable(f"Kafka is unreachable: {exc!r}") from exc
                raise
            self._producer = producer
            return producer


class _RevokeListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """Lets the consumer's owner flush and commit before partitions move elsewhere."""

    def __init__(self, on_revoke: RevokeCallback | None) -> None:
        self._on_revoke = on_revoke

    async def on_partitions_revoked(self, revoked: Iterable[TopicPartition]) -> None:
        partitions = _partitions(revoked)
        if self._on_revoke is not None and partitions:
            await self._on_revoke(partitions)

    async def on_partitions_assigned(self, assigned: Iterable[TopicPartition]) -> None:
        log.info("kafka: assigned %s", sorted(_partitions(assigned)))


class KafkaConsumerAdapter:
    """Reads one topic as a member of a Kafka consumer group, with manual commits."""

    def __init__(
        self,
        settings: KafkaSettings,
        topic: str,
        group_id: str,
        *,
        on_revoke: RevokeCallback | None = None,
        start_timeout_s: float = 30.0,
    ) -> None:
        self._settings = settings
        self._topic = topic
        self._group_id = group_id
        self._on_revoke = on_revoke
        self._start_timeout_s = start_timeout_s
        self._consumer: AIOKafkaConsumer | None = None

    async def start(self) -> None:
        """Connect and subscribe; the group join itself completes during ``poll``."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._settings.bootstrap_servers,
            client_id=self._settings.client_id,
            group_id=self._group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            session_timeout_ms=self._settings.session_timeout_ms,
            heartbeat_interval_ms=self._settings.heartbeat_interval_ms,
        )
        consumer.subscribe([self._topic], listener=_RevokeListener(self._on_revoke))
        try:
            await asyncio.wait_for(consumer.start(), self._start_timeout_s)
        except BaseException as exc:
            await consumer.stop()
            if isinstance(exc, _BUS_ERRORS):
                raise BusUnavailable(f"Kafka is unreachable: {exc!r}") from exc
            raise
        self._consumer = consumer

    async def poll(self, max_messages: int, timeout_s: float) -> Sequence[BusMessage]:
        consumer = self._require_started()
        if max_messages <= 0:
            return []
        try:
            batches = await consumer.getmany(
                timeout_ms=max(0, int(timeout_s * 1000)), max_records=max_messages
            )
        except KafkaError as exc:
            raise BusUnavailable(f"Kafka fetch failed: {exc!r}") from exc
        return [
            _to_message(record)
            for tp in sorted(batches, key=lambda tp: tp.partition)
            for record in batches[tp]
        ]

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        consumer = self._require_started()
        if not offsets:
            return
        tps = {TopicPartition(p.topic, p.index): offset for p, offset in offsets.items()}
        try:
            await consumer.commit(tps)
        except KafkaError as exc:
            raise BusUnavailable(f"Kafka commit failed: {exc!r}") from exc

    def pause(self, partitions: Sequence[Partition]) -> None:
        consumer = self._require_started()
        # aiokafka refuses partitions it does not own (e.g. just revoked): skip those.
        consumer.pause(*self._owned(consumer, partitions))

    def resume(self, partitions: Sequence[Partition]) -> None:
        consumer = self._require_started()
        consumer.resume(*self._owned(consumer, partitions))

    def assignment(self) -> frozenset[Partition]:
        if self._consumer is None:
            return frozenset()
        return _partitions(self._consumer.assignment())

    async def lag(self) -> Mapping[Partition, int]:
        """The partitions' end offsets (asked of the broker) minus the positions.

        The high watermark that fetch responses carry is not used: it stays stale while
        fetched records wait in the client's buffer. Partitions without a position yet
        (just assigned, not fetched from) are left out.
        """
        consumer = self._consumer
        if consumer is None or not consumer.assignment():
            return {}
        try:
            async with asyncio.timeout(_LAG_TIMEOUT_S):
                ends = await consumer.end_offsets(list(consumer.assignment()))
        except TimeoutError as exc:
            raise BusUnavailable(f"Kafka gave no end offsets within {_LAG_TIMEOUT_S:g}s") from exc
        except KafkaError as exc:
            raise BusUnavailable(f"Kafka end offset lookup failed: {exc!r}") from exc
        positions = await asyncio.gather(*(_position(consumer, tp) for tp in ends))
        return {
            Partition(tp.topic, tp.partition): max(0, int(end) - position)
            for (tp, end), position in zip(ends.items(), positions, strict=True)
            if position is not None
        }

    async def close(self) -> None:
        """Give the owner a last chance to commit (``on_revoke``), then leave the group."""
        consumer = self._consumer
        if consumer is None:
            return
        try:
            owned = _partitions(consumer.assignment())
            if self._on_revoke is not None and owned:
                await self._on_revoke(owned)
        finally:
            self._consumer = None
            await consumer.stop()

    def _require_started(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise RuntimeError("the consumer is not started")
        return self._consumer

    @staticmethod
    def _owned(consumer: AIOKafkaConsumer, partitions: Sequence[Partition]) -> list[Any]:
        owned = consumer.assignment()
        wanted = (TopicPartition(p.topic, p.index) for p in partitions)
        return [tp for tp in wanted if tp in owned]


async def _position(consumer: AIOKafkaConsumer, tp: TopicPartition) -> int | None:
    try:
        return int(await asyncio.wait_for(consumer.position(tp), _POSITION_TIMEOUT_S))
    except (IllegalStateError, TimeoutError):
        return None  # revoked meanwhile, or no position yet: no figure this time


def _to_message(record: Any) -> BusMessage:
    return BusMessage(
        partition=Partition(record.topic, record.partition),
        offset=int(record.offset),
        key=record.key,
        value=record.value if record.value is not None else b"",
        timestamp_ms=int(record.timestamp),
    )
