"""Normalisers for the structured parts of an event ("interfaces" in Sentry's terms).

Each returns the interface in Sentry's canonical JSON shape, or ``None`` when nothing
usable is left, recording what it dropped in the :class:`ErrorLog` (pure).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Final

from faultline_core.normalize_values import (
    ErrorLog,
    JsonDict,
    boolean,
    format_message,
    integer,
    mapping,
    string,
    string_list,
    to_text,
    truncate,
)

MAX_MESSAGE: Final = 8192
MAX_FRAMES: Final = 250
MAX_EXCEPTIONS: Final = 25
MAX_BREADCRUMBS: Final = 100
_MAX_CONTEXT_LINES: Final = 20
_MAX_SHORT: Final = 256
_MAX_UINT32: Final = 2**32 - 1
# "TypeError: x is undefined" in `type` with no `value` (some JS SDKs, old clients).
_TYPE_WITH_VALUE: Final = re.compile(r"([\w.$]{1,200}): (.*)", re.DOTALL)

LEVELS: Final = ("fatal", "error", "warning", "info", "debug")
_LEVEL_ALIASES: Final = {"warn": "warning", "critical": "fatal", "log": "info", "trace": "debug"}
# Python logging's numeric levels, which some legacy clients send.
_NUMERIC_LEVELS: Final = {10: "debug", 20: "info", 30: "warning", 40: "error", 50: "fatal"}


def normalize_level(value: object, path: str, errors: ErrorLog, default: str) -> str:
    if value is None:
        return default
    if isinstance(value, int) and value in _NUMERIC_LEVELS:
        return _NUMERIC_LEVELS[value]
    if isinstance(value, str):
        level = value.strip().lower()
        level = _LEVEL_ALIASES.get(level, level)
        if level in LEVELS:
            return level
    errors.invalid(path, value)
    return default


def as_values(value: object, path: str, errors: ErrorLog) -> list[Any] | None:
    """``{"values": [...]}`` or a bare list → the list."""
    if value is None:
        return None
    if isinstance(value, dict) and isinstance(value.get("values"), list):
        return list(value["values"])
    if isinstance(value, list):
        return value
    errors.invalid(path, value)
    return None


_FRAME_STRINGS: Final = (
    "filename", "abs_path", "function", "raw_function", "module", "package", "platform",
    "instruction_addr", "symbol", "symbol_addr", "image_addr",
)


_FRAME_TEXT: Final = _MAX_SHORT * 4
_CONTEXT_TEXT: Final = 1024


def _is_short_text_list(value: object, limit: int) -> bool:
    """A list of strings none of which needs truncating: kept as sent."""
    if type(value) is not list:
        return False
    for item in value:  # noqa: SIM110  (a plain loop: all() over a generator is slower)
        if type(item) is not str or len(item) > limit:
            return False
    return True


def _frame_path(prefix: str, index: int) -> str:
    return prefix + str(index)


def normalize_frame(raw: object, prefix: str, index: int, errors: ErrorLog) -> JsonDict | None:
    """One stack frame. The common case (every value of the expected JSON type, nothing
    to truncate) takes the inline checks; anything else goes through the lenient
    coercers, which record the error. The frame's location (``prefix`` + ``index``) is
    only formatted on that slow side."""
    if not isinstance(raw, dict):
        errors.invalid(_frame_path(prefix, index), raw)
        return None
    frame: JsonDict = {}
    for key in _FRAME_STRINGS:
        value = raw.get(key)
        if value is None:
            continue
        if type(value) is str and len(value) <= _FRAME_TEXT:
            frame[key] = value
        else:
            text = string(value, f"{_frame_path(prefix, index)}.{key}", errors, _FRAME_TEXT)
            if text is not None:
                frame[key] = text
    if "filename" not in frame and "abs_path" in frame:
        frame["filename"] = frame["abs_path"]
    for key in ("lineno", "colno"):
        value = raw.get(key)
        if value is None:
            continue
        if type(value) is int and 0 <= value <= _MAX_UINT32:
            frame[key] = value
            continue
        number = integer(value, f"{_frame_path(prefix, index)}.{key}", errors)
        # Stored as UInt32; anything outside that is not a real position anyway.
        if number is not None and not 0 <= number <= _MAX_UINT32:
            errors.invalid(f"{_frame_path(prefix, index)}.{key}", number)
        elif number is not None:
            frame[key] = number
    in_app = raw.get("in_app")
    if in_app is True or in_app is False:
        frame["in_app"] = in_app
    elif in_app is not None:
        flag = boolean(in_app, f"{_frame_path(prefix, index)}.in_app", errors)
        if flag is not None:
            frame["in_app"] = flag
    _frame_source(raw, frame, prefix, index, errors)
    return frame


def _frame_source(raw: JsonDict, frame: JsonDict, prefix: str, index: int,
                  errors: ErrorLog) -> None:
    """The frame's ``context_line``, ``pre_context``, ``post_context`` and ``vars``."""
    context_line = raw.get("context_line")
    if type(context_line) is str and len(context_line) <= _CONTEXT_TEXT:
        frame["context_line"] = context_line
    elif context_line is not None:
        text = string(context_line, f"{_frame_path(prefix, index)}.context_line", errors,
                      _CONTEXT_TEXT)
        if text is not None:
            frame["context_line"] = text
    for key in ("pre_context", "post_context"):
        value = raw.get(key)
        if value is None:
            continue
        lines = value if _is_short_text_list(value, _CONTEXT_TEXT) else string_list(
            value, f"{_frame_path(prefix, index)}.{key}", errors, _CONTEXT_TEXT)
        if lines:
            frame[key] = lines[-_MAX_CONTEXT_LINES:] if key == "pre_context" else lines[
                :_MAX_CONTEXT_LINES
            ]
    frame_vars = raw.get("vars")
    if type(frame_vars) is dict:
        frame["vars"] = frame_vars
    elif frame_vars is not None:
        errors.invalid(f"{_frame_path(prefix, index)}.vars", frame_vars)


def normalize_stacktrace(raw: object, path: str, errors: ErrorLog) -> JsonDict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("frames"), list):
        errors.invalid(path, raw)
        return None
    frames_raw: list[Any] = raw["frames"]
    result: JsonDict = {}
    if len(frames_raw) > MAX_FRAMES:
        # Keep both ends: the entry point and where it failed matter most.
        half = MAX_FRAMES // 2
        result["frames_omitted"] = [half, len(frames_raw) - half]
        frames_raw = frames_raw[:half] + frames_raw[-half:]
    frames = []
    prefix = f"{path}.frames."
    for i, raw_frame in enumerate(frames_raw):
        frame = normalize_frame(raw_frame, prefix, i, errors)
        if frame is not None:
            frames.append(frame)
    result["frames"] = frames
    return result if frames else None


def normalize_mechanism(raw: object, path: str, errors: ErrorLog) -> JsonDict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.invalid(path, raw)
        return None
    mechanism = dict(raw)
    mechanism_type = raw.get("type")
    if type(mechanism_type) is not str or len(mechanism_type) > _MAX_SHORT:
        mechanism_type = string(mechanism_type, f"{path}.type", errors, _MAX_SHORT)
    mechanism["type"] = mechanism_type or "generic"
    for key in ("handled", "synthetic"):
        flag = raw.get(key)
        if flag is True or flag is False:
            continue  # kept as sent (the common case: no path to format)
        flag = boolean(flag, f"{path}.{key}", errors)
        if flag is None:
            mechanism.pop(key, None)
        else:
            mechanism[key] = flag
    return mechanism


def normalize_exception_value(raw: object, path: str, errors: ErrorLog) -> JsonDict | None:
    if not isinstance(raw, dict):
        errors.invalid(path, raw)
        return None
    exc_type = raw.get("type")
    if exc_type is not None and (type(exc_type) is not str or len(exc_type) > _MAX_SHORT):
        exc_type = string(exc_type, f"{path}.type", errors, _MAX_SHORT)
    value = raw.get("value")
    exc_value = None if value is None else truncate(to_text(value), MAX_MESSAGE)
    if exc_type and exc_value is None:
        split = _TYPE_WITH_VALUE.fullmatch(exc_type)
        if split:
            exc_type, exc_value = split.group(1), split.group(2)
    exc: JsonDict = {"type": exc_type, "value": exc_value}
    module = raw.get("module")
    if module is not None and (type(module) is not str or len(module) > _MAX_SHORT):
        module = string(module, f"{path}.module", errors, _MAX_SHORT)
    if module is not None:
        exc["module"] = module
    thread_id = raw.get("thread_id")
    if isinstance(thread_id, int | str) and not isinstance(thread_id, bool):
        exc["thread_id"] = thread_id
    mechanism = normalize_mechanism(raw.get("mechanism"), f"{path}.mechanism", errors)
    if mechanism is not None:
        exc["mechanism"] = mechanism
    stacktrace = normalize_stacktrace(raw.get("stacktrace"), f"{path}.stacktrace", errors)
    if stacktrace is not None:
        exc["stacktrace"] = stacktrace
    if not exc_type and not exc_value and stacktrace is None:
        errors.invalid(path, raw)
        return None
    return exc


def normalize_exception(raw: object, errors: ErrorLog) -> JsonDict | None:
    if isinstance(raw, dict) and "values" not in raw and ("type" in raw or "value" in raw):
        raw = [raw]  # a single exception object, as very old clients send
    values = as_values(raw, "exception", errors)
    if not values:
        return None
    values = values[-MAX_EXCEPTIONS:]
    normalized = [
        normalize_exception_value(v, f"exception.values.{i}", errors) for i, v in enumerate(values)
    ]
    kept = [v for v in normalized if v is not None]
    return {"values": kept} if kept else None


def normalize_threads(raw: object, errors: ErrorLog) -> JsonDict | None:
    values = as_values(raw, "threads", errors)
    if not values:
        return None
    threads: list[JsonDict] = []
    for i, thread in enumerate(values[:MAX_EXCEPTIONS]):
        path = f"threads.values.{i}"
        if not isinstance(thread, dict):
            errors.invalid(path, thread)
            continue
        out: JsonDict = {}
        if isinstance(thread.get("id"), int | str) and not isinstance(thread.get("id"), bool):
            out["id"] = thread["id"]
        name = string(thread.get("name"), f"{path}.name", errors, _MAX_SHORT)
        if name is not None:
            out["name"] = name
        for key in ("crashed", "current", "main"):
            flag = boolean(thread.get(key), f"{path}.{key}", errors)
            if flag is not None:
                out[key] = flag
        stacktrace = normalize_stacktrace(thread.get("stacktrace"), f"{path}.stacktrace", errors)
        if stacktrace is not None:
            out["stacktrace"] = stacktrace
        threads.append(out)
    return {"values": threads} if threads else None


def _logentry_fields(raw: object, path: str, errors: ErrorLog) -> JsonDict:
    if isinstance(raw, str):
        return {"formatted": raw}
    if not isinstance(raw, dict):
        errors.invalid(path, raw)
        return {}
    entry: JsonDict = {}
    for key in ("formatted", "message"):
        text = string(raw.get(key), f"{path}.{key}", errors, MAX_MESSAGE)
        if text:
            entry[key] = text
    params = raw.get("params")
    if isinstance(params, list | dict) and params:
        entry["params"] = params
    elif params is not None and not isinstance(params, list | dict):
        errors.invalid(f"{path}.params", params)
    return entry


def normalize_logentry(logentry: object, message: object, errors: ErrorLog) -> JsonDict | None:
    """Merge ``logentry`` and the legacy ``message`` field into one logentry.

    ``logentry`` wins; a ``message`` string fills a missing ``formatted``. When only the
    template is known, its parameters are formatted into it.
    """
    entry = {} if logentry is None else _logentry_fields(logentry, "logentry", errors)
    if message is not None:
        legacy = _logentry_fields(message, "message", errors)
        for key, value in legacy.items():
            entry.setdefault(key, value)
    if "formatted" not in entry and "message" in entry:
        template = entry["message"]
        params = entry.get("params")
        entry["formatted"] = truncate(format_message(template, params), MAX_MESSAGE) if (
            params
        ) else template
    if entry.get("formatted") == entry.get("message") and "params" not in entry:
        entry.pop("message", None)
    return entry or None


def normalize_ip(value: object, client_ip: str | None, path: str, errors: ErrorLog) -> str | None:
    if value is None:
        return None
    if value == "{{auto}}":
        return client_ip
    if isinstance(value, str):
        try:
            return str(ipaddress.ip_address(value.strip()))
        except ValueError:
            pass
    errors.invalid(path, value)
    return None


_USER_STRINGS: Final = ("id", "username", "email", "name", "segment")
_USER_KNOWN: Final = frozenset(_USER_STRINGS + ("ip_address", "geo", "data"))


def normalize_user(
    raw: object, client_ip: str | None, remote_addr: object, errors: ErrorLog
) -> JsonDict | None:
    """The user; ``{{auto}}`` or a missing ip falls back to the client / REMOTE_ADDR."""
    if not isinstance(raw, dict):
        if raw is not None:
            errors.invalid("user", raw)
        raw = {}
    user: JsonDict = {}
    for key in _USER_STRINGS:
        text = string(raw.get(key), f"user.{key}", errors, _MAX_SHORT)
        if text:
            user[key] = text
    ip = normalize_ip(raw.get("ip_address"), client_ip, "user.ip_address", errors)
    if ip is None and "ip_address" not in raw and remote_addr is not None:
        # Only a fallback: a non-IP REMOTE_ADDR (test clients, sockets) is not an error.
        ip = normalize_ip(remote_addr, None, "request.env.REMOTE_ADDR", ErrorLog())
    if ip:
        user["ip_address"] = ip
    for key in ("geo", "data"):
        value = mapping(raw.get(key), f"user.{key}", errors)
        if value:
            user[key] = value
    # Sentry keeps unknown user attributes under `data`.
    other = {k: v for k, v in raw.items() if k not in _USER_KNOWN and v is not None}
    if other:
        user["data"] = {**user.get("data", {}), **other}
    return user or None
