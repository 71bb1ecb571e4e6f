"""Prometheus metrics of the web gateway (low-cardinality labels only: route templates,
never concrete paths or ids)."""

from __future__ import annotations

import time

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HTTP_REQUESTS = Counter(
    "faultline_web_http_requests_total",
    "HTTP requests handled by the web gateway.",
    ["route", "method", "status_class"],
)
HTTP_LATENCY = Histogram(
    "faultline_web_http_request_duration_seconds",
    "Time to answer an HTTP request, by route template.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
QUERY_RPC_LATENCY = Histogram(
    "faultline_web_query_rpc_duration_seconds",
    "Latency of gRPC calls to the query service, by method and status code.",
    ["method", "code"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

UNMATCHED_ROUTE = "<unmatched>"
# Clients choose the method, so anything unusual is folded into one label value.
_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def route_template(scope: Scope) -> str:
    """The path template of the route that served ``scope`` (set by the router)."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class MetricsMiddleware:
    """Pure ASGI middleware counting requests and timing them per route template.

    Exposed so that the all-in-one can install it on its own app.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = route_template(scope)
            method = str(scope.get("method", ""))
            method = method if method in _KNOWN_METHODS else "OTHER"
            HTTP_REQUESTS.labels(route, method, f"{status // 100}xx").inc()
            HTTP_LATENCY.labels(route, method).observe(time.perf_counter() - started)
