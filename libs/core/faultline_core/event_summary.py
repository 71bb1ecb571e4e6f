"""What Sentry derives from a normalised event's ``data``: title, culprit, metadata,
promoted tags, flattened contexts and the searchable message (pure)."""

from __future__ import annotations

from typing import Any, Final

from faultline_core.event import UserInfo
from faultline_core.normalize_values import JsonDict, truncate

MAX_TITLE: Final = 200
MAX_CULPRIT: Final = 200
MAX_TAG_VALUE: Final = 200
UNLABELED: Final = "<unlabeled event>"


def _first_line(text: str) -> str:
    for line in text.splitlines():
        if line.strip():
            return line.strip()
    return ""


def _objects_only(items: list[Any]) -> list[JsonDict]:
    """The JSON objects of a list: the list itself when that is all it holds (always, in
    normalised data), so the result is shared and must not be mutated."""
    for item in items:
        if not isinstance(item, dict):
            return [item for item in items if isinstance(item, dict)]
    return items


def exception_values(data: JsonDict) -> list[JsonDict]:
    """The exceptions, oldest first (read-only: see :func:`_objects_only`)."""
    exception = data.get("exception")
    values = exception.get("values") if isinstance(exception, dict) else None
    return _objects_only(values) if isinstance(values, list) else []


def frames_of(holder: object) -> list[JsonDict]:
    """The frames of an exception/thread (``holder["stacktrace"]``) or of a stacktrace
    (read-only: see :func:`_objects_only`)."""
    if not isinstance(holder, dict):
        return []
    stacktrace = holder.get("stacktrace", holder)
    frames = stacktrace.get("frames") if isinstance(stacktrace, dict) else None
    return _objects_only(frames) if isinstance(frames, list) else []


def event_stacktrace_frames(data: JsonDict) -> list[JsonDict]:
    """Frames of a non-exception event: ``stacktrace``, else the one meaningful thread."""
    frames = frames_of(data.get("stacktrace"))
    if frames:
        return frames
    threads = data.get("threads")
    values = threads.get("values") if isinstance(threads, dict) else None
    if not isinstance(values, list):
        return []
    with_frames = [t for t in values if frames_of(t)]
    if len(with_frames) == 1:
        return frames_of(with_frames[0])
    crashed = [t for t in with_frames if isinstance(t, dict) and t.get("crashed")]
    return frames_of(crashed[0]) if len(crashed) == 1 else []


def culprit_frame(frames: list[JsonDict]) -> JsonDict | None:
    """Where it happened: the innermost in-app frame, else the innermost frame."""
    for frame in reversed(frames):
        if frame.get("in_app") is True:
            return frame
    return frames[-1] if frames else None


def _frame_location(frame: JsonDict) -> str:
    where = frame.get("module") or frame.get("filename") or ""
    function = frame.get("function") or ""
    if where and function:
        return f"{where} in {function}"
    return where or function


def _error_title(exc: JsonDict) -> str:
    exc_type = exc.get("type") or "Error"
    value = _first_line(exc.get("value") or "")
    return truncate(f"{exc_type}: {value}" if value else exc_type, MAX_TITLE)


def _message_title(data: JsonDict) -> str:
    logentry = data.get("logentry") or {}
    text = _first_line(logentry.get("formatted") or logentry.get("message") or "")
    return truncate(text, MAX_TITLE) if text else UNLABELED


def event_title_culprit_metadata(data: JsonDict, explicit_culprit: str | None) -> JsonDict:
    """``title``, ``culprit`` and ``metadata`` the way Sentry derives them."""
    values = exception_values(data)
    last = values[-1] if values else None
    frames: list[JsonDict] = []
    for value in reversed(values):  # the innermost exception that has frames
        frames = frames_of(value)
        if frames:
            break
    if not values:
        frames = event_stacktrace_frames(data)
    frame = culprit_frame(frames)
    culprit = explicit_culprit or data.get("transaction") or ""
    if not culprit and frame is not None:
        culprit = _frame_location(frame)
    if not culprit:
        culprit = (data.get("request") or {}).get("url") or ""
    metadata: JsonDict
    if last is not None:
        title = _error_title(last)
        metadata = {"type": last.get("type") or "Error", "value": last.get("value") or ""}
        if frame is not None:
            metadata["filename"] = frame.get("filename") or ""
            metadata["function"] = frame.get("function") or ""
    else:
        title = _message_title(data)
        metadata = {"title": title}
    return {"title": title, "culprit": truncate(culprit, MAX_CULPRIT), "metadata": metadata}


def event_message(data: JsonDict) -> str:
    """The searchable message: the formatted log message, else "Type: value"."""
    logentry = data.get("logentry") or {}
    formatted = logentry.get("formatted") or logentry.get("message")
    if formatted:
        return str(formatted)
    values = exception_values(data)
    if values:
        last = values[-1]
        return ": ".join(str(p) for p in (last.get("type"), last.get("value")) if p)
    return ""


def _tag_text(value: object) -> str:
    text = value if type(value) is str else str(value)
    return text if len(text) <= MAX_TAG_VALUE else text[: MAX_TAG_VALUE - 3] + "..."


_PROMOTED_FIELDS: Final = ("level", "environment", "release", "server_name", "transaction",
                           "logger")


def promoted_tags(
    data: JsonDict, event_tags: list[list[str]], user: UserInfo
) -> tuple[tuple[str, str], ...]:
    """The SDK's tags plus those Sentry promotes from event fields (which win on a clash),
    sorted by key: the fields above, ``url``, ``user``, ``browser``/``os``/``runtime``
    (with their ``.name``), and the last exception's ``mechanism`` and ``handled``."""
    merged: dict[str, str] = {}
    for pair in event_tags:
        merged[pair[0]] = pair[1]
    for key in _PROMOTED_FIELDS:
        value = data.get(key)
        if value:
            merged[key] = _tag_text(value)
    request = data.get("request")
    url = request.get("url") if isinstance(request, dict) else None
    if url:
        merged["url"] = _tag_text(url)
    if user.key:
        merged["user"] = _tag_text(user.key)
    contexts = data.get("contexts")
    if isinstance(contexts, dict):
        for name, short_name in _CONTEXT_TAGS:
            _add_context_tags(merged, contexts.get(name), name, short_name)
    values = exception_values(data)
    mechanism = values[-1].get("mechanism") if values else None
    if isinstance(mechanism, dict):
        merged["mechanism"] = _tag_text(mechanism.get("type") or "generic")
        handled = mechanism.get("handled")
        if isinstance(handled, bool):
            merged["handled"] = "yes" if handled else "no"
    return tuple(sorted(merged.items()))


def _add_context_tags(merged: dict[str, str], context: object, name: str,
                      short_name: str) -> None:
    """``browser: "Chrome 120"`` and ``browser.name: "Chrome"`` from a named context."""
    if not isinstance(context, dict) or not context.get("name"):
        return
    # Strip: @sentry/node reads the OS version from /etc/debian_version, newline included.
    context_name = str(context["name"]).strip()
    version = str(context.get("version") or "").strip()
    full = f"{context_name} {version}" if version else context_name
    if full:
        merged[name] = _tag_text(full)
    if context_name:
        merged[short_name] = _tag_text(context_name)


_CONTEXT_TAGS: Final = (("browser", "browser.name"), ("os", "os.name"), ("runtime", "runtime.name"))


def flatten_contexts(contexts: JsonDict) -> tuple[tuple[str, str], ...]:
    """``{"os": {"name": "Linux"}}`` → ``(("os.name", "Linux"),)``; scalars only."""
    flat: list[tuple[str, str]] = []
    for name, context in contexts.items():
        if not isinstance(context, dict):
            continue
        for key, value in context.items():
            if key == "type" or value is None or isinstance(value, dict | list):
                continue
            flat.append((f"{name}.{key}", truncate(str(value), MAX_TAG_VALUE)))
    return tuple(flat)
