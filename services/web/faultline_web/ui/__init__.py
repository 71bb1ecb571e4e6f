"""The server-rendered HTML UI: sign-in, issue list and issue details."""

from __future__ import annotations

from fastapi import APIRouter

from faultline_web.ui import (
    issue_routes,
    lifecycle_routes,
    log_routes,
    session_routes,
    stats_routes,
)

ui_router = APIRouter(include_in_schema=False)
ui_router.include_router(session_routes.router)
ui_router.include_router(issue_routes.router)
ui_router.include_router(lifecycle_routes.router)
ui_router.include_router(log_routes.router)
ui_router.include_router(stats_routes.router)

__all__ = ["ui_router"]
