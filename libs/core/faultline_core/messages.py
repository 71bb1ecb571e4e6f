"""The wire format of messages on the ``ingest-events`` topic (pure).

The relay publishes one message per envelope item it keeps (events, transactions,
sessions, logs, user feedback, client reports, attachment references); the processor
decodes it. The payload is kept as the raw bytes the SDK sent, so the relay never
re-serialises an item. Attachments are the exception: their bytes go to the blob store
and the message carries only a reference in ``meta``.

Layout: one compact JSON header line, ``\\n``, then the raw payload bytes.

``event_id`` is the event an item belongs to (for an event, its own id); ``item_id`` is
unique per published item, the key that makes processing a redelivered item idempotent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

FORMAT_VERSION = 1


class MessageDecodeError(ValueError):
    """A message on the bus is not a valid ingest message (a poison message)."""


@dataclass(frozen=True)
class IngestMessage:
    project_id: int
    event_id: str
    item_type: str
    received_at: float
    client_ip: str | None
    payload: bytes
    item_id: str = ""
    """Unique per published item; defaults to ``event_id`` (an event is its own item)."""
    meta: Mapping[str, Any] = field(default_factory=dict)
    """Item-specific facts from the envelope item header (attachment name, blob key…)."""

    def __post_init__(self) -> None:
        if not self.item_id:
            object.__setattr__(self, "item_id", self.event_id)

    def encode(self) -> bytes:
        header: dict[str, Any] = {
            "v": FORMAT_VERSION,
            "project_id": self.project_id,
            "event_id": self.event_id,
            "type": self.item_type,
            "received_at": self.received_at,
            "client_ip": self.client_ip,
        }
        if self.item_id != self.event_id:
            header["item_id"] = self.item_id
        if self.meta:
            header["meta"] = dict(self.meta)
        return json.dumps(header, separators=(",", ":")).encode() + b"\n" + self.payload


def decode_ingest_message(raw: bytes) -> IngestMessage:
    head, sep, payload = raw.partition(b"\n")
    if not sep:
        raise MessageDecodeError("missing header line")
    try:
        header: Any = json.loads(head)
    except ValueError as exc:
        raise MessageDecodeError(f"header is not JSON: {exc}") from exc
    if not isinstance(header, dict) or header.get("v") != FORMAT_VERSION:
        raise MessageDecodeError("unknown message format version")
    meta = header.get("meta", {})
    if not isinstance(meta, dict):
        raise MessageDecodeError("bad header field: meta is not an object")
    try:
        return IngestMessage(
            project_id=int(header["project_id"]),
            event_id=str(header["event_id"]),
            item_type=str(header["type"]),
            received_at=float(header["received_at"]),
            client_ip=header.get("client_ip"),
            payload=payload,
            item_id=str(header.get("item_id") or ""),
            meta=meta,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageDecodeError(f"bad header field: {exc}") from exc
