"""Grouping v1: Sentry's default grouping, simplified (pure).

Precedence: an explicit ``fingerprint`` (``{{ default }}`` expands to the default
components below), else exceptions, else a stack trace, else the message.

- **Exceptions** (each value of a chain, oldest first): the stack trace's frames, then
  the ``type`` (unless ``mechanism.synthetic``), then the parameterised ``value`` only
  when no frame of that exception contributes.
- **Frames:** module (else the lowercased file basename) and function; for Python also
  the stripped context line when at most 120 characters. Line numbers never count, so
  an edit elsewhere in a file keeps the group. Direct recursion (a frame identical to
  the one before) counts once.
- **Variants:** the *app* variant uses in-app frames only; the *system* variant uses all
  frames. An event without any in-app frame has only the system variant. Both hashes
  are returned (app first) so an event joins an issue if either matches.
- **Message:** ``logentry.message`` (the template) in preference to ``formatted``; the
  first two non-empty lines, parameterised.
- **Fallback:** when nothing contributes (e.g. an empty event), the event's ``title``,
  so such events group by what the UI shows them as (``<unlabeled event>`` mostly).
"""

from __future__ import annotations

import posixpath
import re
from typing import Any, Final

from faultline_core.event_summary import (
    culprit_frame,
    event_stacktrace_frames,
    exception_values,
    frames_of,
)
from faultline_core.grouping.base import GroupingResult, hash_components
from faultline_core.grouping.components import GroupingVariant, flat_variant
from faultline_core.grouping.parameterize import normalize_message

CONFIG_ID: Final = "v1"
MAX_CONTEXT_LINE: Final = 120
_VARIABLE: Final = re.compile(r"\{\{\s*([\w.]{1,40})\s*\}\}")
_CONTEXT_LINE_PLATFORMS: Final = frozenset({"python"})

JsonDict = dict[str, Any]


def _basename(path: str) -> str:
    # JS filenames are URLs: drop the query/fragment before taking the last segment.
    path = path.split("?", 1)[0].split("#", 1)[0].replace("\\", "/")
    return posixpath.basename(path.rstrip("/")).lower()


def frame_component(frame: JsonDict, event_platform: str) -> str | None:
    """``module=app.views function=index context_line=…`` or ``None`` when the frame
    carries nothing that identifies it."""
    parts: list[str] = []
    if frame.get("module"):
        parts.append(f"module={frame['module']}")
    elif frame.get("filename") or frame.get("abs_path"):
        parts.append(f"filename={_basename(frame.get('filename') or frame['abs_path'])}")
    if frame.get("function"):
        parts.append(f"function={frame['function']}")
    if not parts:
        return None
    platform = frame.get("platform") or event_platform
    context_line = (frame.get("context_line") or "").strip()
    if platform in _CONTEXT_LINE_PLATFORMS and 0 < len(context_line) <= MAX_CONTEXT_LINE:
        parts.append(f"context_line={context_line}")
    return " ".join(parts)


def frames_components(frames: list[JsonDict], prefix: str, platform: str) -> list[str]:
    components: list[str] = []
    previous = None
    for frame in frames:
        component = frame_component(frame, platform)
        if component is None or component == previous:
            continue
        previous = component
        components.append(f"{prefix}.frame: {component}")
    return components


def _select_frames(frames: list[JsonDict], app_only: bool) -> list[JsonDict]:
    return [f for f in frames if f.get("in_app") is True] if app_only else frames


def _exception_components(exc: JsonDict, prefix: str, platform: str, app_only: bool) -> list[str]:
    frames = _select_frames(frames_of(exc), app_only)
    stack = frames_components(frames, f"{prefix}.stacktrace", platform)
    components = list(stack)
    mechanism = exc.get("mechanism")
    synthetic = isinstance(mechanism, dict) and mechanism.get("synthetic") is True
    if exc.get("type") and not synthetic:
        components.append(f"{prefix}.type: {exc['type']}")
    if not stack and exc.get("value"):
        value = normalize_message(str(exc["value"]))
        if value:
            components.append(f"{prefix}.value: {value}")
    return components


def _message_components(data: JsonDict) -> list[str]:
    logentry = data.get("logentry")
    if not isinstance(logentry, dict):
        return []
    template = logentry.get("message") or logentry.get("formatted")
    if not isinstance(template, str):
        return []
    message = normalize_message(template)
    return [f"message: {message}"] if message else []


def has_in_app_frames(data: JsonDict) -> bool:
    holders = [*exception_values(data)]
    frames = [f for exc in holders for f in frames_of(exc)] + event_stacktrace_frames(data)
    return any(f.get("in_app") is True for f in frames)


def default_components(data: JsonDict, app_only: bool) -> list[str]:
    """The default grouping inputs for one variant (empty when nothing contributes)."""
    platform = str(data.get("platform") or "")
    components: list[str] = []
    for index, exc in enumerate(exception_values(data)):
        components += _exception_components(exc, f"exception[{index}]", platform, app_only)
    if components:
        return components
    frames = _select_frames(event_stacktrace_frames(data), app_only)
    components = frames_components(frames, "stacktrace", platform)
    return components or _message_components(data)


def _last_exception_field(data: JsonDict, key: str) -> str | None:
    values = exception_values(data)
    value = values[-1].get(key) if values else None
    return str(value) if value else None


def _crash_frame_field(data: JsonDict, key: str) -> str | None:
    values = exception_values(data)
    frames = frames_of(values[-1]) if values else event_stacktrace_frames(data)
    frame = culprit_frame(frames)
    return str(frame[key]) if frame and frame.get(key) else None


def _variable_value(name: str, data: JsonDict) -> str:
    key = name.removeprefix("error.")
    value: object = None
    if key in ("type", "value"):
        value = _last_exception_field(data, key)
    elif key == "message":
        logentry = data.get("logentry")
        formatted = logentry.get("formatted") if isinstance(logentry, dict) else None
        value = formatted or _last_exception_field(data, "value")
    elif key in ("transaction", "level", "logger"):
        value = data.get(key)
    elif key in ("function", "module"):
        value = _crash_frame_field(data, key)
    return str(value) if value else f"<no-{key}>"


def fingerprint_components(
    data: JsonDict, fingerprint: list[str], defaults: list[str]
) -> list[str]:
    """Expand ``{{ default }}`` to ``defaults`` and other ``{{ var }}`` to event values."""
    components: list[str] = []
    for entry in fingerprint:
        match = _VARIABLE.fullmatch(entry.strip())
        name = match.group(1).lower() if match else None
        if name == "default":
            components += defaults
        elif name is not None:
            components.append(f"fingerprint: {_variable_value(name, data)}")
        else:
            components.append(f"fingerprint: {entry}")
    return components


class GroupingV1:
    config_id = CONFIG_ID
    changelog = "Sentry's default grouping, simplified: one flattened hash per variant."

    def _components(self, data: dict[str, Any]) -> tuple[list[str], list[str]]:
        """The app and the system components."""
        fallback = [f"fallback: {data.get('title') or '<unlabeled event>'}"]
        system = default_components(data, app_only=False) or fallback
        app = default_components(data, app_only=True) if has_in_app_frames(data) else system
        app = app or fallback
        fingerprint = data.get("fingerprint")
        if isinstance(fingerprint, list) and fingerprint:
            entries = [str(entry) for entry in fingerprint]
            app = fingerprint_components(data, entries, app)
            system = fingerprint_components(data, entries, system)
        return app, system

    def compute(self, data: dict[str, Any]) -> GroupingResult:
        app, system = self._components(data)
        hashes = [hash_components(app)]
        if system != app:
            hashes.append(hash_components(system))
        return GroupingResult(config=CONFIG_ID, hashes=hashes, components=app)

    def explain(self, data: dict[str, Any]) -> dict[str, GroupingVariant]:
        app, system = self._components(data)
        return {
            "app": flat_variant("app", "in-app frames (v1, flattened)", app),
            "system": flat_variant("system", "all frames (v1, flattened)", system),
        }
