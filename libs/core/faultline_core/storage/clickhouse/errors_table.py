"""One ``errors`` row (see ``migrations/clickhouse/0001_errors.sql``) from a normalised event.

Pure: no I/O. The row is positional, in :data:`ERRORS_COLUMNS` order, and is what
:meth:`ClickHouse.insert` takes. Nested columns are parallel arrays.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import orjson

from faultline_core.event import NormalizedEvent

ERRORS_COLUMNS: tuple[str, ...] = (
    "project_id",
    "timestamp",
    "timestamp_ms",
    "event_id",
    "group_id",
    "primary_hash",
    "received",
    "platform",
    "level",
    "environment",
    "release",
    "dist",
    "logger",
    "transaction_name",
    "server_name",
    "title",
    "culprit",
    "message",
    "user_id",
    "user_name",
    "user_email",
    "ip_address",
    "user_key",
    "sdk_name",
    "sdk_version",
    "http_method",
    "http_url",
    "browser_name",
    "browser",
    "os_name",
    "os",
    "runtime",
    "exception_type",
    "exception_value",
    "handled",
    "tags.key",
    "tags.value",
    "contexts.key",
    "contexts.value",
    "exception_frames.filename",
    "exception_frames.function",
    "exception_frames.module",
    "exception_frames.lineno",
    "exception_frames.in_app",
    "data",
    "retention_days",
    "deleted",
)

_UINT32_MAX = 2**32 - 1


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def last_exception(data: Mapping[str, Any]) -> Mapping[str, Any]:
    """The newest exception of the chain (values run oldest to newest), or ``{}``."""
    exception = data.get("exception")
    values = exception.get("values") if isinstance(exception, Mapping) else exception
    if isinstance(values, list):
        for value in reversed(values):
            if isinstance(value, Mapping):
                return value
    return {}


def is_handled(exception: Mapping[str, Any], handled_tag: str) -> int:
    """0 only when the SDK said the exception was not handled; unknown counts as handled."""
    handled = _mapping(exception.get("mechanism")).get("handled")
    if isinstance(handled, bool):
        return int(handled)
    return 0 if handled_tag == "no" else 1


def _lineno(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _UINT32_MAX:
        return value
    return 0


def frame_columns(exception: Mapping[str, Any]) -> tuple[list[Any], ...]:
    """The ``exception_frames`` arrays: filename, function, module, lineno, in_app."""
    frames = _mapping(exception.get("stacktrace")).get("frames")
    filenames: list[Any] = []
    functions: list[Any] = []
    modules: list[Any] = []
    linenos: list[Any] = []
    in_app: list[Any] = []
    for frame in frames if isinstance(frames, list) else []:
        if not isinstance(frame, Mapping):
            continue
        filenames.append(_text(frame.get("filename") or frame.get("abs_path")))
        functions.append(_text(frame.get("function")))
        modules.append(_text(frame.get("module")))
        linenos.append(_lineno(frame.get("lineno")))
        in_app.append(1 if frame.get("in_app") is True else 0)
    return filenames, functions, modules, linenos, in_app


def encode_event_data(data: dict[str, Any]) -> str:
    """The normalised event as compact JSON for the ``data`` column.

    orjson first: the stdlib encoder was the processor's single largest cost. It refuses
    what the stdlib tolerates (lone surrogates, integers beyond 64 bits), so those fall back.
    """
    try:
        options = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME
        return orjson.dumps(data, default=str, option=options).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(data, separators=(",", ":"), default=str)


def errors_row(
    event: NormalizedEvent, group_id: int, primary_hash: str, retention_days: int = 90
) -> tuple[Any, ...]:
    """The row for ``event`` in the ``errors`` table, in :data:`ERRORS_COLUMNS` order."""
    data = event.data
    sdk = _mapping(data.get("sdk"))
    request = _mapping(data.get("request"))
    exception = last_exception(data)
    user = event.user
    return (
        event.project_id, event.timestamp, event.timestamp.microsecond // 1000, event.event_id,
        group_id, primary_hash, event.received,
        event.platform, event.level, event.environment, event.release, event.dist,
        event.logger, event.transaction, event.server_name,
        event.title, event.culprit, event.message,
        user.id, user.username, user.email, user.ip_address, user.key,
        _text(sdk.get("name")), _text(sdk.get("version")),
        _text(request.get("method")).upper(), _text(request.get("url")),
        event.tag("browser.name"), event.tag("browser"),
        event.tag("os.name"), event.tag("os"), event.tag("runtime"),
        _text(exception.get("type")), _text(exception.get("value")),
        is_handled(exception, event.tag("handled")),
        [k for k, _ in event.tags], [v for _, v in event.tags],
        [k for k, _ in event.contexts], [v for _, v in event.contexts],
        *frame_columns(exception),
        encode_event_data(data),
        retention_days,
        0,
    )
