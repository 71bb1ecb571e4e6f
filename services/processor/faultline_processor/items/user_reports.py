"""User feedback: legacy ``user_report`` items and ``feedback`` events, stored in
``user_reports``.

Two protocols reach us. The legacy user report is a small object about one event,
``{event_id, name, email, comments}``. The newer feedback item is an event of its own
(``type: feedback``) whose ``contexts.feedback`` holds ``message``, ``name``,
``contact_email`` and optionally ``associated_event_id``. Both become one row: the
report names the event it is about (a feedback about no event names itself, so it lists
under the project but on no issue). The issue is not resolved here: a report may arrive
before its event, so readers join ``processed_events`` when they read.

Each stored report counts one ``accepted`` outcome in Sentry's ``feedback`` data category
(Relay's name for user reports and feedback).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faultline_core.envelope import EnvelopeError, parse_event_id, parse_json_object
from faultline_core.messages import IngestMessage
from faultline_core.storage.postgres.outcomes import OutcomeKey, add_outcomes, hour_bucket
from faultline_core.storage.postgres.text import pg_text
from faultline_processor.items.base import InvalidItem, ItemSinks, PreparedItem
from faultline_processor.items.claims import claim_new

USER_REPORT = "user_report"
FEEDBACK = "feedback"
OUTCOME_CATEGORY = "feedback"
# Sentry's limits: comments up to 4 KiB of text, names and emails up to 128 characters.
MAX_COMMENTS = 4096
MAX_NAME = 128
MAX_EMAIL = 128
_HEX32 = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class UserReport:
    """One report, ready to store; every text is clean and within its limit."""

    report_id: str
    """32 hex: the feedback event's own id, else the bus item's id (redelivery-stable)."""
    event_id: str
    """The event the report is about (a feedback about no event: its own id)."""
    name: str
    email: str
    comments: str
    created_at: datetime


def clean_text(value: object, limit: int) -> str:
    """A string field made storable (see :func:`pg_text`), trimmed and capped; anything
    that is not a string is dropped (empty), as malformed optional fields are."""
    return pg_text(value).strip()[:limit] if isinstance(value, str) else ""


def _payload(ingest: IngestMessage) -> dict[str, Any]:
    try:
        return parse_json_object(ingest.payload, ingest.item_type)
    except EnvelopeError as exc:
        raise InvalidItem(str(exc)) from exc


def _own_id(ingest: IngestMessage) -> str:
    event_id = parse_event_id(ingest.event_id)
    if event_id is None or not _HEX32.fullmatch(event_id):
        raise InvalidItem(f"event id {ingest.event_id!r} is not 32 hex")
    return event_id


def _comments(value: object, what: str) -> str:
    comments = clean_text(value, MAX_COMMENTS)
    if not comments:
        raise InvalidItem(f"{what} is missing or empty")
    return comments


def _received(ingest: IngestMessage) -> datetime:
    return datetime.fromtimestamp(ingest.received_at, UTC)


def parse_user_report(ingest: IngestMessage) -> UserReport:
    """A legacy ``user_report``: the relay already took its ``event_id`` as the event's."""
    data = _payload(ingest)
    return UserReport(
        report_id=ingest.item_id,
        event_id=_own_id(ingest),
        name=clean_text(data.get("name"), MAX_NAME),
        email=clean_text(data.get("email"), MAX_EMAIL),
        comments=_comments(data.get("comments"), "comments"),
        created_at=_received(ingest),
    )


def _user_field(data: dict[str, Any], *keys: str) -> object:
    """The event's ``user`` field the SDK filled in, when the feedback itself has none."""
    user = data.get("user")
    if not isinstance(user, dict):
        return None
    return next((user[key] for key in keys if isinstance(user.get(key), str)), None)


def parse_feedback(ingest: IngestMessage) -> UserReport:
    """A ``feedback`` event: its ``contexts.feedback`` is the report."""
    data = _payload(ingest)
    contexts = data.get("contexts")
    feedback = contexts.get("feedback") if isinstance(contexts, dict) else None
    if not isinstance(feedback, dict):
        raise InvalidItem("feedback event has no contexts.feedback object")
    own_id = _own_id(ingest)
    # A malformed associated id is dropped like any malformed optional field: the
    # feedback still lists under the project.
    associated = parse_event_id(feedback.get("associated_event_id"))
    name = feedback.get("name") or _user_field(data, "name", "username")
    email = feedback.get("contact_email") or _user_field(data, "email")
    return UserReport(
        report_id=own_id,
        event_id=associated or own_id,
        name=clean_text(name, MAX_NAME),
        email=clean_text(email, MAX_EMAIL),
        comments=_comments(feedback.get("message"), "contexts.feedback.message"),
        created_at=_received(ingest),
    )


class UserReportHandler:
    """Stores user reports and feedback, each once, and counts them as accepted."""

    item_types = frozenset({USER_REPORT, FEEDBACK})

    def parse(self, ingest: IngestMessage) -> object:
        if ingest.item_type == FEEDBACK:
            return parse_feedback(ingest)
        return parse_user_report(ingest)

    async def write(self, sinks: ItemSinks, items: Sequence[PreparedItem]) -> None:
        async with sinks.pool.connection() as conn, conn.transaction():
            fresh = await claim_new(conn, items)
            reports = [(item.project_id, item.parsed) for item in fresh
                       if isinstance(item.parsed, UserReport)]
            if reports:
                # A feedback resent by its SDK keeps its own id: the key makes it one row.
                await conn.execute(
                    "INSERT INTO user_reports"
                    " (project_id, report_id, event_id, name, email, comments, created_at)"
                    " SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::uuid[], %s::text[],"
                    " %s::text[], %s::text[], %s::timestamptz[])"
                    " ON CONFLICT (project_id, report_id) DO NOTHING",
                    (
                        [project for project, _ in reports],
                        [r.report_id for _, r in reports], [r.event_id for _, r in reports],
                        [r.name for _, r in reports], [r.email for _, r in reports],
                        [r.comments for _, r in reports], [r.created_at for _, r in reports],
                    ),
                )
            await add_outcomes(conn, (
                (OutcomeKey(item.project_id, hour_bucket(item.ingest.received_at),
                            "accepted", OUTCOME_CATEGORY), 1)
                for item in fresh
            ))
