"""The web gateway: Sentry-compatible JSON API and a server-rendered UI."""

from __future__ import annotations

from faultline_web.app import create_app, web_router
from faultline_web.context import WebContext
from faultline_web.metrics import MetricsMiddleware
from faultline_web.query_client import QueryClient

__all__ = ["MetricsMiddleware", "QueryClient", "WebContext", "create_app", "web_router"]
