"""Grouping v2: resolving a custom ``fingerprint``'s variables (pure).

``{{ default }}`` stands for the default grouping; the other variables are replaced by
the event's values: ``{{ type }}`` / ``{{ error.type }}``, ``{{ value }}`` /
``{{ error.value }}``, ``{{ message }}``, ``{{ function }}`` / ``{{ stack.function }}``,
``{{ module }}`` / ``{{ stack.module }}``, ``{{ package }}`` / ``{{ stack.package }}``,
``{{ transaction }}``, ``{{ level }}``, ``{{ logger }}`` and ``{{ tags.X }}`` (also
``{{ tag.X }}``). A variable without a value becomes ``<no-NAME>`` so it still groups.
"""

from __future__ import annotations

import re
from typing import Any, Final

from faultline_core.event_summary import (
    culprit_frame,
    event_stacktrace_frames,
    exception_values,
    frames_of,
)
from faultline_core.grouping.v2_frames import family_of, normalize_function, normalize_module

DEFAULT_MARKER: Final = "{{ default }}"
_VARIABLE: Final = re.compile(r"\{\{\s*([\w.-]{1,200})\s*\}\}")
_ALIASES: Final = {
    "error.type": "type", "error.value": "value", "stack.function": "function",
    "stack.module": "module", "stack.package": "package", "tag": "tags",
}
JsonDict = dict[str, Any]


def variable_name(entry: str) -> str | None:
    """The canonical variable name of a ``{{ … }}`` entry, or ``None`` for a literal."""
    match = _VARIABLE.fullmatch(entry.strip())
    if match is None:
        return None
    name = match.group(1)
    head, dot, rest = name.partition(".")
    if head.lower() in ("tags", "tag") and dot:
        return f"tags.{rest}"  # tag keys keep their case
    name = name.lower()
    return _ALIASES.get(name, name)


def _tag(data: JsonDict, key: str) -> object:
    tags = data.get("tags")
    if isinstance(tags, dict):
        return tags.get(key)
    if isinstance(tags, list):
        for pair in tags:
            if isinstance(pair, (list, tuple)) and len(pair) == 2 and pair[0] == key:
                return pair[1]
    return None


def _exception_field(data: JsonDict, key: str) -> object:
    values = exception_values(data)
    return values[-1].get(key) if values else None


def _frame_field(data: JsonDict, key: str) -> object:
    values = exception_values(data)
    frames = frames_of(values[-1]) if values else event_stacktrace_frames(data)
    frame = culprit_frame(frames)
    if frame is None:
        return None
    value = frame.get(key)
    if not isinstance(value, str) or not value:
        return None
    family = family_of(str(frame.get("platform") or data.get("platform") or ""))
    if key == "function":
        return normalize_function(family, value) or None
    if key == "module":
        return normalize_module(family, value)
    return value.replace("\\", "/").rsplit("/", 1)[-1]  # package: its basename


def _message(data: JsonDict) -> object:
    logentry = data.get("logentry")
    if isinstance(logentry, dict) and (logentry.get("formatted") or logentry.get("message")):
        return logentry.get("formatted") or logentry.get("message")
    return _exception_field(data, "value")


def variable_value(name: str, data: JsonDict) -> str:
    """The event's value for a canonical variable name (``<no-NAME>`` when missing)."""
    value: object = None
    if name.startswith("tags."):
        value = _tag(data, name[5:])
    elif name in ("type", "value"):
        value = _exception_field(data, name)
    elif name == "message":
        value = _message(data)
    elif name in ("function", "module", "package"):
        value = _frame_field(data, name)
    elif name in ("transaction", "level", "logger"):
        value = data.get(name)
    return str(value) if value not in (None, "") else f"<no-{name}>"


def resolve_fingerprint(data: JsonDict, entries: list[str]) -> list[str]:
    """The entries with variables replaced; ``{{ default }}`` becomes ``DEFAULT_MARKER``."""
    resolved: list[str] = []
    for entry in entries:
        name = variable_name(entry)
        if name is None:
            resolved.append(entry)
        elif name == "default":
            resolved.append(DEFAULT_MARKER)
        else:
            resolved.append(variable_value(name, data))
    return resolved
