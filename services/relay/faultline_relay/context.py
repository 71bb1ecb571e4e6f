"""The resources the relay's handlers share, stored on ``app.state.relay``."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from dataclasses import dataclass, field

from faultline_core.blobstore.base import BlobStore
from faultline_core.bus.base import BusProducer, BusUnavailable
from faultline_core.bus.factory import build_producer
from faultline_core.settings import BusSettings, KafkaSettings, PostgresSettings, RelaySettings
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_core.storage.postgres.tenancy import ProjectKey, find_project_key
from faultline_relay.auth import KeyCache
from faultline_relay.body import BODY_READ_TIMEOUT_S
from faultline_relay.errors import RelayError
from faultline_relay.limits import OUTCOME_CATEGORY, RateLimiter, Refusal
from faultline_relay.metrics import RATE_LIMITED_EVENTS
from faultline_relay.outcomes import OutcomeRecorder

log = logging.getLogger(__name__)

# Large bodies are decoded in threads; bounding how many at once bounds the memory a
# burst of huge (or hostile) requests can claim.
HEAVY_WORK_SLOTS = 2
# After a refused publish the relay reports itself not ready for this long; it then
# reports ready again so that a load balancer lets traffic (and with it a retry) through.
BUS_FAILURE_MEMORY_S = 5.0


@dataclass
class RelayContext:
    """What the relay router needs. The all-in-one may build one around its own pool
    and producer; :meth:`open` builds a standalone one that it also closes.

    ``trust_forwarded_for``: take the client IP from ``X-Forwarded-For`` (only behind a
    proxy that sets it; otherwise any client could claim any address).

    ``body_read_timeout_s``: how long a client may take to send a request body.

    ``bus_started``: whether ``producer.start()`` succeeded. The relay starts even when
    the bus (Kafka) is down; requests then answer 503 until a publish or a readiness
    check manages to start the producer.

    ``outcomes``: the relay's refusals, flushed to PostgreSQL by a background task that
    :meth:`start_background` starts and :meth:`stop_background` (or :meth:`close`) stops.
    """

    settings: RelaySettings
    bus: BusSettings
    pool: Pool
    producer: BusProducer
    blobs: BlobStore
    """Where attachment bytes go (before their reference is published)."""
    trust_forwarded_for: bool = False
    owns_resources: bool = False
    bus_started: bool = True
    body_read_timeout_s: float = BODY_READ_TIMEOUT_S
    limiter: RateLimiter = field(default_factory=RateLimiter)
    heavy_work: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(HEAVY_WORK_SLOTS)
    )
    keys: KeyCache = field(init=False)
    outcomes: OutcomeRecorder = field(init=False)
    _bus_failed_at: float = field(default=-math.inf, init=False)

    def __post_init__(self) -> None:
        self.keys = KeyCache(self._find_key, self.settings.key_cache_ttl_s)
        self.outcomes = OutcomeRecorder(self.pool)

    def start_background(self) -> None:
        """Start the periodic outcome flush (call from a running event loop)."""
        self.outcomes.start()

    async def stop_background(self) -> None:
        """Stop the outcome flush, writing what is still counted."""
        await self.outcomes.stop()

    def probe_quotas(self, key: ProjectKey) -> None:
        """Refuse (429) before reading a body that holds one event if a quota is used up."""
        refusal = self.limiter.retry_after(key)
        if refusal is not None:
            raise self._refused(key, refusal, 1)

    def charge_events(self, key: ProjectKey, quantity: int) -> None:
        """Charge ``quantity`` error events to the key's and project's quotas, or raise
        the 429 (counted as a ``rate_limited`` outcome; nothing is charged then)."""
        refusal = self.limiter.try_consume(key, quantity)
        if refusal is not None:
            raise self._refused(key, refusal, quantity)

    def _refused(self, key: ProjectKey, refusal: Refusal, quantity: int) -> RelayError:
        RATE_LIMITED_EVENTS.labels(refusal.reason, OUTCOME_CATEGORY).inc(quantity)
        self.outcomes.add(
            key.project_id, "rate_limited", OUTCOME_CATEGORY, refusal.reason, quantity
        )
        return refusal.error()

    def record_publish(self, succeeded: bool) -> None:
        """Remember how the last publish went (it may have started the producer itself)."""
        if succeeded:
            self.bus_started = True
            self._bus_failed_at = -math.inf
        else:
            self._bus_failed_at = time.monotonic()

    async def bus_ready(self, timeout_s: float) -> bool:
        """Whether the bus takes messages: the producer started (trying again now, within
        ``timeout_s``, if it had not) and no publish was refused in the last few seconds."""
        if not self.bus_started:
            try:
                async with asyncio.timeout(timeout_s):
                    await self.producer.start()
            except (BusUnavailable, TimeoutError) as exc:
                log.warning("event bus still unavailable: %s", exc or type(exc).__name__)
                return False
            log.info("event bus producer started")
            self.bus_started = True
        return time.monotonic() - self._bus_failed_at >= BUS_FAILURE_MEMORY_S

    async def _find_key(self, public_key: str) -> ProjectKey | None:
        return await find_project_key(self.pool, public_key)

    @classmethod
    async def open(
        cls,
        relay: RelaySettings,
        bus: BusSettings,
        kafka: KafkaSettings,
        pg: PostgresSettings,
        blobs: BlobStore,
        *,
        trust_forwarded_for: bool = False,
    ) -> RelayContext:
        """Open a PostgreSQL pool and a bus producer.

        A bus that is down (``BusUnavailable``) does not stop the relay: the producer is
        started later, by a publish or a readiness check, and requests answer 503 until then.
        """
        pool = await open_pool(pg, name="faultline-relay")
        try:
            producer = build_producer(bus, kafka, pool)
            started = await _try_start(producer)
        except BaseException:
            await pool.close()
            raise
        return cls(
            relay, bus, pool, producer, blobs, trust_forwarded_for=trust_forwarded_for,
            owns_resources=True, bus_started=started,
        )

    async def close(self) -> None:
        """Stop the outcome flush; close the producer and the pool if this context
        opened them."""
        await self.stop_background()
        if not self.owns_resources:
            return
        try:
            await self.producer.close()
        finally:
            await self.pool.close()


async def _try_start(producer: BusProducer) -> bool:
    try:
        await producer.start()
    except BusUnavailable as exc:
        log.warning("starting without the event bus (answering 503 until it is back): %s", exc)
        return False
    return True
