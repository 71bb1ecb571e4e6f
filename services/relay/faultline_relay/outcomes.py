"""The relay's own outcomes (events it refused), counted in memory and flushed to
PostgreSQL's hourly ``outcomes`` table by a background task, never on the request path.

A flush that fails keeps its counts for the next try; the counts waiting are bounded by
the number of distinct (project, hour, outcome, category, reason) keys, past which new
keys are dropped (and logged) rather than letting memory grow while the database is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Callable

from faultline_core.storage.postgres.outcomes import OutcomeKey, add_outcomes, hour_bucket
from faultline_core.storage.postgres.pool import Pool

log = logging.getLogger(__name__)

FLUSH_INTERVAL_S = 5.0
MAX_PENDING_KEYS = 10_000
_FLUSH_TIMEOUT_S = 10.0


class OutcomeRecorder:
    """Aggregates outcome quantities per hourly key; :meth:`flush` writes them."""

    def __init__(
        self,
        pool: Pool,
        interval_s: float = FLUSH_INTERVAL_S,
        max_pending_keys: int = MAX_PENDING_KEYS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._pool = pool
        self._interval_s = interval_s
        self._max_pending_keys = max_pending_keys
        self._clock = clock
        self._pending: Counter[OutcomeKey] = Counter()
        self._task: asyncio.Task[None] | None = None
        self._flush_lock = asyncio.Lock()
        self.dropped = 0
        """Quantities lost because too many keys were waiting (the database was down)."""

    @property
    def pending(self) -> dict[OutcomeKey, int]:
        """A copy of the counts not yet written."""
        return dict(self._pending)

    def add(
        self, project_id: int, outcome: str, category: str, reason: str, quantity: int
    ) -> None:
        """Count ``quantity`` for this hour; cheap and synchronous (the request path)."""
        if quantity <= 0:
            return
        key = OutcomeKey(project_id, hour_bucket(self._clock()), outcome, category, reason)
        self._merge(key, quantity)

    def _merge(self, key: OutcomeKey, quantity: int) -> None:
        if key not in self._pending and len(self._pending) >= self._max_pending_keys:
            self.dropped += quantity
            log.warning("outcome counts dropped: %d keys already waiting", len(self._pending))
            return
        self._pending[key] += quantity

    async def flush(self) -> bool:
        """Write what is pending; on failure keep it for the next flush. True if written."""
        async with self._flush_lock:
            batch, self._pending = self._pending, Counter()
            if not batch:
                return True
            try:
                async with asyncio.timeout(_FLUSH_TIMEOUT_S):
                    async with self._pool.connection() as conn, conn.transaction():
                        await add_outcomes(conn, batch.items())
            except BaseException as exc:  # any failure, even a cancel: keep the counts
                for key, quantity in batch.items():
                    self._merge(key, quantity)
                if not isinstance(exc, Exception):
                    raise
                log.warning("writing outcomes failed (kept for the next try): %s",
                            exc or type(exc).__name__)
                return False
            return True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            await self.flush()

    def start(self) -> None:
        """Flush every ``interval_s`` seconds in a background task (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="relay-outcomes-flush")

    async def stop(self) -> None:
        """Stop the background task and write what is left (one last try)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await self.flush()
