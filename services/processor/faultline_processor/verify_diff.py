"""Pure comparison logic of ``faultline verify``: the issue projection rebuilt from the raw
events against the live one.

No I/O here: :mod:`faultline_processor.verify` reads ClickHouse and PostgreSQL and hands
the rows to these functions. Times are compared in whole milliseconds since the epoch,
the precision ClickHouse keeps (``timestamp`` seconds plus ``timestamp_ms``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from faultline_core.storage.postgres.text import pg_text

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)


def to_ms(at: datetime) -> int:
    """``at`` in whole milliseconds since the epoch (truncated, as ClickHouse stores it)."""
    return (at - _EPOCH) // _MS


def ms_iso(ms: int) -> str:
    """Milliseconds since the epoch as ISO-8601 (what the report shows)."""
    return (_EPOCH + ms * _MS).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Difference:
    """One way in which the live projection disagrees with the events.

    ``kind`` is stable (scripts match on it); ``subject`` names what differs within the
    issue (a counter, an environment, a release, an event id, a hash, a user).
    """

    kind: str
    issue_id: int | None
    subject: str
    expected: Any
    actual: Any

    def message(self) -> str:
        where = f"issue {self.issue_id}" if self.issue_id is not None else "project"
        return (f"{self.kind}: {where} {self.subject}: expected {self.expected!r},"
                f" found {self.actual!r}")

    def as_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "issue_id": self.issue_id, "subject": self.subject,
                "expected": self.expected, "actual": self.actual, "message": self.message()}


@dataclass
class Span:
    """How many events, and the first and last event timestamps (ms)."""

    count: int
    first_ms: int
    last_ms: int

    def merge(self, other: Span) -> None:
        self.count += other.count
        self.first_ms = min(self.first_ms, other.first_ms)
        self.last_ms = max(self.last_ms, other.last_ms)

    def as_json(self) -> dict[str, Any]:
        return {"times_seen": self.count, "first_seen": ms_iso(self.first_ms),
                "last_seen": ms_iso(self.last_ms)}


def add_span(spans: dict[Any, Span], key: Any, span: Span) -> None:
    """Fold ``span`` into ``spans[key]`` (several hashes make one issue)."""
    found = spans.get(key)
    if found is None:
        spans[key] = Span(span.count, span.first_ms, span.last_ms)
    else:
        found.merge(span)


@dataclass
class Expected:
    """The projection rebuilt from ClickHouse, keyed by issue id."""

    issues: dict[int, Span] = field(default_factory=dict)
    environments: dict[tuple[int, str], Span] = field(default_factory=dict)
    releases: dict[tuple[int, str], Span] = field(default_factory=dict)
    users: dict[int, int] = field(default_factory=dict)
    """Distinct non-empty user keys per issue."""


@dataclass(frozen=True)
class LiveIssue:
    """The counter columns of one ``issues`` row."""

    id: int
    times_seen: int
    first_seen: datetime
    last_seen: datetime
    users_seen: int


def compare_issues(expected: Expected, live: Mapping[int, LiveIssue]) -> list[Difference]:
    """The counter columns of ``issues`` against the events."""
    found: list[Difference] = []
    for issue_id, issue in sorted(live.items()):
        span = expected.issues.get(issue_id)
        count = span.count if span else 0
        if issue.times_seen != count:
            found.append(Difference("issue_counter", issue_id, "times_seen", count,
                                    issue.times_seen))
        if span is not None:
            for name, want, have in (("first_seen", span.first_ms, issue.first_seen),
                                     ("last_seen", span.last_ms, issue.last_seen)):
                if to_ms(have) != want:
                    found.append(Difference("issue_counter", issue_id, name, ms_iso(want),
                                            ms_iso(to_ms(have))))
        users = expected.users.get(issue_id, 0)
        if issue.users_seen != users:
            found.append(Difference("issue_counter", issue_id, "users_seen", users,
                                    issue.users_seen))
    return found


def users_differing(expected: Expected, user_rows: Mapping[int, int],
                    live: Iterable[int]) -> list[int]:
    """Issues whose ``issue_users`` row count differs from their distinct users."""
    return [i for i in sorted(live) if user_rows.get(i, 0) != expected.users.get(i, 0)]


def compare_users(issue_id: int, expected: set[str], actual: set[str]) -> list[Difference]:
    """The users an issue's ``issue_users`` rows lack or have in excess."""
    return [
        *(Difference("issue_user_missing", issue_id, key, True, False)
          for key in sorted(expected - actual)),
        *(Difference("issue_user_extra", issue_id, key, False, True)
          for key in sorted(actual - expected)),
    ]


def compare_spans(
    kind: str, expected: Mapping[tuple[int, str], Span], actual: Mapping[tuple[int, str], Span],
    live: Iterable[int],
) -> list[Difference]:
    """Per-environment or per-release rows (``kind``) of the live issues."""
    issues = set(live)
    found: list[Difference] = []
    for key in sorted(set(expected) | set(actual)):
        if key[0] not in issues:
            continue  # an issue that does not exist: reported as a dangling hash
        want, have = expected.get(key), actual.get(key)
        if want != have:
            found.append(Difference(kind, key[0], key[1], want.as_json() if want else None,
                                    have.as_json() if have else None))
    return found


@dataclass(frozen=True)
class StoredEvent:
    """One event as ClickHouse has it (FINAL, not deleted)."""

    event_id: str
    primary_hash: str
    timestamp_ms: int


@dataclass(frozen=True)
class LedgerRow:
    """One ``processed_events`` row."""

    event_id: str
    issue_id: int
    primary_hash: str | None
    timestamp: datetime


def compare_ledger(
    stored: Sequence[StoredEvent], ledger: Sequence[LedgerRow], hashes: Mapping[str, int]
) -> list[Difference]:
    """One slice of event ids: each stored event has exactly one ledger row, on the issue
    its hash maps to now, and each ledger row has its stored event."""
    found: list[Difference] = []
    by_id: dict[str, list[StoredEvent]] = {}
    for event in stored:
        by_id.setdefault(event.event_id, []).append(event)
    rows = {row.event_id: row for row in ledger}
    for event_id, events in sorted(by_id.items()):
        if len(events) > 1:
            found.append(Difference("duplicate_event", None, event_id, 1, len(events)))
        event = events[0]
        issue_id = hashes.get(event.primary_hash)
        row = rows.get(event_id)
        if issue_id is None:
            found.append(Difference("unknown_hash", None, event.primary_hash, "a grouphash",
                                    None))
        if row is None:
            found.append(Difference("ledger_missing", issue_id, event_id, "a ledger row",
                                    None))
            continue
        if issue_id is not None and row.issue_id != issue_id:
            found.append(Difference("ledger_issue", row.issue_id, event_id, issue_id,
                                    row.issue_id))
        if row.primary_hash is not None and row.primary_hash != event.primary_hash:
            found.append(Difference("ledger_field", row.issue_id, f"{event_id} primary_hash",
                                    event.primary_hash, row.primary_hash))
        if to_ms(row.timestamp) != event.timestamp_ms:
            found.append(Difference("ledger_field", row.issue_id, f"{event_id} timestamp",
                                    ms_iso(event.timestamp_ms), ms_iso(to_ms(row.timestamp))))
    for event_id in sorted(set(rows) - set(by_id)):
        found.append(Difference("ledger_orphan", rows[event_id].issue_id, event_id, None,
                                "a ledger row"))
    return found


def text_key(value: str) -> str:
    """A ClickHouse string as the processor stored it in PostgreSQL."""
    return pg_text(value)
