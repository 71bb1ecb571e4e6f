"""The processor's Prometheus metrics (low-cardinality labels only: never an event or issue id)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

MESSAGES_CONSUMED = Counter(
    "faultline_processor_messages_consumed_total",
    "Messages read from the events topic (events and poison messages alike).",
)
DLQ_MESSAGES = Counter(
    "faultline_processor_dlq_messages_total",
    "Messages sent to the dead-letter topic, by reason class.",
    ["reason"],
)
BATCH_SIZE = Histogram(
    "faultline_processor_batch_size",
    "Messages per written batch.",
    buckets=(1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500),
)
WRITE_SECONDS = Histogram(
    "faultline_processor_write_seconds",
    "Time spent writing one batch to a sink.",
    ["sink"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
END_TO_END_SECONDS = Histogram(
    "faultline_processor_end_to_end_seconds",
    "From the relay receiving an event to the event being written and counted.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0),
)
EVENTS_REGROUPED = Counter(
    "faultline_processor_events_regrouped_total",
    "Events grouped again when written, because a regroup changed their project's "
    "grouping config after they were grouped.",
)
EVENTS_WRITTEN = Counter(
    "faultline_processor_events_written_total",
    "Events stored and counted for the first time.",
)
DUPLICATES_SKIPPED = Counter(
    "faultline_processor_duplicates_skipped_total",
    "Redelivered or resent events that were already counted.",
)
WRITE_RETRIES = Counter(
    "faultline_processor_write_retries_total",
    "Failed batch write attempts that will be retried.",
)
COMMIT_FAILURES = Counter(
    "faultline_processor_commit_failures_total",
    "Offset commits that failed (retried with the next batch).",
)
PENDING_BATCHES = Gauge(
    "faultline_processor_pending_batches",
    "Batches waiting for the writer.",
)
PAUSED = Gauge(
    "faultline_processor_paused",
    "1 while the consumer's partitions are paused for backpressure.",
)
CONSUMER_LAG = Gauge(
    "faultline_processor_consumer_lag",
    "Messages on the events topic this processor has not read yet (end offset minus"
    " position), per partition index of its assignment.",
    ["partition"],
)
ITEMS_WRITTEN = Counter(
    "faultline_processor_items_written_total",
    "Non-event envelope items written (sessions, logs, attachments...), by item type;"
    " redelivered items are counted again but stored once.",
    ["item_type"],
)
