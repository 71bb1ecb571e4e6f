"""The standalone relay app: its lifespan, health, readiness and metrics."""

from __future__ import annotations

import uuid

from httpx import ASGITransport, AsyncClient

from faultline_core.bus.embedded import EmbeddedConsumer, EmbeddedProducer
from faultline_core.settings import BusSettings, KafkaSettings, PostgresSettings, RelaySettings
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_relay import RelayContext, create_app
from faultline_relay.app import database_ready
from tests.unit.relay.conftest import Tenant
from tests.unit.relay.support import auth_header, event_envelope, published, scratch_blobs


async def test_app_lifespan_serves_ingest_health_and_metrics(
    pg_settings: PostgresSettings, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    app = create_app(
        RelaySettings(), BusSettings(), KafkaSettings(), pg_settings, scratch_blobs()
    )
    event_id = uuid.uuid4().hex

    async with app.router.lifespan_context(app):
        async with AsyncClient(transport=ASGITransport(app=app), base_url="http://r") as client:
            accepted = await client.post(
                f"/api/{tenant.project_id}/envelope/",
                content=event_envelope({"event_id": event_id}),
                headers=auth_header(tenant.key),
            )
            health = await client.get("/healthz")
            ready = await client.get("/readyz")
            metrics = await client.get("/metrics")
        context = app.state.relay
        assert isinstance(context, RelayContext)

    assert accepted.json() == {"id": event_id}
    assert [m.event_id for _, m in await published(consumer)] == [event_id]
    assert health.status_code == ready.status_code == 200
    assert 'faultline_relay_requests_total{endpoint="envelope",outcome="accepted"}' in metrics.text
    assert "faultline_relay_publish_seconds_bucket" in metrics.text
    assert context.pool.closed  # the lifespan closed what it opened


async def test_readiness_fails_when_postgres_is_unreachable(
    pg_settings: PostgresSettings, pool: Pool
) -> None:
    dead_pool = await open_pool(pg_settings, name="relay-tests-dead")
    await dead_pool.close()
    relay = RelaySettings()
    alive = RelayContext(relay, BusSettings(), pool, EmbeddedProducer(pool, 1.0), scratch_blobs())
    dead = RelayContext(
        relay, BusSettings(), dead_pool, EmbeddedProducer(dead_pool, 1.0), scratch_blobs()
    )

    assert await database_ready(alive) is True
    assert await database_ready(dead) is False
