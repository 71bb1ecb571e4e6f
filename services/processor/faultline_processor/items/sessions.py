"""Release health: ``session`` updates and ``sessions`` aggregates, counted per release,
environment and hour in ``release_sessions``.

Sentry's session protocol is additive: the server keeps hourly counters, never a
session's state, and every update lands in the hour its session *started* (``started``
must not change between updates). The counting rules, as close to Sentry's as the
counters allow:

- ``started``: +1 for an update with ``init: true`` (the SDK marks exactly one update per
  session so). A session need not be seen starting to crash.
- ``crashed`` / ``abnormal``: +1 for an update with that status. Both are terminal: an SDK
  sends no update after them, so no dedupe is needed.
- ``errored`` counts *unhealthy sessions*, crashed and abnormal ones included (Sentry's
  "errored_all"; healthy = started - errored, errored-only = errored - crashed - abnormal).
  A session is unhealthy once an update says ``errors > 0`` or status errored, crashed or
  abnormal, but an SDK may send many such updates (sentry-python sends one per captured
  error). Sentry dedupes with a set of session ids; here the first unhealthy update of a
  session claims a marker key derived from its ``sid`` in ``processed_items``, in the same
  transaction as the counters, so later updates (and redeliveries) do not count it again.
  That is one row per unhealthy session, never more than the per-item dedupe rows the
  updates themselves leave, and it needs keeping only as long as a session may be updated
  (Sentry: 5 days), so the retention that will prune ``processed_items`` bounds it too.

Aggregates (server-mode SDKs) already hold final per-status counts per start time:
``exited`` (healthy), ``errored`` (errored but not crashed or abnormal), ``abnormal``,
``crashed``; each is a started session.

Sessions without ``attrs.release`` are invalid (Sentry requires it), as are updates
without ``sid`` or with an unknown status; a bad ``environment`` is dropped. Each stored
item also counts as ``accepted`` outcomes in the ``session`` category in the hour it was
received: one per update, and the number of sessions an aggregate sums.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faultline_core.envelope import EnvelopeError, parse_json_object
from faultline_core.messages import IngestMessage
from faultline_core.storage.postgres.outcomes import OutcomeKey, add_outcomes, hour_bucket
from faultline_core.storage.postgres.tenancy import Conn
from faultline_processor.items.base import InvalidItem, ItemSinks, PreparedItem
from faultline_processor.items.claims import claim_new
from faultline_processor.items.timestamps import count_value, parse_timestamp

# Sentry's limits: releases up to 200 characters, environments up to 64.
MAX_RELEASE = 200
MAX_ENVIRONMENT = 64
MAX_SID = 128
MAX_AGGREGATES = 1000
MAX_COUNT = 1_000_000
# A session may be updated for 5 days; its start may be a little ahead of our clock.
MAX_AGE_S = 5 * 86400
MAX_AHEAD_S = 86400
STATUSES = frozenset({"ok", "exited", "crashed", "abnormal", "errored"})
UNHEALTHY = frozenset({"crashed", "abnormal", "errored"})
_BAD_NAME = re.compile(r"[\x00-\x1f\x7f/\\]")
_RESERVED_RELEASES = frozenset({".", "..", "latest"})


@dataclass(frozen=True)
class SessionCounts:
    """Counters to add to one hour of a release and environment."""

    bucket: datetime
    started: int = 0
    errored: int = 0
    crashed: int = 0
    abnormal: int = 0


@dataclass(frozen=True)
class ParsedSessions:
    """A session update or an aggregate, reduced to counters."""

    release: str
    environment: str
    counts: tuple[SessionCounts, ...]
    errored_marker: str | None = None
    """For an unhealthy update: the dedupe key of its session's errored count."""
    errored_bucket: datetime | None = None
    accepted: int = 1
    """The ``accepted`` outcome quantity (category ``session``)."""


def clean_release(value: object) -> str:
    """The release, as Sentry validates it; raises :class:`InvalidItem` otherwise."""
    release = value.strip() if isinstance(value, str) else ""
    if (not release or len(release) > MAX_RELEASE or _BAD_NAME.search(release)
            or release in _RESERVED_RELEASES):
        raise InvalidItem("session without a valid attrs.release")
    return release


def clean_environment(value: object) -> str:
    """The environment, or empty when missing or unusable (a malformed optional field)."""
    environment = value.strip() if isinstance(value, str) else ""
    if len(environment) > MAX_ENVIRONMENT or _BAD_NAME.search(environment):
        return ""
    return environment


def errored_marker(sid: str) -> str:
    """The ``processed_items`` key of a session's errored count (32 hex, per project)."""
    return hashlib.sha256(b"faultline:session-errored\0" + sid.encode()).hexdigest()[:32]


def _started_bucket(value: object, received_at: float) -> datetime | None:
    started = parse_timestamp(value)
    if started is None or not received_at - MAX_AGE_S <= started <= received_at + MAX_AHEAD_S:
        return None
    return hour_bucket(started)


def _attrs(payload: dict[str, Any]) -> tuple[str, str]:
    attrs = payload.get("attrs")
    if not isinstance(attrs, dict):
        raise InvalidItem("session without attrs.release")
    return clean_release(attrs.get("release")), clean_environment(attrs.get("environment"))


def parse_update(payload: dict[str, Any], received_at: float) -> ParsedSessions:
    """One ``session`` item: a single session's whole state."""
    release, environment = _attrs(payload)
    sid = payload.get("sid")
    if not isinstance(sid, str) or not sid or len(sid) > MAX_SID:
        raise InvalidItem("session without a valid sid")
    status = payload.get("status", "ok")
    if not isinstance(status, str) or status not in STATUSES:
        raise InvalidItem(f"unknown session status {str(status)[:32]!r}")
    bucket = _started_bucket(payload.get("started"), received_at)
    if bucket is None:
        raise InvalidItem("session started is missing or out of range")
    counts = SessionCounts(
        bucket,
        started=1 if payload.get("init") is True else 0,
        crashed=1 if status == "crashed" else 0,
        abnormal=1 if status == "abnormal" else 0,
    )
    unhealthy = status in UNHEALTHY or count_value(payload.get("errors"), MAX_COUNT) > 0
    return ParsedSessions(
        release, environment, (counts,),
        errored_marker=errored_marker(sid) if unhealthy else None,
        errored_bucket=bucket if unhealthy else None,
    )


def parse_aggregates(payload: dict[str, Any], received_at: float) -> ParsedSessions:
    """One ``sessions`` item: per-status counts of sessions by start time."""
    release, environment = _attrs(payload)
    entries = payload.get("aggregates")
    if not isinstance(entries, list):
        raise InvalidItem("sessions item without an aggregates list")
    counts: list[SessionCounts] = []
    for entry in entries[:MAX_AGGREGATES]:
        bucket = _started_bucket(entry.get("started"), received_at) if isinstance(
            entry, dict) else None
        if bucket is None:  # one bad entry does not spoil the others
            continue
        assert isinstance(entry, dict)
        exited, errored, abnormal, crashed = (
            count_value(entry.get(name), MAX_COUNT)
            for name in ("exited", "errored", "abnormal", "crashed")
        )
        counts.append(SessionCounts(
            bucket, started=exited + errored + abnormal + crashed,
            errored=errored + abnormal + crashed, crashed=crashed, abnormal=abnormal,
        ))
    return ParsedSessions(release, environment, tuple(counts),
                          accepted=sum(c.started for c in counts))


CounterKey = tuple[int, str, str, datetime]
"""project id, release, environment, hour."""
COLUMNS = ("started", "errored", "crashed", "abnormal")


class SessionsHandler:
    """Counts session updates and aggregates into ``release_sessions``."""

    item_types = frozenset({"session", "sessions"})

    def parse(self, ingest: IngestMessage) -> object:
        try:
            payload = parse_json_object(ingest.payload, ingest.item_type)
        except EnvelopeError as exc:
            raise InvalidItem(str(exc)) from exc
        if ingest.item_type == "sessions":
            return parse_aggregates(payload, ingest.received_at)
        return parse_update(payload, ingest.received_at)

    async def write(self, sinks: ItemSinks, items: Sequence[PreparedItem]) -> None:
        async with sinks.pool.connection() as conn, conn.transaction():
            fresh = await claim_new(conn, items)
            totals: dict[CounterKey, Counter[str]] = {}
            for item in fresh:
                parsed = _parsed(item)
                for counts in parsed.counts:
                    _add(totals, (item.project_id, parsed.release, parsed.environment,
                                  counts.bucket), counts)
            for item in await _newly_errored(conn, fresh):
                parsed = _parsed(item)
                assert parsed.errored_bucket is not None
                _add(totals, (item.project_id, parsed.release, parsed.environment,
                              parsed.errored_bucket), SessionCounts(parsed.errored_bucket,
                                                                    errored=1))
            await _upsert(conn, totals)
            await add_outcomes(conn, (
                (OutcomeKey(item.project_id, hour_bucket(item.ingest.received_at),
                            "accepted", "session"), _parsed(item).accepted)
                for item in fresh
            ))


def _parsed(item: PreparedItem) -> ParsedSessions:
    if not isinstance(item.parsed, ParsedSessions):
        raise TypeError(f"not a parsed session: {type(item.parsed).__name__}")
    return item.parsed


def _add(totals: dict[CounterKey, Counter[str]], key: CounterKey, counts: SessionCounts) -> None:
    counter = totals.setdefault(key, Counter())
    for column in COLUMNS:
        counter[column] += getattr(counts, column)


async def _newly_errored(conn: Conn, items: Sequence[PreparedItem]) -> list[PreparedItem]:
    """The items whose session's errored state is counted now: the first unhealthy
    update of each session (within this batch and ever, per the markers)."""
    first: dict[tuple[int, str], PreparedItem] = {}
    for item in items:
        marker = _parsed(item).errored_marker
        if marker is not None:
            first.setdefault((item.project_id, marker), item)
    if not first:
        return []
    keys = sorted(first)
    cur = await conn.execute(
        "INSERT INTO processed_items (project_id, item_id)"
        " SELECT * FROM unnest(%s::bigint[], %s::uuid[])"
        " ON CONFLICT DO NOTHING RETURNING project_id, item_id::text",
        ([project for project, _ in keys], [marker for _, marker in keys]),
    )
    claimed = {(row["project_id"], row["item_id"].replace("-", ""))
               for row in await cur.fetchall()}
    return [first[key] for key in keys if key in claimed]


async def _upsert(conn: Conn, totals: dict[CounterKey, Counter[str]]) -> None:
    keys = sorted(key for key, counter in totals.items() if any(counter.values()))
    if not keys:
        return
    await conn.execute(
        "INSERT INTO release_sessions (project_id, release, environment, bucket,"
        " started, errored, crashed, abnormal)"
        " SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[],"
        " %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[])"
        " ON CONFLICT (project_id, release, environment, bucket) DO UPDATE SET"
        " started = release_sessions.started + EXCLUDED.started,"
        " errored = release_sessions.errored + EXCLUDED.errored,"
        " crashed = release_sessions.crashed + EXCLUDED.crashed,"
        " abnormal = release_sessions.abnormal + EXCLUDED.abnormal",
        (
            [k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
            [k[3] for k in keys], *([totals[k][column] for k in keys] for column in COLUMNS),
        ),
    )
