"""The resources the relay's handlers share, stored on ``app.state.relay``."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from faultline_core.bus.base import BusProducer
from faultline_core.bus.factory import build_producer
from faultline_core.settings import BusSettings, KafkaSettings, PostgresSettings, RelaySettings
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_core.storage.postgres.tenancy import ProjectKey, find_project_key
from faultline_relay.auth import KeyCache
from faultline_relay.limits import RateLimiter

log = logging.getLogger(__name__)

# Large bodies are decoded in threads; bounding how many at once bounds the memory a
# burst of huge (or hostile) requests can claim.
HEAVY_WORK_SLOTS = 2


@dataclass
class RelayContext:
    """What the relay router needs. The all-in-one may build one around its own pool
    and producer; :meth:`open` builds a standalone one that it also closes.

    ``trust_forwarded_for``: take the client IP from ``X-Forwarded-For`` (only behind a
    proxy that sets it; otherwise any client could claim any address).
    """

    settings: RelaySettings
    bus: BusSettings
    pool: Pool
    producer: BusProducer
    trust_forwarded_for: bool = False
    owns_resources: bool = False
    limiter: RateLimiter = field(default_factory=RateLimiter)
    heavy_work: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(HEAVY_WORK_SLOTS)
    )
    keys: KeyCache = field(init=False)

    def __post_init__(self) -> None:
        self.keys = KeyCache(self._find_key, self.settings.key_cache_ttl_s)

    async def _find_key(self, public_key: str) -> ProjectKey | None:
        return await find_project_key(self.pool, public_key)

    @classmethod
    async def open(
        cls,
        relay: RelaySettings,
        bus: BusSettings,
        kafka: KafkaSettings,
        pg: PostgresSettings,
        *,
        trust_forwarded_for: bool = False,
    ) -> RelayContext:
        """Open a PostgreSQL pool and a started bus producer."""
        pool = await open_pool(pg, name="faultline-relay")
        try:
            producer = build_producer(bus, kafka, pool)
            await producer.start()
        except BaseException:
            await pool.close()
            raise
        return cls(
            relay, bus, pool, producer, trust_forwarded_for=trust_forwarded_for,
            owns_resources=True,
        )

    async def close(self) -> None:
        """Close the producer and the pool when this context opened them."""
        if not self.owns_resources:
            return
        try:
            await self.producer.close()
        finally:
            await self.pool.close()
