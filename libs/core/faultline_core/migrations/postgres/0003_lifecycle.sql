-- Issue 5: per-project grouping settings, the issue lifecycle, and an event ledger from
-- which every issue counter can be recomputed exactly (merges, unmerges, regrouping).

-- Grouping: the config each project groups with (existing projects keep v1; new projects
-- get the latest when created), and its server-side rules, as the text users write
-- (Sentry's fingerprinting rules and stack trace rules syntax).
ALTER TABLE projects
    ADD COLUMN grouping_config TEXT NOT NULL DEFAULT 'v1',
    ADD COLUMN fingerprinting_rules TEXT NOT NULL DEFAULT '',
    ADD COLUMN grouping_enhancements TEXT NOT NULL DEFAULT '';

-- Lifecycle. status stays unresolved | resolved | ignored; the rest refines it:
--   substatus: NULL, or 'regressed' (reopened by an event after a resolution)
--   status_details: Sentry's statusDetails as last set (inNextRelease, inRelease,
--     ignoreCount, ignoreUserCount, ignoreDuration, ignoreUntil, actor...)
--   resolved_in_release: resolved in this release (or, for "next release", the latest
--     release seen when resolving, with resolved_in_next_release): only events of a newer
--     release regress the issue
--   ignore_until / ignore_until_times_seen / ignore_until_users_seen: an ignored issue
--     becomes unresolved once past any of these
ALTER TABLE issues
    ADD COLUMN substatus TEXT,
    ADD COLUMN status_details JSONB NOT NULL DEFAULT '{}',
    ADD COLUMN resolved_in_release TEXT,
    ADD COLUMN resolved_in_next_release BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN ignore_until TIMESTAMPTZ,
    ADD COLUMN ignore_until_times_seen BIGINT,
    ADD COLUMN ignore_until_users_seen BIGINT,
    ADD COLUMN users_seen BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN assignee_id BIGINT REFERENCES users(id) ON DELETE SET NULL;
-- The issue list's "users" sort (keyset pagination on users_seen, then id).
CREATE INDEX issues_project_users_seen ON issues (project_id, users_seen DESC, id DESC);

-- The ledger: every counted event with what its issue's counters are made of. Rows from
-- before this migration have NULL in the new columns.
ALTER TABLE processed_events
    ADD COLUMN primary_hash TEXT,
    ADD COLUMN user_key TEXT,
    ADD COLUMN environment TEXT,
    ADD COLUMN release TEXT,
    ADD COLUMN received TIMESTAMPTZ;
CREATE INDEX processed_events_issue ON processed_events (issue_id);
CREATE INDEX processed_events_hash ON processed_events (project_id, primary_hash);

-- Distinct users per issue (the "users affected" counter; user_key is the event's user
-- id, else email, else username, else IP address, as ClickHouse's errors.user_key).
CREATE TABLE issue_users (
    issue_id  BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    user_key  TEXT NOT NULL,
    PRIMARY KEY (issue_id, user_key)
);

-- First and last seen (and count) per environment and per release.
CREATE TABLE issue_environments (
    issue_id     BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    environment  TEXT NOT NULL,
    first_seen   TIMESTAMPTZ NOT NULL,
    last_seen    TIMESTAMPTZ NOT NULL,
    times_seen   BIGINT NOT NULL,
    PRIMARY KEY (issue_id, environment)
);
CREATE TABLE issue_releases (
    issue_id    BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    release     TEXT NOT NULL,
    first_seen  TIMESTAMPTZ NOT NULL,
    last_seen   TIMESTAMPTZ NOT NULL,
    times_seen  BIGINT NOT NULL,
    PRIMARY KEY (issue_id, release)
);

-- Releases a project has seen, in order of first appearance ("the next release" after a
-- resolution is any release first seen later than the one current at resolution).
CREATE TABLE project_releases (
    project_id  BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
    release     TEXT NOT NULL,
    first_seen  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (project_id, release)
);

-- The activity log: Sentry's activity types (set_resolved, set_resolved_in_release,
-- set_unresolved, set_ignored, set_regression, merge, unmerge_source,
-- unmerge_destination, assigned, unassigned, note, first_seen...). user_id NULL: the system.
CREATE TABLE issue_activity (
    id          BIGSERIAL PRIMARY KEY,
    project_id  BIGINT NOT NULL,
    issue_id    BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    type        TEXT NOT NULL,
    data        JSONB NOT NULL DEFAULT '{}',
    user_id     BIGINT REFERENCES users(id) ON DELETE SET NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX issue_activity_issue ON issue_activity (issue_id, id);

-- A merged issue's id keeps working: it redirects to the issue it was merged into.
CREATE TABLE issue_redirects (
    project_id     BIGINT NOT NULL,
    from_issue_id  BIGINT PRIMARY KEY,
    to_issue_id    BIGINT NOT NULL REFERENCES issues(id) ON DELETE CASCADE,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);
