"""Prometheus metrics of the query service (low-cardinality labels only)."""

from __future__ import annotations

from prometheus_client import Histogram

GRPC_REQUEST_SECONDS = Histogram(
    "faultline_grpc_request_seconds",
    "Time to answer one gRPC request, by full method name and status code.",
    ["method", "code"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
