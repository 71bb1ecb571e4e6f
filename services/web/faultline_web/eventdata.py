"""Lenient readers for the parts of a stored event's JSON that the API and UI present.

Stored events are normalised, but they started as client input: every reader here
accepts each shape SDKs send (``{"values": [...]}`` or a bare list, a mapping or a list
of pairs, a query string) and skips what it does not understand instead of failing.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

log = logging.getLogger(__name__)

Pairs = list[tuple[str, str]]


def load_event_data(data_json: str) -> dict[str, Any]:
    """The event body as a dict; an unreadable body becomes an empty one."""
    try:
        data = json.loads(data_json) if data_json else {}
    except ValueError:
        log.warning("stored event data is not valid JSON")
        return {}
    return data if isinstance(data, dict) else {}


def text(value: Any) -> str:
    """A display string: scalars as text, containers as compact JSON, null as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return json.dumps(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def values_list(value: Any) -> list[dict[str, Any]]:
    """The objects of a ``{"values": [...]}`` interface, or of a bare list."""
    if isinstance(value, dict):
        value = value.get("values")
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, dict)]


def pairs(value: Any) -> Pairs:
    """Key/value pairs from a mapping or from a list of two-element lists."""
    if isinstance(value, dict):
        return [(str(key), text(item)) for key, item in value.items()]
    if not isinstance(value, list):
        return []
    result: Pairs = []
    for item in value:
        if isinstance(item, list | tuple) and len(item) == 2 and item[0] is not None:
            result.append((text(item[0]), text(item[1])))
    return result


def query_pairs(value: Any) -> Pairs:
    """A request's query string, given as text, a mapping or pairs."""
    if isinstance(value, str):
        return parse_qsl(value.lstrip("?"), keep_blank_values=True)
    return pairs(value)


def cookie_pairs(value: Any) -> Pairs:
    """Request cookies, given as a ``Cookie`` header value, a mapping or pairs."""
    if not isinstance(value, str):
        return pairs(value)
    result: Pairs = []
    for chunk in value.split(";"):
        name, sep, cookie_value = chunk.strip().partition("=")
        if name and sep:
            result.append((name, cookie_value))
    return result


def tags_of(data: dict[str, Any]) -> Pairs:
    return pairs(data.get("tags"))


def exceptions_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Exception values, oldest first (as SDKs send chained exceptions)."""
    return values_list(data.get("exception"))


def frames_of(exception: dict[str, Any]) -> list[dict[str, Any]]:
    """Stack frames of one exception, caller first (the raising frame is last)."""
    stacktrace = exception.get("stacktrace")
    if not isinstance(stacktrace, dict):
        return []
    frames = stacktrace.get("frames")
    if not isinstance(frames, list):
        return []
    return [frame for frame in frames if isinstance(frame, dict)]


def breadcrumbs_of(data: dict[str, Any]) -> list[dict[str, Any]]:
    return values_list(data.get("breadcrumbs"))


def request_of(data: dict[str, Any]) -> dict[str, Any]:
    request = data.get("request")
    return request if isinstance(request, dict) else {}


def message_of(data: dict[str, Any]) -> str:
    """The event's formatted message (``logentry`` or ``message``, object or string)."""
    for key in ("logentry", "message"):
        value = data.get(key)
        if isinstance(value, str) and value:
            return value
        if isinstance(value, dict):
            for field in ("formatted", "message"):
                if isinstance(value.get(field), str) and value[field]:
                    return str(value[field])
    return ""
