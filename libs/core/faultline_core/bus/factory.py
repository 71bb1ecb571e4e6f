"""Picks the bus adapters named by ``BusSettings.backend`` (the composition roots call this)."""

from __future__ import annotations

from faultline_core.bus.base import BusConsumer, BusProducer
from faultline_core.bus.embedded import EmbeddedConsumer, EmbeddedProducer, RevokeCallback
from faultline_core.bus.kafka import KafkaConsumerAdapter, KafkaProducerAdapter
from faultline_core.settings import BusSettings, KafkaSettings
from faultline_core.storage.postgres.pool import Pool


def build_producer(bus: BusSettings, kafka: KafkaSettings, pool: Pool | None) -> BusProducer:
    """A producer for ``bus.backend``; the embedded bus writes through ``pool``."""
    if bus.backend == "kafka":
        return KafkaProducerAdapter(kafka, bus.publish_timeout_s)
    if pool is None:
        raise ValueError("the embedded bus needs a PostgreSQL pool")
    return EmbeddedProducer(pool, bus.publish_timeout_s)


def build_consumer(
    bus: BusSettings,
    kafka: KafkaSettings,
    pool_or_dsn: Pool | str | None,
    topic: str,
    group_id: str,
    on_revoke: RevokeCallback | None = None,
) -> BusConsumer:
    """A consumer of ``topic`` in ``group_id``; ``on_revoke`` runs before partitions go away
    (on a Kafka rebalance, and on close for both backends)."""
    if bus.backend == "kafka":
        return KafkaConsumerAdapter(kafka, topic, group_id, on_revoke=on_revoke)
    if pool_or_dsn is None:
        raise ValueError("the embedded bus needs a PostgreSQL pool or DSN")
    return EmbeddedConsumer(pool_or_dsn, topic, group_id, on_revoke=on_revoke)
