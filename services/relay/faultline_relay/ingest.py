"""From a decoded body to the items to publish (pure, apart from metrics).

The relay checks only what it must: each JSON item is an object within the size limit,
an event has a usable id, and no two events of one envelope share an id (the second
would be dropped as a duplicate after a 200). Payload bytes are published exactly as
received; normalisation is the processor's job. Attachment bytes travel separately, to
the blob store, and their message carries only a reference.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from faultline_core.compression import DecompressionError, PayloadTooLarge, decompress
from faultline_core.envelope import (
    Envelope,
    EnvelopeError,
    EnvelopeItem,
    parse_envelope,
    parse_event_id,
    parse_json_object,
)
from faultline_relay.errors import invalid, too_large
from faultline_relay.metrics import ITEMS, item_type_label

EVENT = "event"
ATTACHMENT = "attachment"
# Items published as their JSON payload, for the processor to store or count.
JSON_ITEM_TYPES = frozenset({
    "transaction", "session", "sessions", "client_report", "log", "user_report", "feedback",
})
# Attachment header fields kept in the bus message (everything else is dropped).
_ATTACHMENT_HEADER_FIELDS = ("filename", "content_type", "attachment_type")
_MAX_HEADER_TEXT = 200


@dataclass(frozen=True)
class IngestLimits:
    max_event_bytes: int
    max_attachment_bytes: int


@dataclass(frozen=True)
class IngestItem:
    """One item to publish: the event it belongs to, its payload as sent, and for an
    attachment its bytes (``blob``), which go to the blob store before publishing."""

    event_id: str
    payload: bytes
    item_type: str = EVENT
    item_id: str = ""
    """Unique per item; empty means ``event_id`` (an event is its own item)."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    blob: bytes | None = None

    @property
    def is_event(self) -> bool:
        """Error events: what DSN-key and project quotas count."""
        return self.item_type == EVENT


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


def event_item(payload: bytes, fallback_id: object, max_event_bytes: int, what: str) -> IngestItem:
    """Validate one event payload; 413 when too large, 400 when not a JSON object."""
    if len(payload) > max_event_bytes:
        raise too_large(f"{what} exceeds {max_event_bytes} bytes")
    data = _json_object(payload, what)
    return IngestItem(_event_id(data.get("event_id"), fallback_id), payload)


def _json_item(item: EnvelopeItem, fallback_id: str | None, limits: IngestLimits,
               what: str) -> IngestItem:
    if len(item.payload) > limits.max_event_bytes:
        raise too_large(f"{what} exceeds {limits.max_event_bytes} bytes")
    data = _json_object(item.payload, what)
    item_id = uuid.uuid4().hex
    # User reports name the event they are about; feedback is an event of its own.
    own_id = parse_event_id(data.get("event_id"))
    event_id = own_id or fallback_id or item_id
    return IngestItem(event_id, item.payload, item.type, item_id)


def _header_text(value: object) -> str | None:
    return value[:_MAX_HEADER_TEXT] if isinstance(value, str) and value else None


def _attachment_item(item: EnvelopeItem, event_id: str | None, limits: IngestLimits,
                     what: str) -> IngestItem | None:
    if len(item.payload) > limits.max_attachment_bytes:
        raise too_large(f"{what} exceeds {limits.max_attachment_bytes} bytes")
    if event_id is None:
        return None  # as in Sentry: an attachment without an event has nothing to join
    meta: dict[str, Any] = {"size": len(item.payload)}
    for name in _ATTACHMENT_HEADER_FIELDS:
        text = _header_text(item.headers.get(name))
        if text is not None:
            meta[name] = text
    return IngestItem(event_id, b"", ATTACHMENT, uuid.uuid4().hex, meta, item.payload)


def envelope_items(envelope: Envelope, limits: IngestLimits) -> list[IngestItem]:
    """The envelope's items worth publishing; other types are counted and skipped.

    400 when two events share an event id: one of them would be dropped after a 200.
    """
    kept: list[IngestItem] = []
    header_id = envelope.event_id
    for index, item in enumerate(envelope.items, start=1):
        what = f"item {index} ({item_type_label(item.type)})"
        published: IngestItem | None = None
        if item.type == EVENT:
            # The raw header id: an event relying on a malformed one is refused (400).
            published = event_item(
                item.payload, envelope.headers.get("event_id"), limits.max_event_bytes, what
            )
        elif item.type in JSON_ITEM_TYPES:
            published = _json_item(item, header_id, limits, what)
        elif item.type == ATTACHMENT:
            published = _attachment_item(item, header_id, limits, what)
        if published is None:
            ITEMS.labels(item_type_label(item.type), "skipped").inc()
            continue
        kept.append(published)
    event_ids = [item.event_id for item in kept if item.is_event]
    if len(event_ids) != len(set(event_ids)):
        raise invalid("envelope carries several events with the same event_id")
    return kept


def parse_envelope_items(body: bytes, limits: IngestLimits) -> tuple[Envelope, list[IngestItem]]:
    """Parse an envelope and pick out its items; 400 with the parser's reason if malformed."""
    try:
        envelope = parse_envelope(body)
    except EnvelopeError as exc:
        raise invalid(f"invalid envelope: {exc}") from exc
    return envelope, envelope_items(envelope, limits)


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


def store_event(body: bytes, max_event_bytes: int) -> IngestItem:
    """The single event of a ``/store/`` request (plain JSON or the legacy encoding)."""
    stripped = body.lstrip()
    if stripped and not stripped.startswith(b"{"):
        body = _legacy_store_body(stripped, max_event_bytes)
    return event_item(body, None, max_event_bytes, "event")
