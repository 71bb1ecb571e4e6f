"""The ``/api/0/`` routes: Sentry's web API shapes for issues and events."""

from __future__ import annotations

from fastapi import APIRouter

from faultline_web.api import attachments, events, issues, keys, logs, stats, user_reports

api_router = APIRouter()
api_router.include_router(issues.router)
api_router.include_router(logs.router)
api_router.include_router(keys.router)
api_router.include_router(events.router)
api_router.include_router(attachments.router)
api_router.include_router(user_reports.router)
api_router.include_router(stats.router)

__all__ = ["api_router"]
