"""The processor: poll → prepare → batch → write → commit, with backpressure and draining.

Two tasks share the work. The poll loop (:meth:`Processor.run`) reads messages, prepares
them in a worker thread (CPU work must not stall an event loop the all-in-one shares
with the relay) and cuts batches; the writer task writes the batches in order and
commits each one's offsets after it is fully written. While the writer falls behind or
is retrying a failed write, the consumer's partitions are paused.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Mapping
from pathlib import Path

from faultline_core.bus.base import BusConsumer, BusProducer, Partition
from faultline_core.native import build_state
from faultline_core.settings import BusSettings, ProcessorSettings
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.postgres.pool import Pool
from faultline_processor import issue_store, metrics
from faultline_processor.batch import Batch
from faultline_processor.grouping_settings import GroupingSettingsCache
from faultline_processor.prepare import prepare_all
from faultline_processor.writer import (
    BatchWriter,
    RecordEvents,
    ResolveIssues,
    RetryPolicy,
    WriteOutcome,
)

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.25
"""Default longest wait in one poll, so that liveness and ``stop()`` stay responsive."""
POLL_ERROR_BACKOFF_S = 1.0
LAG_INTERVAL_S = 1.0
"""Least time between two consumer lag lookups (each may ask the bus a question)."""


class Processor:
    """Consumes ``ingest-events`` and maintains the event store and the issues.

    The caller owns the consumer, producer, ClickHouse and pool: it starts them before
    :meth:`run` and closes them after. It should wire the consumer's revocation callback
    to :meth:`on_revoke`.
    """

    def __init__(
        self,
        consumer: BusConsumer,
        dlq: BusProducer,
        clickhouse: ClickHouse,
        pool: Pool,
        settings: ProcessorSettings,
        bus: BusSettings,
        *,
        retry: RetryPolicy | None = None,
        drain_timeout_s: float = 20.0,
        idle_poll_s: float = IDLE_POLL_S,
        lag_interval_s: float = LAG_INTERVAL_S,
        resolve_issues: ResolveIssues = issue_store.resolve_issues,
        record_events: RecordEvents = issue_store.record_events,
    ) -> None:
        self._consumer = consumer
        self._settings = settings
        self._retry = retry or RetryPolicy()
        self._drain_timeout_s = drain_timeout_s
        self._idle_poll_s = idle_poll_s
        self._lag_interval_s = lag_interval_s
        self._lag_checked_at = -math.inf
        self._lag_labels: set[str] = set()
        self._grouping = GroupingSettingsCache(pool)
        self._writer = BatchWriter(
            clickhouse, pool, dlq, bus.dlq_topic, grouping=self._grouping,
            resolve_issues=resolve_issues, record_events=record_events,
        )
        self._batch = Batch()
        self._queue: asyncio.Queue[Batch] = asyncio.Queue()
        self._pending = 0
        self._drained = asyncio.Event()
        self._drained.set()
        self._writer_failing = False
        self._writer_task: asyncio.Task[None] | None = None
        self._paused: set[Partition] = set()
        self._uncommitted: dict[Partition, int] = {}
        self._revoking: frozenset[Partition] = frozenset()
        self._stop_requested = asyncio.Event()
        self._done = asyncio.Event()
        self._running = False
        self.committed: dict[Partition, int] = {}
        """Per partition, the last offset committed (the next message to read)."""
        self.last_progress = time.monotonic()
        """Monotonic time of the poll loop's last iteration, for health checks."""

    async def run(self) -> None:
        """Process until :meth:`stop`; then write what was read, commit and return.

        Raises if the writer dies of something other than a write failure (write
        failures are retried), leaving the rest uncommitted for redelivery.
        """
        self._running = True
        log.info("normalise and group: %s", build_state().reason)
        self._writer_task = asyncio.create_task(self._write_loop(), name="processor-writer")
        try:
            while not self._stop_requested.is_set():
                self._beat()
                self._check_writer()
                self._apply_backpressure()
                await self._poll_once()
                await self._report_lag()
                if self._batch.is_ready(self._settings.batch_max_events,
                                        self._settings.batch_max_wait_s):
                    self._flush()
            self._flush()
            await self._wait_drained(self._drain_timeout_s)
            if self._uncommitted and self._drained.is_set():
                await self._commit({})  # a last try for offsets whose commit failed
        finally:
            await self._stop_writer()
            self._done.set()

    async def stop(self) -> None:
        """Ask :meth:`run` to drain and finish, and wait until it has."""
        self._stop_requested.set()
        if self._running:
            await self._done.wait()

    async def on_revoke(self, partitions: frozenset[Partition]) -> None:
        """Rebalance: write and commit everything read before the partitions go away."""
        if self._done.is_set():  # run() is over: it drained already, or it died
            return
        log.info("partitions revoked: %s", sorted(p.index for p in partitions))
        self._flush()
        self._revoking = partitions
        try:
            await self._wait_drained(self._drain_timeout_s)
        finally:
            self._revoking = frozenset()
            for partition in partitions:
                self._uncommitted.pop(partition, None)
                self._paused.discard(partition)

    # --- poll loop ---------------------------------------------------------------------

    async def _poll_once(self) -> None:
        settings = self._settings
        wait = self._batch.remaining_wait(settings.batch_max_wait_s)
        timeout = self._idle_poll_s if wait is None else min(wait, self._idle_poll_s)
        room = max(1, settings.batch_max_events - len(self._batch))
        try:
            messages = await self._consumer.poll(room, timeout)
        except Exception as exc:  # the bus being down is no reason to die; keep beating
            log.warning("polling the bus failed: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(POLL_ERROR_BACKOFF_S)
            return
        if not messages:
            return
        grouping = await self._grouping.for_messages(messages, self._stop_requested, self._beat)
        if grouping is None:  # stopping while PostgreSQL is down: left for redelivery
            return
        for item in await asyncio.to_thread(prepare_all, messages, grouping):
            self._batch.add(item)
        metrics.MESSAGES_CONSUMED.inc(len(messages))

    async def _report_lag(self) -> None:
        """Publish the consumer's lag per partition (at most once per ``lag_interval_s``)."""
        now = time.monotonic()
        if now - self._lag_checked_at < self._lag_interval_s:
            return
        self._lag_checked_at = now
        try:
            lag = await self._consumer.lag()
        except Exception as exc:  # a missing figure is no reason to stop processing
            log.debug("reading the consumer lag failed: %s: %s", type(exc).__name__, exc)
            return
        labels = {str(partition.index): behind for partition, behind in lag.items()}
        for label, behind in labels.items():
            metrics.CONSUMER_LAG.labels(label).set(behind)
        # A partition that moved to another consumer is that consumer's to report.
        for gone in self._lag_labels - labels.keys():
            with contextlib.suppress(KeyError):
                metrics.CONSUMER_LAG.remove(gone)
        self._lag_labels = set(labels)

    def _flush(self) -> None:
        if not len(self._batch):
            return
        batch, self._batch = self._batch, Batch()
        self._pending += 1
        self._drained.clear()
        metrics.PENDING_BATCHES.set(self._pending)
        self._queue.put_nowait(batch)

    def _beat(self) -> None:
        self.last_progress = time.monotonic()
        path = self._settings.liveness_file
        if path is not None:
            _touch(path)

    def _check_writer(self) -> None:
        task = self._writer_task
        if task is not None and task.done() and not task.cancelled():
            exc = task.exception()
            if exc is not None:
                raise exc

    def _apply_backpressure(self) -> None:
        congested = self._writer_failing or self._pending > self._settings.max_pending_batches
        if congested:
            newly = self._consumer.assignment() - self._paused
            if newly:
                log.info("pausing partitions %s: the writer is behind",
                         sorted(p.index for p in newly))
                self._consumer.pause(sorted(newly))
                self._paused |= newly
        elif self._paused:
            log.info("resuming partitions %s", sorted(p.index for p in self._paused))
            self._consumer.resume(sorted(self._paused & self._consumer.assignment()))
            self._paused.clear()
        metrics.PAUSED.set(1 if self._paused else 0)

    async def _wait_drained(self, timeout_s: float) -> None:
        """Wait until every flushed batch is written and committed (or the writer died)."""
        writer = self._writer_task
        if self._drained.is_set() or writer is None:
            return
        drained = asyncio.create_task(self._drained.wait())
        try:
            await asyncio.wait({drained, writer}, timeout=timeout_s,
                               return_when=asyncio.FIRST_COMPLETED)
        finally:
            drained.cancel()
        self._check_writer()
        if not self._drained.is_set():
            log.error("gave up waiting for %d batches after %.0fs; they stay uncommitted "
                      "and will be redelivered", self._pending, timeout_s)

    async def _stop_writer(self) -> None:
        task = self._writer_task
        if task is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(task, return_exceptions=True)

    # --- writer task -------------------------------------------------------------------

    async def _write_loop(self) -> None:
        while True:
            batch = await self._queue.get()
            outcome = await self._writer.write_until_done(batch, self._retry, self._set_failing)
            _observe(batch, outcome)
            await self._commit(batch.offsets)
            self._pending -= 1
            metrics.PENDING_BATCHES.set(self._pending)
            if not self._pending:
                self._drained.set()

    def _set_failing(self, failing: bool) -> None:
        self._writer_failing = failing

    async def _commit(self, offsets: Mapping[Partition, int]) -> None:
        """Commit ``offsets`` and anything left over from a failed commit.

        A failed commit is not retried on its own: offsets only grow, so the next batch's
        commit covers it, and until then a restart merely redelivers written events.
        """
        for partition, offset in offsets.items():
            self._uncommitted[partition] = max(self._uncommitted.get(partition, 0), offset)
        owned = self._consumer.assignment() | self._revoking
        due = {p: o for p, o in self._uncommitted.items() if p in owned}
        if not due:
            return
        try:
            await self._consumer.commit(due)
        except Exception as exc:
            metrics.COMMIT_FAILURES.inc()
            log.warning("committing offsets failed (retried with the next batch): %s: %s",
                        type(exc).__name__, exc)
            return
        for partition, offset in due.items():
            self.committed[partition] = offset
            if self._uncommitted.get(partition) == offset:
                del self._uncommitted[partition]


def _observe(batch: Batch, outcome: WriteOutcome) -> None:
    metrics.BATCH_SIZE.observe(len(batch))
    metrics.EVENTS_WRITTEN.inc(len(outcome.written))
    metrics.DUPLICATES_SKIPPED.inc(outcome.duplicates)
    for poison in outcome.dead_letters:
        metrics.DLQ_MESSAGES.labels(poison.reason).inc()
    now = time.time()
    for prepared in outcome.written:
        metrics.END_TO_END_SECONDS.observe(max(0.0, now - prepared.received_at))


def _touch(path: Path) -> None:
    try:
        path.touch()
    except OSError as exc:  # a liveness probe failing is better than the processor dying
        log.warning("cannot touch liveness file %s: %s", path, exc)
