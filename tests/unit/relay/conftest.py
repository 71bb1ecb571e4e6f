"""Relay fixtures: a real PostgreSQL with tenants, the real embedded bus, and an HTTP client
talking to the relay router in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from pydantic import SecretStr

from faultline_core.bus.base import BusProducer
from faultline_core.bus.embedded import EmbeddedConsumer, EmbeddedProducer
from faultline_core.settings import BusSettings, PostgresSettings, RelaySettings
from faultline_core.storage.postgres import tenancy
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_relay.context import RelayContext
from faultline_relay.routes import router
from tests.unit.relay.support import TOPIC, scratch_blobs

CLIENT_ADDRESS = ("203.0.113.7", 40000)
RELAY_LIMITS = RelaySettings(
    max_compressed_bytes=64 * 1024,
    max_decompressed_bytes=256 * 1024,
    max_event_bytes=32 * 1024,
)


@dataclass(frozen=True)
class Tenant:
    project_id: int
    key: str
    secret: str
    other_project_id: int
    other_key: str
    inactive_key: str
    limited_key: str
    """Allows two events per minute."""


@pytest.fixture
async def pg_settings(pg_dsn: str) -> PostgresSettings:
    return PostgresSettings(dsn=SecretStr(pg_dsn), pool_min_size=1, pool_max_size=4)


@pytest.fixture
async def pool(pg_settings: PostgresSettings) -> AsyncIterator[Pool]:
    pool = await open_pool(pg_settings, name="relay-tests")
    yield pool
    await pool.close()


async def _secret_of(pool: Pool, public_key: str) -> str:
    key = await tenancy.find_project_key(pool, public_key)
    assert key is not None and key.secret_key is not None
    return key.secret_key


@pytest.fixture
async def tenant(pool: Pool) -> Tenant:
    async with pool.connection() as conn:
        org = await tenancy.create_organization(conn, "acme", "Acme")
        project = await tenancy.create_project(conn, org, "backend", "Backend", "python")
        other_org = await tenancy.create_organization(conn, "globex", "Globex")
        other_project = await tenancy.create_project(conn, other_org, "web", "Web")
        key = await tenancy.create_project_key(conn, project)
        other_key = await tenancy.create_project_key(conn, other_project)
        inactive_key = await tenancy.create_project_key(conn, project)
        limited_key = await tenancy.create_project_key(conn, project)
        await conn.execute(
            "UPDATE project_keys SET is_active = false WHERE public_key = %s", (inactive_key,)
        )
        await conn.execute(
            "UPDATE project_keys SET rate_limit_count = 2, rate_limit_window = 60"
            " WHERE public_key = %s",
            (limited_key,),
        )
    secret = await _secret_of(pool, key)
    return Tenant(project, key, secret, other_project, other_key, inactive_key, limited_key)


@pytest.fixture
async def producer(pool: Pool) -> AsyncIterator[EmbeddedProducer]:
    producer = EmbeddedProducer(pool, publish_timeout_s=2.0)
    await producer.start()
    yield producer
    await producer.close()


@pytest.fixture
async def consumer(pool: Pool) -> AsyncIterator[EmbeddedConsumer]:
    consumer = EmbeddedConsumer(pool, TOPIC, "relay-tests")
    await consumer.start()
    yield consumer
    await consumer.close()


ClientFactory = Callable[..., Awaitable[AsyncClient]]


@pytest.fixture
async def make_client(
    pool: Pool, producer: EmbeddedProducer
) -> AsyncIterator[ClientFactory]:
    """Build a client for a relay with the given limits, producer or proxy trust."""
    async with AsyncExitStack() as stack:

        async def build(
            settings: RelaySettings = RELAY_LIMITS,
            bus_producer: BusProducer | None = None,
            trust_forwarded_for: bool = False,
        ) -> AsyncClient:
            context = RelayContext(
                settings,
                BusSettings(publish_timeout_s=2.0),
                pool,
                bus_producer or producer,
                scratch_blobs(),
                trust_forwarded_for=trust_forwarded_for,
            )
            app = FastAPI()
            app.include_router(router)
            app.state.relay = context
            transport = ASGITransport(app=app, client=CLIENT_ADDRESS)
            return await stack.enter_async_context(
                AsyncClient(transport=transport, base_url="http://relay.test")
            )

        yield build


@pytest.fixture
async def client(make_client: ClientFactory) -> AsyncClient:
    return await make_client()
