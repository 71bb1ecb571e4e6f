"""The ``/api/0/`` routes: Sentry's web API shapes for issues and events."""

from __future__ import annotations

from fastapi import APIRouter

from faultline_web.api import (
    attachments,
    events,
    grouping,
    issues,
    keys,
    lifecycle,
    logs,
    stats,
    user_reports,
)

api_router = APIRouter()
api_router.include_router(issues.router)
api_router.include_router(lifecycle.router)
api_router.include_router(logs.router)
api_router.include_router(keys.router)
api_router.include_router(events.router)
api_router.include_router(attachments.router)
api_router.include_router(user_reports.router)
api_router.include_router(stats.router)
api_router.include_router(grouping.router)

__all__ = ["api_router"]
