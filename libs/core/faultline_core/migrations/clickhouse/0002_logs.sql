-- Structured log lines (the SDKs' `log` envelope items), one row per line. Runs unchanged
-- on ClickHouse 18.16 and on chDB 26.x. Retention drops whole partitions, as for errors.
-- Deduplication: log_id is derived from the bus item id and the line's position in the
-- batch, and timestamp from the line itself (or the receive time when clamped), so a
-- redelivered batch produces identical sorting keys and ReplacingMergeTree collapses it;
-- readers use FINAL. The key starts with (project_id, timestamp): per-project searches
-- over a time range, newest first, read one contiguous range.
-- Attribute values are kept as text with their declared type beside them (18.16 has no
-- Map or Variant type); arrays are stored as JSON text.
CREATE TABLE IF NOT EXISTS logs
(
    project_id        UInt64,
    timestamp         DateTime('UTC'),
    timestamp_us      UInt32,
    log_id            UUID,
    item_id           UUID,
    received          DateTime('UTC'),
    trace_id          String,
    span_id           String,
    level             LowCardinality(String),
    severity_number   UInt8,
    body              String,
    template          String,
    release           LowCardinality(String),
    environment       LowCardinality(String),
    sdk_name          LowCardinality(String),
    sdk_version       String,
    attributes        Nested(key String, value String, type String),
    retention_days    UInt16,
    deleted           UInt8
)
ENGINE = ReplacingMergeTree()
PARTITION BY (retention_days, toMonday(timestamp))
ORDER BY (project_id, timestamp, log_id)
SETTINGS index_granularity = 8192
