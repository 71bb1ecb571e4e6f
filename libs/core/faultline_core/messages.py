"""The wire format of messages on the ``ingest-events`` topic (pure).

The relay publishes one message per event item; the processor decodes it. The payload is
kept as the raw JSON bytes the SDK sent, so the relay never re-serialises an event.

Layout: one compact JSON header line, ``\\n``, then the raw event payload bytes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
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

    def encode(self) -> bytes:
        header = {
            "v": FORMAT_VERSION,
            "project_id": self.project_id,
            "event_id": self.event_id,
            "type": self.item_type,
            "received_at": self.received_at,
            "client_ip": self.client_ip,
        }
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
    try:
        return IngestMessage(
            project_id=int(header["project_id"]),
            event_id=str(header["event_id"]),
            item_type=str(header["type"]),
            received_at=float(header["received_at"]),
            client_ip=header.get("client_ip"),
            payload=payload,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MessageDecodeError(f"bad header field: {exc}") from exc
