-- Raw error events, modelled on Snuba's errors table. Runs unchanged on ClickHouse 18.16
-- and on current releases (chDB 26.x). Retention drops whole partitions (no TTL: 18.16
-- lacks it, and TTL-based retention is a known source of unbounded disk growth).
-- Deduplication: ReplacingMergeTree on the sorting key, which holds the event id and the
-- event's primary hash (deterministic for a given event), so a redelivered event collapses
-- into one row; readers use FINAL.
CREATE TABLE IF NOT EXISTS errors
(
    project_id        UInt64,
    timestamp         DateTime('UTC'),
    timestamp_ms      UInt16,
    event_id          UUID,
    group_id          UInt64,
    primary_hash      FixedString(32),
    received          DateTime('UTC'),
    platform          LowCardinality(String),
    level             LowCardinality(String),
    environment       LowCardinality(String),
    release           LowCardinality(String),
    dist              String,
    logger            String,
    transaction_name  String,
    server_name       String,
    title             String,
    culprit           String,
    message           String,
    user_id           String,
    user_name         String,
    user_email        String,
    ip_address        String,
    user_key          String,
    sdk_name          LowCardinality(String),
    sdk_version       String,
    http_method       LowCardinality(String),
    http_url          String,
    browser_name      LowCardinality(String),
    browser           String,
    os_name           LowCardinality(String),
    os                String,
    runtime           String,
    exception_type    String,
    exception_value   String,
    handled           UInt8,
    tags              Nested(key String, value String),
    contexts          Nested(key String, value String),
    exception_frames  Nested(
        filename String,
        function String,
        module String,
        lineno UInt32,
        in_app UInt8
    ),
    data              String,
    retention_days    UInt16,
    deleted           UInt8
)
ENGINE = ReplacingMergeTree()
PARTITION BY (retention_days, toMonday(timestamp))
ORDER BY (project_id, toStartOfDay(timestamp), primary_hash, cityHash64(toString(event_id)))
SETTINGS index_granularity = 8192
