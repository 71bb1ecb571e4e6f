"""``logs`` rows (see ``migrations/clickhouse/0002_logs.sql``) from a ``log`` envelope item.

Pure: no I/O. The payload is Sentry's log protocol, ``{"items": [line, ...]}`` where a line
is ``{"timestamp": <epoch seconds>, "level": ..., "body": ..., "trace_id": ...,
"severity_number": ..., "attributes": {key: {"value": ..., "type": ...}}}``.

Parsing is lenient per line: a line that is not an object, has no usable timestamp, body
or level is dropped and counted; a malformed attribute is dropped on its own. Only a
payload that is not a JSON object holding an ``items`` list is refused as a whole.

Each row's ``log_id`` is derived from the bus item id and the line's index in ``items``,
and a clamped timestamp falls back to the item's receive time, so parsing the same item
twice yields identical rows: a redelivered batch collapses in the ReplacingMergeTree.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faultline_core.normalize import InvalidEvent, load_payload
from faultline_core.normalize_values import parse_timestamp

LOGS_COLUMNS: tuple[str, ...] = (
    "project_id",
    "timestamp",
    "timestamp_us",
    "log_id",
    "item_id",
    "received",
    "trace_id",
    "span_id",
    "level",
    "severity_number",
    "body",
    "template",
    "release",
    "environment",
    "sdk_name",
    "sdk_version",
    "attributes.key",
    "attributes.value",
    "attributes.type",
    "retention_days",
    "deleted",
)

LEVELS: tuple[str, ...] = ("trace", "debug", "info", "warn", "error", "fatal")
# The lowest OpenTelemetry severity number of each level (1-4 trace ... 21-24 fatal).
SEVERITY_BASE: dict[str, int] = {level: 1 + 4 * index for index, level in enumerate(LEVELS)}
_LEVEL_ALIASES = {"warning": "warn", "critical": "fatal", "err": "error", "information": "info"}

DEFAULT_RETENTION_DAYS = 30
MAX_LINES_PER_ITEM = 1000
MAX_BODY_CHARS = 16 * 1024
MAX_ATTRIBUTES = 100
MAX_ATTRIBUTE_KEY_CHARS = 200
MAX_ATTRIBUTE_VALUE_CHARS = 4096
MAX_TAG_CHARS = 200
"""Release, environment and SDK name/version columns."""
MAX_FUTURE_SECONDS = 60.0

_NAMESPACE = uuid.UUID("6f1c3a52-51d4-4b43-9d0e-6c1f0b9a7e21")
_TRACE_ID = re.compile(r"[0-9a-f]{32}")
_SPAN_ID = re.compile(r"[0-9a-f]{16}")
# Attributes that only repeat a column of their own.
_COLUMN_ATTRIBUTES = frozenset({"sentry.severity_number", "sentry.severity_text"})


class InvalidLogPayload(ValueError):
    """The item holds no log batch at all (not a JSON object with an ``items`` list)."""


@dataclass(frozen=True)
class LogBatch:
    """The rows of one ``log`` item, in :data:`LOGS_COLUMNS` order, and what was dropped."""

    rows: tuple[tuple[Any, ...], ...]
    dropped: int
    """Lines that could not be stored (malformed, or beyond :data:`MAX_LINES_PER_ITEM`)."""


@dataclass(frozen=True)
class _Attribute:
    key: str
    value: Any
    text: str
    type: str


def log_id(item_id: str, index: int) -> str:
    """The deterministic id (32 hex) of line ``index`` of bus item ``item_id``."""
    return uuid.uuid5(_NAMESPACE, f"{item_id}/{index}").hex


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit]


def _attribute_text(value: Any, declared: Any) -> tuple[str, str] | None:
    """The stored text and type of one attribute value; None when it is malformed."""
    kind = declared if isinstance(declared, str) else ""
    if isinstance(value, bool):
        ok = kind in ("", "boolean")
        return ("true" if value else "false", "boolean") if ok else None
    if isinstance(value, int):
        if kind in ("", "integer"):
            return str(value), "integer"
        if kind == "double" and abs(value) < 2**1023:  # float() of a larger int overflows
            return repr(float(value)), "double"
        return None
    if isinstance(value, float):
        return (repr(value), "double") if kind in ("", "double") and math.isfinite(value) else None
    if isinstance(value, str):
        return (value, "string") if kind in ("", "string") else None
    scalars = isinstance(value, list) and all(isinstance(v, str | int | float) for v in value)
    if scalars and kind in ("", "array"):
        return json.dumps(value, separators=(",", ":")), "array"
    return None


def _attributes(raw: Any) -> list[_Attribute]:
    """The line's well-formed attributes, at most :data:`MAX_ATTRIBUTES`, sorted by key."""
    if not isinstance(raw, Mapping):
        return []
    kept: list[_Attribute] = []
    for key, entry in raw.items():
        if not isinstance(key, str) or not 0 < len(key) <= MAX_ATTRIBUTE_KEY_CHARS:
            continue
        if not isinstance(entry, Mapping) or "value" not in entry:
            continue
        converted = _attribute_text(entry["value"], entry.get("type"))
        if converted is None:
            continue
        text, kind = converted
        kept.append(_Attribute(key, entry["value"], _clip(text, MAX_ATTRIBUTE_VALUE_CHARS), kind))
    kept.sort(key=lambda attribute: attribute.key)
    return kept


def _level(line: Mapping[str, Any], severity: int | None) -> str | None:
    raw = line.get("level")
    if isinstance(raw, str):
        name = raw.strip().lower()
        name = _LEVEL_ALIASES.get(name, name)
        if name in SEVERITY_BASE:
            return name
    if severity is not None:
        return LEVELS[(severity - 1) // 4]
    return None


def _severity(line: Mapping[str, Any], attributes: Mapping[str, _Attribute]) -> int | None:
    """A valid OpenTelemetry severity number (1-24) from the line or its attributes."""
    attribute = attributes.get("sentry.severity_number")
    for value in (line.get("severity_number"), attribute.value if attribute else None):
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 24:
            return value
    return None


def _timestamp(value: Any, received_at: float, retention_days: int) -> float | None:
    """The line's time, or the receive time when it is too far ahead or behind."""
    seconds = parse_timestamp(value)
    if seconds is None:
        return None
    if not received_at - retention_days * 86400 <= seconds <= received_at + MAX_FUTURE_SECONDS:
        return received_at
    return seconds


def _hex_id(value: Any, pattern: re.Pattern[str]) -> str:
    if not isinstance(value, str):
        return ""
    text = value.replace("-", "").lower()
    return text if pattern.fullmatch(text) else ""


def _string_attribute(attributes: Mapping[str, _Attribute], key: str, limit: int) -> str:
    attribute = attributes.get(key)
    if attribute is None or attribute.type != "string":
        return ""
    return _clip(attribute.text, limit)


@dataclass(frozen=True)
class _Item:
    project_id: int
    item_id: str
    received_at: float
    retention_days: int


def _row(item: _Item, index: int, line: Any) -> tuple[Any, ...] | None:
    """The row of one line, or None when the line is malformed."""
    if not isinstance(line, Mapping) or not isinstance(line.get("body"), str):
        return None
    seconds = _timestamp(line.get("timestamp"), item.received_at, item.retention_days)
    listed = _attributes(line.get("attributes"))
    attributes = {attribute.key: attribute for attribute in listed}
    severity = _severity(line, attributes)
    level = _level(line, severity)
    if seconds is None or level is None:
        return None
    whole = math.floor(seconds)
    stored = [attribute for attribute in listed if attribute.key not in _COLUMN_ATTRIBUTES]
    stored = stored[:MAX_ATTRIBUTES]
    return (
        item.project_id,
        datetime.fromtimestamp(whole, UTC),
        min(int(round((seconds - whole) * 1_000_000)), 999_999),
        log_id(item.item_id, index),
        item.item_id,
        datetime.fromtimestamp(math.floor(item.received_at), UTC),
        _hex_id(line.get("trace_id"), _TRACE_ID),
        _hex_id(line.get("span_id"), _SPAN_ID),
        level,
        severity if severity is not None else SEVERITY_BASE[level],
        _clip(line["body"], MAX_BODY_CHARS),
        _string_attribute(attributes, "sentry.message.template", MAX_BODY_CHARS),
        _string_attribute(attributes, "sentry.release", MAX_TAG_CHARS),
        _string_attribute(attributes, "sentry.environment", MAX_TAG_CHARS),
        _string_attribute(attributes, "sentry.sdk.name", MAX_TAG_CHARS),
        _string_attribute(attributes, "sentry.sdk.version", MAX_TAG_CHARS),
        [attribute.key for attribute in stored],
        [attribute.text for attribute in stored],
        [attribute.type for attribute in stored],
        item.retention_days,
        0,
    )


def parse_log_item(
    payload: bytes,
    *,
    project_id: int,
    item_id: str,
    received_at: float,
    retention_days: int = DEFAULT_RETENTION_DAYS,
) -> LogBatch:
    """The ``logs`` rows of one ``log`` item; :class:`InvalidLogPayload` if it has none.

    ``item_id`` (32 hex) is the bus item's unique id, ``received_at`` when the relay got it.
    """
    try:
        document = load_payload(payload)
    except InvalidEvent as exc:
        raise InvalidLogPayload(str(exc).replace("event payload", "log payload")) from exc
    lines = document.get("items")
    if not isinstance(lines, list):
        raise InvalidLogPayload("log payload has no items list")
    item = _Item(project_id, item_id, received_at, retention_days)
    rows = [_row(item, index, line) for index, line in enumerate(lines[:MAX_LINES_PER_ITEM])]
    kept = tuple(row for row in rows if row is not None)
    return LogBatch(kept, len(lines) - len(kept))
