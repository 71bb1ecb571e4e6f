-- Tenancy: organization -> teams -> projects -> DSN keys. Every row below is scoped by project.
CREATE TABLE organizations (
    id          BIGSERIAL PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE teams (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    slug             TEXT NOT NULL,
    name             TEXT NOT NULL,
    UNIQUE (organization_id, slug)
);

CREATE TABLE projects (
    id               BIGSERIAL PRIMARY KEY,
    organization_id  BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    team_id          BIGINT REFERENCES teams(id) ON DELETE SET NULL,
    slug             TEXT NOT NULL,
    name             TEXT NOT NULL,
    platform         TEXT,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (organization_id, slug)
);

CREATE TABLE project_keys (
    id                 BIGSERIAL PRIMARY KEY,
    project_id         BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    public_key         TEXT NOT NULL UNIQUE,
    secret_key         TEXT,
    label              TEXT NOT NULL DEFAULT 'Default',
    is_active          BOOLEAN NOT NULL DEFAULT TRUE,
    rate_limit_count   INTEGER,
    rate_limit_window  INTEGER,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- People and API access.
CREATE TABLE users (
    id             BIGSERIAL PRIMARY KEY,
    email          TEXT NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    is_superuser   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE organization_members (
    organization_id  BIGINT NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
    user_id          BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role             TEXT NOT NULL DEFAULT 'member',
    PRIMARY KEY (organization_id, user_id)
);

-- Only a SHA-256 of each token is stored; tokens are long random strings, so a fast hash
-- is enough (passwords, which are guessable, use argon2 in users.password_hash).
CREATE TABLE api_tokens (
    id          BIGSERIAL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    token_hash  TEXT NOT NULL UNIQUE,
    scopes      TEXT[] NOT NULL DEFAULT '{}',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Issues: a projection of the event stream (rebuildable from ClickHouse's raw events).
CREATE TABLE issues (
    id                 BIGSERIAL PRIMARY KEY,
    project_id         BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    title              TEXT NOT NULL,
    culprit            TEXT NOT NULL DEFAULT '',
    level              TEXT NOT NULL DEFAULT 'error',
    type               TEXT NOT NULL DEFAULT 'error',
    metadata           JSONB NOT NULL DEFAULT '{}',
    platform           TEXT NOT NULL DEFAULT '',
    first_seen         TIMESTAMPTZ NOT NULL,
    last_seen          TIMESTAMPTZ NOT NULL,
    -- 0 until the first event is counted; such issues are hidden from lists.
    times_seen         BIGINT NOT NULL DEFAULT 0,
    status             TEXT NOT NULL DEFAULT 'unresolved'
                       CHECK (status IN ('unresolved', 'resolved', 'ignored')),
    status_changed_at  TIMESTAMPTZ,
    grouping_config    TEXT NOT NULL DEFAULT 'v1'
);
CREATE INDEX issues_project_last_seen ON issues (project_id, last_seen DESC, id DESC);
CREATE INDEX issues_project_first_seen ON issues (project_id, first_seen DESC, id DESC);
CREATE INDEX issues_project_times_seen ON issues (project_id, times_seen DESC, id DESC);

-- Each grouping hash points at one issue; an event joins the issue of any of its hashes.
CREATE TABLE grouphashes (
    project_id  BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    hash        TEXT NOT NULL,
    issue_id    BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    PRIMARY KEY (project_id, hash)
);

-- The dedupe key that makes counting idempotent: written in the same transaction that
-- bumps the issue's counters.
CREATE TABLE processed_events (
    project_id  BIGINT NOT NULL,
    event_id    UUID NOT NULL,
    issue_id    BIGINT NOT NULL,
    timestamp   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (project_id, event_id)
);

-- The embedded bus: an append-only log with consumer-group offsets (single partition 0).
CREATE TABLE bus_log (
    topic       TEXT NOT NULL,
    "offset"    BIGINT NOT NULL,
    key         BYTEA,
    value       BYTEA NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (topic, "offset")
);

CREATE TABLE bus_offsets (
    group_id     TEXT NOT NULL,
    topic        TEXT NOT NULL,
    partition    INTEGER NOT NULL,
    next_offset  BIGINT NOT NULL,
    PRIMARY KEY (group_id, topic, partition)
);
