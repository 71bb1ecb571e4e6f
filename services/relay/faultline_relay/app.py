"""The standalone relay application: the ingestion router plus health and metrics."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from faultline_core.blobstore.base import BlobStore
from faultline_core.settings import BusSettings, KafkaSettings, PostgresSettings, RelaySettings
from faultline_relay.context import RelayContext
from faultline_relay.routes import get_relay, router
from faultline_relay.udp import start_udp_listener

log = logging.getLogger(__name__)

READY_TIMEOUT_S = 2.0


async def database_ready(relay: RelayContext) -> bool:
    """Whether PostgreSQL (keys, and the embedded bus) answers a trivial query in time."""
    try:
        async with relay.pool.connection(timeout=READY_TIMEOUT_S) as conn:
            await conn.execute("SELECT 1")
    except Exception as exc:  # any failure means "not ready", whatever its kind
        log.warning("readiness check failed: %s", type(exc).__name__)
        return False
    return True


def create_app(
    relay: RelaySettings,
    bus: BusSettings,
    kafka: KafkaSettings,
    pg: PostgresSettings,
    blobs: BlobStore,
    *,
    trust_forwarded_for: bool = False,
) -> FastAPI:
    """The relay as its own service: opens its pool and producer for its lifetime."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = await RelayContext.open(
            relay, bus, kafka, pg, blobs, trust_forwarded_for=trust_forwarded_for
        )
        app.state.relay = context
        context.start_background()  # the outcome flush; context.close() stops it
        udp: asyncio.DatagramTransport | None = None
        try:
            if relay.udp_port is not None:
                udp = await start_udp_listener(context, relay.host, relay.udp_port)
            yield
        finally:
            if udp is not None:
                udp.close()
            await context.close()

    app = FastAPI(title="Faultline relay", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.include_router(router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> Response:
        context = get_relay(request)
        database, bus_ok = await asyncio.gather(
            database_ready(context), context.bus_ready(READY_TIMEOUT_S)
        )
        checks = {"database": database, "bus": bus_ok}
        if all(checks.values()):
            return JSONResponse({"status": "ready"})
        failing = sorted(name for name, ok in checks.items() if not ok)
        return JSONResponse({"status": "unavailable", "failing": failing}, status_code=503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
