"""The embedded bus: a durable append-only log in PostgreSQL (tables ``bus_log``, ``bus_offsets``).

Each topic has a single partition 0 whose offsets are dense (0, 1, 2, ...).

* The producer groups concurrent ``publish`` calls: one writer task takes everything
  queued and writes it in one transaction that holds a per-topic advisory lock, so
  offsets are assigned and become visible in order even with several producer
  processes. A caller's future is resolved only after that transaction committed.
* The consumer reads ``offset >= position``; when nothing is ready it sleeps on
  ``LISTEN`` (woken by the producer's ``NOTIFY``) with a periodic re-check as a safety net.
  Committed positions live in ``bus_offsets``; rows every group has read past, and older
  than a grace period, are deleted now and then so the log does not grow forever.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import inspect
import logging
import math
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import psycopg
from psycopg import AsyncConnection, sql
from psycopg.rows import DictRow, dict_row, tuple_row
from psycopg_pool import AsyncConnectionPool

from faultline_core.bus.base import BusMessage, BusUnavailable, Partition
from faultline_core.storage.postgres.pool import Pool

log = logging.getLogger(__name__)

RevokeCallback = Callable[[frozenset[Partition]], Awaitable[None]]

# First key of the two-key advisory lock, so bus locks cannot collide with other users'.
_LOCK_NAMESPACE = 0x0B05
# One transaction stays small enough to commit quickly even with 1 MB events.
_MAX_BATCH_MESSAGES = 2000
_MAX_BATCH_BYTES = 8 * 1024 * 1024
_CONNECT_TIMEOUT_S = 10

_LOCK_SQL = "SELECT pg_advisory_xact_lock(%s, hashtext(%s))"
_NEXT_OFFSET_SQL = 'SELECT COALESCE(MAX("offset") + 1, 0) FROM bus_log WHERE topic = %s'
_INSERT_SQL = """
INSERT INTO bus_log (topic, "offset", key, value)
SELECT %s, %s::bigint + t.ordinality - 1, t.key, t.value
FROM unnest(%s::bytea[], %s::bytea[]) WITH ORDINALITY AS t(key, value, ordinality)
"""
_NOTIFY_SQL = "SELECT pg_notify(%s, '')"
_FETCH_SQL = """
SELECT "offset", key, value, (extract(epoch FROM created_at) * 1000)::bigint
FROM bus_log WHERE topic = %s AND "offset" >= %s ORDER BY "offset" LIMIT %s
"""
_LOAD_POSITION_SQL = """
SELECT next_offset FROM bus_offsets WHERE group_id = %s AND topic = %s AND partition = 0
"""
_COMMIT_SQL = """
INSERT INTO bus_offsets (group_id, topic, partition, next_offset) VALUES (%s, %s, 0, %s)
ON CONFLICT (group_id, topic, partition) DO UPDATE SET next_offset = EXCLUDED.next_offset
"""
# The newest row is always kept: the producer derives the next offset from it. Recent rows
# are kept too, so a group that starts shortly after another still finds them.
_RETENTION_SQL = """
DELETE FROM bus_log
WHERE topic = %(topic)s
  AND created_at < now() - make_interval(secs => %(grace_s)s)
  AND "offset" < (SELECT MIN(next_offset) FROM bus_offsets WHERE topic = %(topic)s)
  AND "offset" < (SELECT MAX("offset") FROM bus_log WHERE topic = %(topic)s)
"""


def notify_channel(topic: str) -> str:
    """The LISTEN/NOTIFY channel of a topic (hashed: channel names are short identifiers)."""
    return "faultline_bus_" + hashlib.sha1(topic.encode()).hexdigest()[:20]


@dataclass
class _Pending:
    topic: str
    key: bytes | None
    value: bytes
    future: asyncio.Future[None]


class EmbeddedProducer:
    """Publishes to the PostgreSQL log with group commit (see the module docstring)."""

    def __init__(self, pool: Pool, publish_timeout_s: float) -> None:
        self._pool = pool
        self._timeout_s = publish_timeout_s
        self._queue: collections.deque[_Pending] = collections.deque()
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def start(self) -> None:
        if self._writer is None and not self._closed:
            self._writer = asyncio.create_task(self._run_writer(), name="embedded-bus-writer")

    async def publish(self, topic: str, key: bytes | None, value: bytes) -> None:
        """Return once the message is committed to PostgreSQL; raise ``BusUnavailable``."""
        if self._closed:
            raise BusUnavailable("the embedded bus producer is closed")
        await self.start()
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append(_Pending(topic, key, value, future))
        self._wakeup.set()
        try:
            # On timeout the future is cancelled, so the writer skips it if not yet taken.
            await asyncio.wait_for(future, self._timeout_s)
        except TimeoutError as exc:
            raise BusUnavailable(
                f"the embedded bus did not commit within {self._timeout_s:g}s"
            ) from exc

    async def close(self) -> None:
        """Flush what is queued (bounded by the publish timeout), then stop the writer."""
        self._closed = True
        self._wakeup.set()
        if self._writer is not None:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._writer, self._timeout_s)
        while self._queue:
            pending = self._queue.popleft()
            if not pending.future.done():
                pending.future.set_exception(BusUnavailable("the producer closed"))

    async def _run_writer(self) -> None:
        while True:
            if not self._queue:
                if self._closed:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch = self._take_batch()
            if batch:
                await self._commit_batch(batch)

    def _take_batch(self) -> list[_Pending]:
        batch: list[_Pending] = []
        size = 0
        while self._queue and len(batch) < _MAX_BATCH_MESSAGES:
            pending = self._queue[0]
            if batch and size + len(pending.value) > _MAX_BATCH_BYTES:
                break
            self._queue.popleft()
            if not pending.future.done():  # done = its publisher already gave up
                batch.append(pending)
                size += len(pending.value)
        return batch

    async def _commit_batch(self, batch: list[_Pending]) -> None:
        try:
            async with asyncio.timeout(self._timeout_s):
                await self._write(batch)
        except Exception as exc:  # the writer must outlive any failure; callers get it
            log.warning("embedded bus: writing %d messages failed: %r", len(batch), exc)
            for pending in batch:
                if not pending.future.done():
                    pending.future.set_exception(
                        BusUnavailable(f"the embedded bus could not write: {exc!r}")
                    )
            return
        for pending in batch:
            if not pending.future.done():
                pending.future.set_result(None)

    async def _write(self, batch: list[_Pending]) -> None:
        by_topic: dict[str, list[_Pending]] = {}
        for pending in batch:
            by_topic.setdefault(pending.topic, []).append(pending)
        async with self._pool.connection(timeout=self._timeout_s) as conn, conn.transaction():
            cur = conn.cursor(row_factory=tuple_row)
            # A fixed lock order keeps two producer processes from deadlocking.
            for topic in sorted(by_topic):
                items = by_topic[topic]
                await cur.execute(_LOCK_SQL, (_LOCK_NAMESPACE, topic))
                await cur.execute(_NEXT_OFFSET_SQL, (topic,))
                row = await cur.fetchone()
                next_offset = int(row[0]) if row is not None else 0
                keys = [item.key for item in items]
                values = [item.value for item in items]
                await cur.execute(_INSERT_SQL, (topic, next_offset, keys, values))
                await cur.execute(_NOTIFY_SQL, (notify_channel(topic),))


class EmbeddedConsumer:
    """Reads one topic of the PostgreSQL log as a member of ``group_id``.

    Several consumers of one group are not coordinated (there is a single partition):
    run one consumer per group, as the all-in-one does.
    """

    def __init__(
        self,
        pool_or_dsn: Pool | str,
        topic: str,
        group_id: str,
        *,
        on_revoke: RevokeCallback | None = None,
        recheck_interval_s: float = 0.5,
        retention_interval_s: float = 5.0,
        retention_grace_s: float = 60.0,
    ) -> None:
        self._pool_or_dsn = pool_or_dsn
        self._pool: Pool | None = None
        self._conninfo = ""
        self._owns_pool = False
        self._partition = Partition(topic, 0)
        self._group_id = group_id
        self._on_revoke = on_revoke
        self._recheck_interval_s = recheck_interval_s
        self._retention_interval_s = retention_interval_s
        self._retention_grace_s = retention_grace_s
        self._last_retention = -math.inf
        self._listener: AsyncConnection | None = None
        self._position = 0
        self._resumed = asyncio.Event()
        self._resumed.set()
        self._started = False

    async def start(self) -> None:
        """Connect, LISTEN for new messages and load the group's committed position."""
        try:
            if isinstance(self._pool_or_dsn, str):
                self._conninfo = self._pool_or_dsn
            else:
                self._conninfo = await _conninfo_of(self._pool_or_dsn)
            # First the direct connection: it fails fast where a pool would keep retrying.
            await self._connect_listener()
            self._pool = await self._open_pool()
            async with self._pool.connection() as conn:
                cur = conn.cursor(row_factory=tuple_row)
                await cur.execute(_LOAD_POSITION_SQL, (self._group_id, self._partition.topic))
                row = await cur.fetchone()
        except psycopg.Error as exc:
            await self._release()
            raise BusUnavailable(f"the embedded bus is unreachable: {exc!r}") from exc
        self._position = int(row[0]) if row is not None else 0
        self._started = True

    async def _open_pool(self) -> Pool:
        if not isinstance(self._pool_or_dsn, str):
            return self._pool_or_dsn
        pool: Pool = AsyncConnectionPool(
            self._pool_or_dsn,
            connection_class=AsyncConnection[DictRow],
            min_size=1,
            max_size=2,
            kwargs={"row_factory": dict_row, "autocommit": True},
            name="embedded-bus-consumer",
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=_CONNECT_TIMEOUT_S)
        except BaseException:
            await pool.close()
            raise
        self._owns_pool = True
        return pool

    async def poll(self, max_messages: int, timeout_s: float) -> Sequence[BusMessage]:
        """Return up to ``max_messages`` messages from the position on, waiting up to
        ``timeout_s`` for some; nothing while the partition is paused."""
        pool = self._require_started()
        if max_messages <= 0:
            return []
        deadline = time.monotonic() + max(timeout_s, 0.0)
        while True:
            if self._resumed.is_set():
                await self._discard_notifications()
                messages = await self._fetch(pool, max_messages)
                if messages:
                    self._position = messages[-1].offset + 1
                    return messages
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return []
            await self._wait_for_news(min(remaining, self._recheck_interval_s))

    async def commit(self, offsets: Mapping[Partition, int]) -> None:
        """Record the group's next offset; now and then drop rows all groups have read."""
        pool = self._require_started()
        for partition in offsets:
            if partition != self._partition:
                raise ValueError(f"{partition} is not assigned to this consumer")
        next_offset = offsets.get(self._partition)
        if next_offset is None:
            return
        try:
            async with pool.connection() as conn:
                await conn.execute(
                    _COMMIT_SQL, (self._group_id, self._partition.topic, next_offset)
                )
        except psycopg.Error as exc:
            raise BusUnavailable(f"the embedded bus could not commit: {exc!r}") from exc
        if time.monotonic() - self._last_retention >= self._retention_interval_s:
            self._last_retention = time.monotonic()
            await self._apply_retention(pool)

    def pause(self, partitions: Sequence[Partition]) -> None:
        if self._partition in partitions:
            self._resumed.clear()

    def resume(self, partitions: Sequence[Partition]) -> None:
        if self._partition in partitions:
            self._resumed.set()

    def assignment(self) -> frozenset[Partition]:
        return frozenset({self._partition}) if self._started else frozenset()

    async def lag(self) -> Mapping[Partition, int]:
        """The log's next offset minus this consumer's position (one partition)."""
        if not self._started or self._pool is None:
            return {}
        try:
            async with self._pool.connection() as conn:
                cur = conn.cursor(row_factory=tuple_row)
                await cur.execute(_NEXT_OFFSET_SQL, (self._partition.topic,))
                row = await cur.fetchone()
        except psycopg.Error as exc:
            raise BusUnavailable(f"the embedded bus could not be read: {exc!r}") from exc
        end = int(row[0]) if row is not None else 0
        return {self._partition: max(0, end - self._position)}

    async def close(self) -> None:
        """Give the owner a last chance to commit (``on_revoke``), then disconnect."""
        if self._started and self._on_revoke is not None:
            await self._on_revoke(self.assignment())
        self._started = False
        await self._release()

    def _require_started(self) -> Pool:
        if not self._started or self._pool is None:
            raise RuntimeError("the consumer is not started")
        return self._pool

    async def _fetch(self, pool: Pool, limit: int) -> list[BusMessage]:
        try:
            async with pool.connection() as conn:
                cur = conn.cursor(row_factory=tuple_row)
                await cur.execute(_FETCH_SQL, (self._partition.topic, self._position, limit))
                rows = await cur.fetchall()
        except psycopg.Error as exc:
            raise BusUnavailable(f"the embedded bus could not be read: {exc!r}") from exc
        return [
            BusMessage(
                partition=self._partition,
                offset=int(offset),
                key=bytes(key) if key is not None else None,
                value=bytes(value),
                timestamp_ms=int(timestamp_ms),
            )
            for offset, key, value, timestamp_ms in rows
        ]

    async def _wait_for_news(self, timeout_s: float) -> None:
        if not self._resumed.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._resumed.wait(), timeout_s)
            return
        try:
            if self._listener is None:
                await self._connect_listener()
            assert self._listener is not None
            async for _ in self._listener.notifies(timeout=timeout_s, stop_after=1):
                pass
        except psycopg.Error as exc:
            # The periodic re-check still finds new rows; reconnect on the next wait.
            log.warning("embedded bus: LISTEN connection lost: %r", exc)
            await self._close_listener()
            await asyncio.sleep(timeout_s)

    async def _discard_notifications(self) -> None:
        """Read wake-ups already delivered: the fetch that follows sees their rows anyway.

        Unread notifications would pile up in the socket and then in the server's NOTIFY
        queue while the consumer is busy, and a full queue makes every publish fail.
        """
        if self._listener is None:
            return
        try:
            async for _ in self._listener.notifies(timeout=0):
                pass
        except psycopg.Error as exc:
            log.warning("embedded bus: LISTEN connection lost: %r", exc)
            await self._close_listener()

    async def _connect_listener(self) -> None:
        listener = await AsyncConnection.connect(
            self._conninfo, autocommit=True, connect_timeout=_CONNECT_TIMEOUT_S
        )
        channel = sql.Identifier(notify_channel(self._partition.topic))
        await listener.execute(sql.SQL("LISTEN {}").format(channel))
        self._listener = listener

    async def _apply_retention(self, pool: Pool) -> None:
        try:
            async with pool.connection() as conn:
                await conn.execute(
                    _RETENTION_SQL,
                    {"topic": self._partition.topic, "grace_s": self._retention_grace_s},
                )
        except psycopg.Error as exc:  # retention is housekeeping; the commit stands
            log.warning("embedded bus: retention failed: %r", exc)

    async def _close_listener(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(psycopg.Error):
                await listener.close()

    async def _release(self) -> None:
        await self._close_listener()
        if self._owns_pool and self._pool is not None:
            await self._pool.close()
            self._pool, self._owns_pool = None, False


async def _conninfo_of(pool: Pool) -> str:
    """The pool's connection string (it may be given as a callable)."""
    conninfo = pool.conninfo
    if isinstance(conninfo, str):
        return conninfo
    result = conninfo()
    if inspect.isawaitable(result):
        return str(await result)
    return str(result)
