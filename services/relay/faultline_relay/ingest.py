"""From a decoded body to the events to publish (pure, apart from metrics).

The relay checks only what it must: each event is a JSON object within the size limit
and has a usable event id. The payload bytes are published exactly as received, so no
event is ever re-serialised here; normalisation is the processor's job.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from dataclasses import dataclass
from typing import Any

from faultline_core.compression import DecompressionError, PayloadTooLarge, decompress
from faultline_core.envelope import (
    Envelope,
    EnvelopeError,
    parse_envelope,
    parse_event_id,
    parse_json_object,
)
from faultline_relay.errors import invalid, too_large
from faultline_relay.metrics import ITEMS, item_type_label

EVENT_ITEM_TYPES = frozenset({"event"})


@dataclass(frozen=True)
class EventItem:
    """One event to publish: its normalised id and the payload bytes as sent."""

    event_id: str
    payload: bytes


def _json_object(payload: bytes, what: str) -> dict[str, Any]:
    try:
        return parse_json_object(payload, what)
    except EnvelopeError as exc:
        raise invalid(str(exc)) from exc


def _event_id(payload_id: object, fallback_id: object) -> str:
    """The payload's ``event_id``, else the envelope's, else a fresh one (32 hex)."""
    candidate = payload_id if payload_id is not None else fallback_id
    if candidate is None:
        return uuid.uuid4().hex
    event_id = parse_event_id(candidate)
    if event_id is None:
        raise invalid("event_id must be 32 hex characters or a UUID")
    return event_id


def event_item(payload: bytes, fallback_id: object, max_event_bytes: int, what: str) -> EventItem:
    """Validate one event payload; 413 when too large, 400 when not a JSON object."""
    if len(payload) > max_event_bytes:
        raise too_large(f"{what} exceeds {max_event_bytes} bytes")
    data = _json_object(payload, what)
    return EventItem(_event_id(data.get("event_id"), fallback_id), payload)


def envelope_events(envelope: Envelope, max_event_bytes: int) -> list[EventItem]:
    """The envelope's event items; every other item type is counted and skipped."""
    events: list[EventItem] = []
    fallback_id = envelope.headers.get("event_id")
    for index, item in enumerate(envelope.items, start=1):
        if item.type not in EVENT_ITEM_TYPES:
            ITEMS.labels(item_type_label(item.type), "skipped").inc()
            continue
        events.append(
            event_item(item.payload, fallback_id, max_event_bytes, f"item {index} ({item.type})")
        )
    return events


def parse_envelope_events(body: bytes, max_event_bytes: int) -> tuple[Envelope, list[EventItem]]:
    """Parse an envelope and pick out its events; 400 with the parser's reason if malformed."""
    try:
        envelope = parse_envelope(body)
    except EnvelopeError as exc:
        raise invalid(f"invalid envelope: {exc}") from exc
    return envelope, envelope_events(envelope, max_event_bytes)


def _legacy_store_body(body: bytes, max_event_bytes: int) -> bytes:
    """Old SDKs sent ``base64(zlib(json))`` to ``/store/``; undo that."""
    try:
        compressed = base64.b64decode(body, validate=False)
    except (binascii.Error, ValueError) as exc:
        raise invalid("store body is neither JSON nor base64") from exc
    try:
        return decompress(compressed, "deflate", max_event_bytes)
    except PayloadTooLarge as exc:
        raise too_large(f"event exceeds {max_event_bytes} bytes") from exc
    except DecompressionError as exc:
        raise invalid("store body is neither JSON nor base64+zlib") from exc


def store_event(body: bytes, max_event_bytes: int) -> EventItem:
    """The single event of a ``/store/`` request (plain JSON or the legacy encoding)."""
    stripped = body.lstrip()
    if stripped and not stripped.startswith(b"{"):
        body = _legacy_store_body(stripped, max_event_bytes)
    return event_item(body, None, max_event_bytes, "event")
