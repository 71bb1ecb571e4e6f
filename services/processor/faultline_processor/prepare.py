"""Decode, normalise and group one bus message (pure CPU work, no I/O).

Every message becomes a :class:`PreparedEvent`, a
:class:`~faultline_processor.items.base.PreparedItem` (any other item type, parsed by its
handler) or a :class:`Poison` carrying the reason it cannot be processed; nothing here
raises on bad input, because one bad message must never stop the partition behind it.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from faultline_core.bus.base import BusMessage
from faultline_core.event import NormalizedEvent
from faultline_core.grouping import compute_grouping
from faultline_core.messages import IngestMessage, MessageDecodeError, decode_ingest_message
from faultline_core.normalize import InvalidEvent, normalize_event
from faultline_processor.grouping_settings import NO_SETTINGS, ProjectGrouping
from faultline_processor.items.base import InvalidItem, ItemHandler, PreparedItem
from faultline_processor.items.registry import ITEM_HANDLERS

log = logging.getLogger(__name__)

EVENT_ITEM_TYPES = frozenset({"event"})

# Both stores must accept every value: PostgreSQL BIGINT ids, ClickHouse DateTime's range
# (1970 to 2106), 32 hex digits for the UUID columns and FixedString(32) hashes.
_MAX_PROJECT_ID = 2**63 - 1
_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC)
_LATEST = datetime(2105, 12, 31, tzinfo=UTC)
_HEX32 = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class PreparedEvent:
    """A normalised, grouped event and the message it came from."""

    message: BusMessage
    event: NormalizedEvent
    hashes: tuple[str, ...]
    """Grouping hashes, the primary one first; never empty."""
    grouping_config: str
    received_at: float
    """When the relay received the event (epoch seconds), for end-to-end latency."""

    @property
    def primary_hash(self) -> str:
        return self.hashes[0]


@dataclass(frozen=True)
class Poison:
    """A message that cannot be processed: it goes to the dead-letter topic."""

    message: BusMessage
    reason: str
    """A short, fixed reason class (a metric label): ``undecodable``, ``invalid_event``…"""
    error: str


Prepared = PreparedEvent | PreparedItem | Poison


def prepare(
    message: BusMessage, grouping: Mapping[int, ProjectGrouping] | None = None
) -> Prepared:
    """Turn one bus message into a prepared event, or say why it is poison. Never raises.

    ``grouping``: each project's grouping settings (a project not in it groups with the
    default config and no rules)."""
    try:
        return _prepare(message, grouping or {})
    except Exception as exc:  # a bug on one odd payload must not stall the partition
        log.exception("preparing message %s@%d failed", message.partition, message.offset)
        return Poison(message, "processing_error", f"{type(exc).__name__}: {exc}")


def _prepare(message: BusMessage, grouping: Mapping[int, ProjectGrouping]) -> Prepared:
    try:
        ingest = decode_ingest_message(message.value)
    except MessageDecodeError as exc:
        return Poison(message, "undecodable", str(exc))
    handler = ITEM_HANDLERS.get(ingest.item_type)
    if ingest.item_type not in EVENT_ITEM_TYPES and handler is None:
        return Poison(message, "unsupported_item_type", f"item type {ingest.item_type!r}")
    problem = _bad_header(ingest)
    if problem:
        return Poison(message, "invalid_header", problem)
    if handler is not None:
        return _prepare_item(message, ingest, handler)
    return _prepare_event(message, ingest, grouping.get(ingest.project_id, NO_SETTINGS))


def _bad_header(ingest: IngestMessage) -> str:
    if not 0 < ingest.project_id <= _MAX_PROJECT_ID:
        return f"project id {ingest.project_id} out of range"
    if not _EARLIEST.timestamp() <= ingest.received_at <= _LATEST.timestamp():  # NaN too
        return f"received_at {ingest.received_at} out of range"
    return ""


def _prepare_item(message: BusMessage, ingest: IngestMessage, handler: ItemHandler) -> Prepared:
    if not _HEX32.fullmatch(ingest.item_id):  # the dedupe key must fit a UUID column
        return Poison(message, "invalid_header", f"item id {ingest.item_id!r} is not 32 hex")
    try:
        return PreparedItem(message, ingest, handler.parse(ingest))
    except InvalidItem as exc:
        return Poison(message, "invalid_item", str(exc))


def _prepare_event(
    message: BusMessage, ingest: IngestMessage, settings: ProjectGrouping
) -> Prepared:
    try:
        event = normalize_event(
            ingest.project_id, ingest.event_id, ingest.payload, ingest.received_at,
            ingest.client_ip,
        )
    except InvalidEvent as exc:
        return Poison(message, "invalid_event", str(exc))
    problem = _unstorable(event)
    if problem:
        return Poison(message, "invalid_event", problem)
    return _grouped(message, event, settings, ingest.received_at)


def _grouped(message: BusMessage, event: NormalizedEvent, settings: ProjectGrouping,
             received_at: float) -> PreparedEvent | Poison:
    grouping = compute_grouping(event.data, settings.config, settings.rules)
    hashes = tuple(grouping.hashes)
    if not hashes or not all(_HEX32.fullmatch(h) for h in hashes):
        return Poison(message, "processing_error", f"grouping gave unusable hashes: {hashes!r}")
    return PreparedEvent(message, event, hashes, grouping.config, received_at)


def regroup_prepared(prepared: PreparedEvent, settings: ProjectGrouping) -> PreparedEvent | Poison:
    """``prepared`` grouped again under ``settings``: its project's config changed between
    preparing and writing it (a regroup swapped the projection). Never raises."""
    try:
        return _grouped(prepared.message, prepared.event, settings, prepared.received_at)
    except Exception as exc:  # as in prepare(): one odd event must not stall the batch
        log.exception("regrouping message %s@%d failed", prepared.message.partition,
                      prepared.message.offset)
        return Poison(prepared.message, "processing_error", f"{type(exc).__name__}: {exc}")


def prepare_all(
    messages: Sequence[BusMessage], grouping: Mapping[int, ProjectGrouping] | None = None
) -> list[Prepared]:
    """:func:`prepare` for a chunk of messages (run in a worker thread by the runner)."""
    return [prepare(message, grouping) for message in messages]


def _unstorable(event: NormalizedEvent) -> str:
    """Why the stores would reject this event (a batch must never fail on one event)."""
    if not _HEX32.fullmatch(event.event_id):
        return f"event id {event.event_id!r} is not 32 lowercase hex digits"
    if not _EARLIEST <= event.timestamp <= _LATEST:
        return f"timestamp {event.timestamp.isoformat()} is out of range"
    return ""
