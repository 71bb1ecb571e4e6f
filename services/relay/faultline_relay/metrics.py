"""The relay's Prometheus metrics (low-cardinality labels only)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "faultline_relay_requests_total",
    "Ingestion requests by endpoint and outcome.",
    ["endpoint", "outcome"],
)
RECEIVED_BYTES = Counter(
    "faultline_relay_received_bytes_total",
    "Request body bytes received, as sent on the wire (before decompression).",
    ["endpoint"],
)
ITEMS = Counter(
    "faultline_relay_items_total",
    "Envelope items by type and whether they were published or skipped.",
    ["type", "action"],
)
RATE_LIMITED_EVENTS = Counter(
    "faultline_relay_rate_limited_events_total",
    "Events refused by a rate limit or quota, by reason (key_quota, project_quota) and"
    " data category.",
    ["reason", "category"],
)
PUBLISH_SECONDS = Histogram(
    "faultline_relay_publish_seconds",
    "Bus produce latency: time until one event is durable on the bus (Kafka: acknowledged"
    " by all in-sync replicas; embedded: committed to PostgreSQL), by bus backend.",
    ["backend"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)

# Item types come from clients; anything outside the protocol's list is counted as
# "unknown" so a client cannot create unbounded label values.
KNOWN_ITEM_TYPES = frozenset({
    "event", "transaction", "attachment", "session", "sessions", "client_report",
    "user_report", "feedback", "check_in", "profile", "profile_chunk", "replay_event",
    "replay_recording", "replay_video", "log", "span", "statsd", "metric_buckets",
    "security", "raw_security", "form_data", "nel", "unreal_report", "otel_log",
})


def item_type_label(item_type: str) -> str:
    return item_type if item_type in KNOWN_ITEM_TYPES else "unknown"

UDP_DATAGRAMS = Counter(
    "faultline_relay_udp_datagrams_total",
    "Datagrams received by the legacy UDP listener, by outcome (accepted, or why dropped:"
    " nothing can be answered over UDP, so this counter is the only trace of a drop).",
    ["outcome"],
)
