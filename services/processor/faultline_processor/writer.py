"""Writing one batch: issues, then raw events, then counters, then the other items, then
dead letters.

The order is what makes a crash anywhere harmless: every step is idempotent, and the
offsets are committed (by the runner) only after all of them succeeded, so a replayed
batch finds its issues, collapses into the same ClickHouse rows (ReplacingMergeTree,
read with FINAL) and is not counted again (``processed_events``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

from faultline_core.bus.base import BusProducer
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.clickhouse.errors_table import ERRORS_COLUMNS, errors_row
from faultline_core.storage.postgres.pool import Pool
from faultline_processor import issue_store, metrics
from faultline_processor.batch import Batch
from faultline_processor.dlq import publish_dead_letters
from faultline_processor.grouping_settings import NO_SETTINGS, GroupingSettingsCache
from faultline_processor.issue_store import EventRecord, IssueSeed, RecordResult, Resolution
from faultline_processor.items.base import ItemSinks
from faultline_processor.items.write import write_items
from faultline_processor.prepare import Poison, PreparedEvent, regroup_prepared

log = logging.getLogger(__name__)

ERRORS_TABLE = "errors"

MAX_REGROUP_ROUNDS = 5
"""Rounds of regrouping one batch's events before the write fails (and is retried)."""

ResolveIssues = Callable[[Pool, Sequence[IssueSeed]], Awaitable[Resolution]]
RecordEvents = Callable[[Pool, Sequence[EventRecord]], Awaitable[RecordResult]]


@dataclass(frozen=True)
class WriteOutcome:
    written: list[PreparedEvent]
    """Events counted for the first time."""
    duplicates: int
    dead_letters: list[Poison]


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff between attempts to write a batch, capped at ``max_delay_s``."""

    initial_delay_s: float = 0.1
    max_delay_s: float = 5.0

    def delay(self, attempt: int) -> float:
        return float(min(self.max_delay_s, self.initial_delay_s * 2 ** max(0, attempt - 1)))


def issue_seed(prepared: PreparedEvent) -> IssueSeed:
    """The new issue an event would create (type and metadata as normalisation derived)."""
    event = prepared.event
    data_type = event.data.get("type")
    metadata = event.data.get("metadata")
    return IssueSeed(
        project_id=event.project_id, hashes=prepared.hashes,
        grouping_config=prepared.grouping_config, timestamp=event.timestamp,
        title=event.title, culprit=event.culprit, level=event.level,
        type=data_type if isinstance(data_type, str) and data_type else "default",
        platform=event.platform,
        metadata=metadata if isinstance(metadata, Mapping) else {"title": event.title},
    )


class BatchWriter:
    """Writes batches to PostgreSQL and ClickHouse and dead-letters their poison.

    ``grouping`` is the processor's settings cache, refreshed when an event turns out to
    be grouped with a config its project has left. ``resolve_issues`` and
    ``record_events`` default to :mod:`issue_store`; they are parameters so that a test
    can make one step fail the way a crash would.
    """

    def __init__(
        self,
        clickhouse: ClickHouse,
        pool: Pool,
        dlq: BusProducer,
        dlq_topic: str,
        *,
        grouping: GroupingSettingsCache,
        resolve_issues: ResolveIssues = issue_store.resolve_issues,
        record_events: RecordEvents = issue_store.record_events,
    ) -> None:
        self._grouping = grouping
        self._clickhouse = clickhouse
        self._pool = pool
        self._dlq = dlq
        self._dlq_topic = dlq_topic
        self._resolve_issues = resolve_issues
        self._record_events = record_events

    async def write(self, batch: Batch) -> WriteOutcome:
        """Write ``batch`` once; raises if any sink fails (the caller retries)."""
        started = time.perf_counter()
        events, resolved, unknown = await self._resolve(batch.events)
        # PostgreSQL is written in two steps around ClickHouse; one batch is one observation.
        postgres_s = time.perf_counter() - started
        prepared = [p for p in events if isinstance(p, PreparedEvent)]
        stored = [p for p in prepared if p.event.project_id not in unknown]
        orphans = [
            Poison(p.message, "unknown_project", f"project {p.event.project_id} does not exist")
            for p in prepared if p.event.project_id in unknown
        ]
        issue_ids = [resolved[issue_seed_key(p)] for p in stored]

        if stored:
            started = time.perf_counter()
            await self._clickhouse.insert(
                ERRORS_TABLE,
                ERRORS_COLUMNS,
                [errors_row(p.event, issue_id, p.primary_hash)
                 for p, issue_id in zip(stored, issue_ids, strict=True)],
            )
            metrics.WRITE_SECONDS.labels("clickhouse").observe(time.perf_counter() - started)

        started = time.perf_counter()
        result = await self._record_events(
            self._pool, [_record(p, i) for p, i in zip(stored, issue_ids, strict=True)]
        )
        postgres_s += time.perf_counter() - started
        metrics.WRITE_SECONDS.labels("postgres").observe(postgres_s)

        await write_items(ItemSinks(self._pool, self._clickhouse), batch.items)
        dead = [*batch.poison, *(p for p in events if isinstance(p, Poison)), *orphans]
        await publish_dead_letters(self._dlq, self._dlq_topic, dead)
        return WriteOutcome(_counted(stored, result), result.duplicates, dead)

    async def _resolve(
        self, events: Sequence[PreparedEvent]
    ) -> tuple[list[PreparedEvent | Poison], dict[issue_store.IssueKey, int], frozenset[int]]:
        """Each event's issue, in rounds: an event grouped with a config its project has
        left since (a regroup swapped the project after the event was grouped) gets no
        issue in a round, so it is grouped again under the project's settings as they are
        now and resolved in the next. Returns the events (regrouped ones replaced, those
        that failed to regroup as poison), the issue ids and the unknown projects."""
        current: list[PreparedEvent | Poison] = list(events)
        pending = list(range(len(current)))
        issue_ids: dict[issue_store.IssueKey, int] = {}
        unknown: set[int] = set()
        for _ in range(MAX_REGROUP_ROUNDS):
            seeds = [issue_seed(_prepared(current[i])) for i in pending]
            resolution = await self._resolve_issues(self._pool, seeds)
            issue_ids.update(resolution.issue_ids)
            unknown |= resolution.unknown_projects
            stale = [i for i in pending
                     if _left_config(_prepared(current[i]), resolution.configs)]
            if not stale:
                return current, issue_ids, frozenset(unknown)
            metrics.EVENTS_REGROUPED.inc(len(stale))
            settings = await self._grouping.refresh(
                {_prepared(current[i]).event.project_id for i in stale})
            for i in stale:
                event = _prepared(current[i])
                current[i] = regroup_prepared(
                    event, settings.get(event.event.project_id, NO_SETTINGS))
            pending = [i for i in stale if isinstance(current[i], PreparedEvent)]
        raise RuntimeError("grouping configs kept changing while the batch was written")

    async def write_until_done(
        self,
        batch: Batch,
        policy: RetryPolicy,
        on_failure: Callable[[bool], None] | None = None,
    ) -> WriteOutcome:
        """Write ``batch``, retrying with backoff until it succeeds.

        Never gives up on its own and never drops the batch: the caller cancels it (at
        shutdown), and then the batch's offsets stay uncommitted and it is redelivered.
        ``on_failure(True)`` is called when retrying starts, ``on_failure(False)`` when a
        retried write finally succeeds, so the caller can pause its partitions meanwhile.
        """
        attempt = 0
        while True:
            try:
                outcome = await self.write(batch)
            except Exception as exc:
                attempt += 1
                delay = policy.delay(attempt)
                metrics.WRITE_RETRIES.inc()
                log.warning(
                    "writing a batch of %d messages failed (attempt %d), retrying in %.1fs: %s",
                    len(batch), attempt, delay, _describe(exc),
                )
                if on_failure is not None and attempt == 1:
                    on_failure(True)
                await asyncio.sleep(delay)
                continue
            if on_failure is not None and attempt:
                on_failure(False)
            return outcome


def _prepared(item: PreparedEvent | Poison) -> PreparedEvent:
    assert isinstance(item, PreparedEvent)  # only events still pending are looked at
    return item


def _left_config(prepared: PreparedEvent, configs: Mapping[int, str]) -> bool:
    config = configs.get(prepared.event.project_id)
    return config is not None and config != prepared.grouping_config


def issue_seed_key(prepared: PreparedEvent) -> issue_store.IssueKey:
    return (prepared.event.project_id, prepared.hashes)


def _record(prepared: PreparedEvent, issue_id: int) -> EventRecord:
    event = prepared.event
    return EventRecord(
        project_id=event.project_id, event_id=event.event_id, issue_id=issue_id,
        timestamp=event.timestamp, received=event.received, level=event.level,
        title=event.title, culprit=event.culprit, primary_hash=prepared.primary_hash,
        # the same key as ClickHouse's errors.user_key, so both count the same users
        user_key=event.user.key, environment=event.environment, release=event.release,
    )


def _counted(stored: Sequence[PreparedEvent], result: RecordResult) -> list[PreparedEvent]:
    """The events counted now; an event delivered twice in one batch appears once."""
    pending = {(r.project_id, r.event_id) for r in result.new}
    counted: list[PreparedEvent] = []
    for prepared in stored:
        key = (prepared.event.project_id, prepared.event.event_id)
        if key in pending:
            pending.discard(key)
            counted.append(prepared)
    return counted


def _describe(exc: BaseException) -> str:
    # The first line only: driver messages can carry whole statements (event data).
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300] if text else ''}"
