"""``client_report`` items: the SDK's own counts of what it never sent, as outcomes.

A client report is ``{timestamp, discarded_events: [{reason, category, quantity}], ...}``.
Like Relay, each list becomes one outcome:

- ``discarded_events`` → ``client_discard`` (before_send, sample_rate, queue_overflow...);
- ``rate_limited_events`` → ``rate_limited`` (the SDK held back data during a 429's
  backoff: that data never reached us, so it is not counted twice);
- ``filtered_events`` → ``filtered``; ``filtered_sampling_events`` → ``filtered_sampling``.

Everything in a report is client-controlled, so: categories outside Sentry's known data
categories become ``unknown``; a reason is lowercased and must be 1-64 characters of
``[a-z0-9_.:-]``, else it becomes ``other``; quantities are clamped to 0..1,000,000 and
non-numbers ignored; at most 100 entries per list are read. The report counts in the
hour of its ``timestamp`` when that is within Sentry's window (5 days back, a minute
ahead of the relay's clock), else in the hour it was received.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from faultline_core.envelope import EnvelopeError, parse_json_object
from faultline_core.messages import IngestMessage
from faultline_core.storage.postgres.outcomes import OutcomeKey, add_outcomes, hour_bucket
from faultline_processor.items.base import InvalidItem, ItemSinks, PreparedItem
from faultline_processor.items.claims import claim_new
from faultline_processor.items.timestamps import count_value, parse_timestamp

OUTCOME_LISTS = {
    "discarded_events": "client_discard",
    "rate_limited_events": "rate_limited",
    "filtered_events": "filtered",
    "filtered_sampling_events": "filtered_sampling",
}
# Sentry's data categories (relay-base-schema's DataCategory names).
CATEGORIES = frozenset({
    "default", "error", "transaction", "security", "attachment", "attachment_item",
    "session", "profile", "profile_indexed", "profile_chunk", "profile_chunk_ui",
    "profile_duration", "profile_duration_ui", "replay", "replay_video",
    "transaction_processed", "transaction_indexed", "monitor", "monitor_seat", "span",
    "span_indexed", "log_item", "log_byte", "feedback", "user_report_v2", "metric_bucket",
    "metric_second", "uptime", "trace_metric", "seer_autofix", "seer_scanner",
})
MAX_ENTRIES = 100
MAX_QUANTITY = 1_000_000
MAX_AGE_S = 5 * 86400
MAX_AHEAD_S = 60
_REASON = re.compile(r"[a-z0-9_.:-]{1,64}")


@dataclass(frozen=True)
class ReportedOutcome:
    outcome: str
    category: str
    reason: str
    quantity: int


@dataclass(frozen=True)
class ParsedReport:
    timestamp: float
    """When the report says it was made (else when received), epoch seconds."""
    outcomes: tuple[ReportedOutcome, ...]


def clean_category(value: object) -> str:
    category = value.strip().lower() if isinstance(value, str) else ""
    return category if category in CATEGORIES else "unknown"


def clean_reason(value: object) -> str:
    reason = value.strip().lower() if isinstance(value, str) and len(value) <= 256 else ""
    return reason if _REASON.fullmatch(reason) else "other"


def report_time(value: object, received_at: float) -> float:
    moment = parse_timestamp(value)
    if moment is None or not received_at - MAX_AGE_S <= moment <= received_at + MAX_AHEAD_S:
        return received_at
    return moment


def parse_report(payload: dict[str, Any], received_at: float) -> ParsedReport:
    """The outcomes a report lists (entries with no quantity are skipped)."""
    found: list[ReportedOutcome] = []
    for field, outcome in OUTCOME_LISTS.items():
        entries = payload.get(field)
        if not isinstance(entries, list):
            continue
        for entry in entries[:MAX_ENTRIES]:
            if not isinstance(entry, dict):
                continue
            quantity = count_value(entry.get("quantity"), MAX_QUANTITY)
            if quantity:
                found.append(ReportedOutcome(outcome, clean_category(entry.get("category")),
                                             clean_reason(entry.get("reason")), quantity))
    return ParsedReport(report_time(payload.get("timestamp"), received_at), tuple(found))


class ClientReportHandler:
    """Adds each report's outcomes to the hourly ``outcomes`` counters, once."""

    item_types = frozenset({"client_report"})

    def parse(self, ingest: IngestMessage) -> object:
        try:
            payload = parse_json_object(ingest.payload, "client_report")
        except EnvelopeError as exc:
            raise InvalidItem(str(exc)) from exc
        return parse_report(payload, ingest.received_at)

    async def write(self, sinks: ItemSinks, items: Sequence[PreparedItem]) -> None:
        async with sinks.pool.connection() as conn, conn.transaction():
            fresh = await claim_new(conn, items)
            counts: list[tuple[OutcomeKey, int]] = []
            for item in fresh:
                report = item.parsed
                if not isinstance(report, ParsedReport):
                    raise TypeError(f"not a parsed client report: {type(report).__name__}")
                bucket = hour_bucket(report.timestamp)
                counts.extend(
                    (OutcomeKey(item.project_id, bucket, o.outcome, o.category, o.reason),
                     o.quantity)
                    for o in report.outcomes
                )
            await add_outcomes(conn, counts)
