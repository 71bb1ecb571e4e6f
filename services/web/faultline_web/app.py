"""The standalone web gateway: ``create_app`` plus the router the all-in-one mounts."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from faultline_core.settings import AppSettings, BlobStoreSettings, PostgresSettings, WebSettings
from faultline_web.api import api_router
from faultline_web.context import WebContext
from faultline_web.deps import Web
from faultline_web.metrics import MetricsMiddleware
from faultline_web.ui import ui_router

log = logging.getLogger(__name__)

# The API first: its paths are more specific than the UI's ``/{org}/{project}/...``.
web_router = APIRouter()
web_router.include_router(api_router)
web_router.include_router(ui_router)


async def postgres_ready(web: WebContext) -> bool:
    try:
        async with web.pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.info("PostgreSQL is not ready: %s", type(exc).__name__)
        return False
    return True


health_router = APIRouter(include_in_schema=False)


@health_router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


@health_router.get("/readyz")
async def readyz(web: Web) -> JSONResponse:
    """Readiness: PostgreSQL answers and the query service reports SERVING."""
    checks = {"postgres": await postgres_ready(web), "query": await web.query.is_serving()}
    ready = all(checks.values())
    body = {"status": "ok" if ready else "unavailable", "checks": checks}
    return JSONResponse(body, status_code=200 if ready else 503)


@health_router.get("/metrics")
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def create_app(
    web: WebSettings,
    app_settings: AppSettings,
    pg: PostgresSettings,
    blob_settings: BlobStoreSettings | None = None,
) -> FastAPI:
    """The web gateway as its own ASGI app, opening its pool and gRPC channel on startup."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        context = await WebContext.open(
            web, app_settings, pg, blob_settings or BlobStoreSettings()
        )
        app.state.web = context
        try:
            yield
        finally:
            await context.close()

    app = FastAPI(title="Faultline web", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.add_middleware(MetricsMiddleware)
    app.include_router(health_router)
    app.include_router(web_router)
    return app
