"""The ``/api/0/`` routes: Sentry's web API shapes for issues and events."""

from __future__ import annotations

from fastapi import APIRouter

from faultline_web.api import events, issues

api_router = APIRouter()
api_router.include_router(issues.router)
api_router.include_router(events.router)

__all__ = ["api_router"]
