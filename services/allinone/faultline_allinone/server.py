"""The all-in-one composition root: four services, one process, embedded engines.

Relay and web share one HTTP port (as Sentry does); the query service listens for gRPC on
a private loopback port, and web talks to it over gRPC exactly as in distributed mode; the
processor runs as a task on the same event loop, fed by the embedded PostgreSQL log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic_settings import BaseSettings, SettingsConfigDict

from faultline_allinone.engines import EmbeddedEngines, start_engines
from faultline_core.blobstore.factory import build_blob_store
from faultline_core.bootstrap import Bootstrap, ensure_bootstrap
from faultline_core.bus.base import BusProducer, Partition
from faultline_core.bus.factory import build_consumer, build_producer
from faultline_core.http_protocol import BoundedHeadHttpToolsProtocol
from faultline_core.settings import (
    AppSettings,
    BlobStoreSettings,
    BusSettings,
    KafkaSettings,
    ProcessorSettings,
    RelaySettings,
    WebSettings,
)
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_processor.runner import Processor
from faultline_query.server import start_query_server_on
from faultline_query.servicer import QueryServicer
from faultline_relay.context import RelayContext
from faultline_relay.routes import router as relay_router
from faultline_relay.udp import start_udp_listener
from faultline_web.app import web_router
from faultline_web.context import WebContext
from faultline_web.metrics import MetricsMiddleware
from faultline_web.query_client import QueryClient

log = logging.getLogger(__name__)


class AllInOneSettings(BaseSettings):
    """The single listener of ``make run``, and whether to run the processor."""

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_")

    host: str = "127.0.0.1"
    port: int = 8000
    public_url: str = ""
    processor_enabled: bool = True
    # The legacy Sentry UDP listener, on ``host``; off unless a port is given.
    udp_port: int | None = None

    @property
    def url(self) -> str:
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"


@dataclass
class Running:
    """Everything started, in the order it must be stopped."""

    engines: EmbeddedEngines
    relay: RelayContext
    web: WebContext
    processor: Processor | None
    processor_task: asyncio.Task[None] | None


def build_http_app(running: Running) -> FastAPI:
    app = FastAPI(title="Faultline", docs_url=None, redoc_url=None)
    app.state.relay = running.relay
    app.state.web = running.web
    app.add_middleware(MetricsMiddleware)
    app.include_router(relay_router)
    app.include_router(web_router)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> Response:
        try:
            async with running.relay.pool.connection() as conn:
                await conn.execute("SELECT 1")
        except Exception as exc:  # any failure means "not ready", reported, never raised
            return JSONResponse({"status": "unavailable", "detail": str(exc)}, 503)
        if running.processor_task is not None and running.processor_task.done():
            return JSONResponse({"status": "unavailable", "detail": "processor stopped"}, 503)
        return JSONResponse({"status": "ok"})

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


@contextlib.asynccontextmanager
async def running_services(app: AppSettings, aio: AllInOneSettings) -> AsyncIterator[Running]:
    engines = await start_engines(app.data_dir)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(engines.close)
        bus, kafka = BusSettings(backend="embedded"), KafkaSettings()
        pool = await open_pool(engines.pg_settings, name="faultline-allinone")
        stack.push_async_callback(pool.close)
        producer = build_producer(bus, kafka, pool)
        await producer.start()
        stack.push_async_callback(producer.close)

        # Port 0: the kernel picks a free port, so nothing can take it between choosing
        # and binding (a free_port() guess could collide with the HTTP port).
        grpc_server, query_port = await start_query_server_on(
            QueryServicer(engines.clickhouse, pool), "127.0.0.1", 0
        )
        stack.push_async_callback(grpc_server.stop, 5.0)
        web_settings = WebSettings(host=aio.host, port=aio.port,
                                   query_address=f"127.0.0.1:{query_port}", public_url=aio.url)
        blobs = build_blob_store(BlobStoreSettings(), app)
        web = WebContext(
            web_settings, app, pool, QueryClient.connect(web_settings.query_address), blobs
        )
        stack.push_async_callback(web.close)
        relay = RelayContext(
            RelaySettings(host=aio.host, port=aio.port), bus, pool, producer, blobs
        )
        relay.start_background()  # the outcome flush; stopped (and flushed) before the pool
        stack.push_async_callback(relay.stop_background)
        if aio.udp_port is not None:
            udp = await start_udp_listener(relay, aio.host, aio.udp_port)
            stack.callback(udp.close)

        processor, task = None, None
        if aio.processor_enabled:
            processor = await _start_processor(stack, bus, kafka, pool, producer, engines)
            task = asyncio.create_task(processor.run(), name="processor")
            stack.push_async_callback(_stop_processor, processor, task)
        yield Running(engines, relay, web, processor, task)


async def _start_processor(
    stack: contextlib.AsyncExitStack, bus: BusSettings, kafka: KafkaSettings, pool: Pool,
    dlq: BusProducer, engines: EmbeddedEngines,
) -> Processor:
    settings = ProcessorSettings()

    async def on_revoke(partitions: frozenset[Partition]) -> None:
        await processor.on_revoke(partitions)

    consumer = build_consumer(bus, kafka, pool, bus.events_topic, settings.consumer_group,
                              on_revoke=on_revoke)
    processor = Processor(consumer, dlq, engines.clickhouse, pool, settings, bus)
    await consumer.start()
    stack.push_async_callback(consumer.close)
    return processor


async def _stop_processor(processor: Processor, task: asyncio.Task[None]) -> None:
    await processor.stop()
    await task


class _HttpServer(uvicorn.Server):
    """uvicorn, minus its signal handling: it re-raises SIGTERM after serving, which would
    kill the process before the processor drains and PostgreSQL stops."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def announce(boot: Bootstrap, data_dir: Path) -> None:
    print(
        "\nFaultline is running.\n"
        f"  URL:    {boot.url}\n"
        f"  DSN:    {boot.dsn}\n"
        f"  Login:  {boot.admin_email} / {boot.admin_password}\n"
        f"  API token and the rest: {data_dir / 'bootstrap.json'}\n",
        flush=True,
    )


async def serve(app: AppSettings, aio: AllInOneSettings) -> None:
    """Start everything, serve HTTP until SIGINT/SIGTERM, then stop in reverse order."""
    app.data_dir.mkdir(parents=True, exist_ok=True)
    pid_file = app.data_dir / "faultline.pid"
    async with running_services(app, aio) as running:
        boot = await ensure_bootstrap(running.engines.pg_settings.dsn.get_secret_value(),
                                      app.data_dir, aio.url)
        pid_file.write_text(str(os.getpid()))
        server = _HttpServer(uvicorn.Config(
            build_http_app(running), host=aio.host, port=aio.port, lifespan="off",
            http=BoundedHeadHttpToolsProtocol,
            log_level="warning", access_log=False,
        ))
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, setattr, server, "should_exit", True)
        announce(boot, app.data_dir)
        await server.serve()
        log.info("shutting down")
    pid_file.unlink(missing_ok=True)
