-- Envelope items other than events. None of these tables references projects: a row for a
-- project deleted while its items were in flight must not make a batch fail forever;
-- every read is scoped by project id anyway.

-- The dedupe key that makes processing a redelivered item idempotent (events have
-- processed_events). Written in the same transaction as the item's rows or counters.
CREATE TABLE processed_items (
    project_id    BIGINT NOT NULL,
    item_id       UUID NOT NULL,
    processed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, item_id)
);

-- What became of the data a project sent, per hour, like Sentry's outcomes: accepted
-- (counted by the processor), rate_limited (by the relay) and client_discard (the SDKs'
-- own client reports). category: error, transaction, attachment, session, log_item...
CREATE TABLE outcomes (
    project_id  BIGINT NOT NULL,
    bucket      TIMESTAMPTZ NOT NULL,
    outcome     TEXT NOT NULL,
    category    TEXT NOT NULL,
    reason      TEXT NOT NULL DEFAULT '',
    quantity    BIGINT NOT NULL,
    PRIMARY KEY (project_id, bucket, outcome, category, reason)
);

-- Attachment metadata; the bytes live in the blob store under blob_key.
CREATE TABLE attachments (
    project_id       BIGINT NOT NULL,
    attachment_id    UUID NOT NULL,
    event_id         UUID NOT NULL,
    name             TEXT NOT NULL,
    content_type     TEXT NOT NULL DEFAULT 'application/octet-stream',
    attachment_type  TEXT NOT NULL DEFAULT 'event.attachment',
    size             BIGINT NOT NULL,
    blob_key         TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, attachment_id)
);
CREATE INDEX attachments_event ON attachments (project_id, event_id);

-- User feedback (user_report items and feedback events), about one event. A report may
-- arrive before its event; the issue is found through processed_events when read.
CREATE TABLE user_reports (
    project_id  BIGINT NOT NULL,
    report_id   UUID NOT NULL,
    event_id    UUID NOT NULL,
    name        TEXT NOT NULL DEFAULT '',
    email       TEXT NOT NULL DEFAULT '',
    comments    TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, report_id)
);
CREATE INDEX user_reports_event ON user_reports (project_id, event_id);

-- Release health: sessions per release, environment and hour.
CREATE TABLE release_sessions (
    project_id   BIGINT NOT NULL,
    release      TEXT NOT NULL,
    environment  TEXT NOT NULL,
    bucket       TIMESTAMPTZ NOT NULL,
    started      BIGINT NOT NULL DEFAULT 0,
    errored      BIGINT NOT NULL DEFAULT 0,
    crashed      BIGINT NOT NULL DEFAULT 0,
    abnormal     BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (project_id, release, environment, bucket)
);

-- Per-project event quotas (NULL: unlimited), on top of each DSN key's own rate limit.
ALTER TABLE projects ADD COLUMN quota_per_minute INTEGER, ADD COLUMN quota_per_hour INTEGER;
