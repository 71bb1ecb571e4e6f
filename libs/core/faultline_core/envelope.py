"""Sentry envelope parsing (pure).

An envelope is a JSON header line followed by items. Each item is a JSON header line
and a payload: with a ``length`` header the payload is exactly that many bytes (and may
contain newlines), without one it runs to the next ``\\n``. The final newline is
optional. Unknown item types are kept; the caller decides what to skip.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

_EVENT_ID_RE = re.compile(
    r"[0-9a-fA-F]{32}"
    r"|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
)


class EnvelopeError(ValueError):
    """The body is not a well-formed envelope; the message says where and why."""


@dataclass(frozen=True)
class EnvelopeItem:
    headers: dict[str, Any]
    payload: bytes

    @property
    def type(self) -> str:
        """The item type (``event``, ``attachment``…); always a string."""
        item_type = self.headers.get("type")
        return item_type if isinstance(item_type, str) else ""


@dataclass(frozen=True)
class Envelope:
    headers: dict[str, Any]
    items: list[EnvelopeItem]

    @property
    def event_id(self) -> str | None:
        """The envelope header's event id as 32 lowercase hex, if present and valid."""
        return parse_event_id(self.headers.get("event_id"))


def parse_event_id(value: object) -> str | None:
    """Accept a 32-hex or dashed 36-character UUID (any case); return 32 lowercase hex."""
    if not isinstance(value, str) or not _EVENT_ID_RE.fullmatch(value):
        return None
    return value.replace("-", "").lower()


def parse_json_object(line: bytes, what: str) -> dict[str, Any]:
    """Decode a JSON object (a header or an event payload); ``what`` names it in errors."""
    try:
        header = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise EnvelopeError(f"{what} is not valid JSON") from exc
    if not isinstance(header, dict):
        raise EnvelopeError(f"{what} is not a JSON object")
    return header


def _declared_length(headers: dict[str, Any], index: int) -> int | None:
    length = headers.get("length")
    if length is None:
        return None
    # bool is an int subclass; `"length": true` is as wrong as a string here.
    if isinstance(length, bool) or not isinstance(length, int) or length < 0:
        raise EnvelopeError(f"item {index}: length must be a non-negative integer")
    return length


def _next_line(body: bytes, pos: int) -> tuple[bytes, int]:
    """The line starting at ``pos`` (without its newline) and where the next one starts."""
    end = body.find(b"\n", pos)
    if end < 0:
        return body[pos:], len(body)
    return body[pos:end], end + 1


def _read_item(body: bytes, pos: int, index: int) -> tuple[EnvelopeItem, int]:
    line, pos = _next_line(body, pos)
    headers = parse_json_object(line, f"item {index} header")
    if not isinstance(headers.get("type"), str) or not headers["type"]:
        raise EnvelopeError(f"item {index}: header has no type")
    length = _declared_length(headers, index)
    if length is None:
        payload, pos = _next_line(body, pos)
        return EnvelopeItem(headers, payload), pos
    remaining = len(body) - pos
    if length > remaining:
        raise EnvelopeError(
            f"item {index}: declared length {length} exceeds remaining {remaining} bytes"
        )
    payload = body[pos : pos + length]
    pos += length
    if pos < len(body):
        if body[pos : pos + 1] != b"\n":
            raise EnvelopeError(f"item {index}: payload is not followed by a newline")
        pos += 1
    return EnvelopeItem(headers, payload), pos


def parse_envelope(body: bytes) -> Envelope:
    """Split an envelope body into its header and items.

    Raises :class:`EnvelopeError` for an empty body, a header that is not a JSON object,
    an item without a type, or an item whose declared length runs past the body.
    """
    if not body.strip():
        raise EnvelopeError("envelope is empty")
    line, pos = _next_line(body, 0)
    headers = parse_json_object(line, "envelope header")
    items: list[EnvelopeItem] = []
    while pos < len(body):
        # Blank lines between items (or a trailing one) carry nothing; SDKs emit a
        # final newline and some add an extra one.
        if body[pos : pos + 1] == b"\n":
            pos += 1
            continue
        item, pos = _read_item(body, pos, len(items) + 1)
        items.append(item)
    return Envelope(headers, items)
