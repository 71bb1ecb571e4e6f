"""Event normalisation: raw SDK payload → :class:`NormalizedEvent` (pure).

Lenient by design, as Sentry is: only a payload that is not a JSON object is rejected
(:class:`InvalidEvent`). A malformed sub-field is dropped and recorded in the event's
``errors`` as ``{"type": "invalid_data", "name": "<field path>", "value": …}``.

The result's ``data`` is the event in Sentry's canonical JSON shape (what the web API
returns): ``exception``/``breadcrumbs``/``threads`` as ``{"values": [...]}``, request
headers, cookies, query and ``tags`` as ``[key, value]`` pairs, ISO ``timestamp`` and
``received``, plus the derived ``title``, ``culprit``, ``metadata`` and ``type``.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime
from typing import Any, Final

import orjson

from faultline_core.envelope import parse_event_id
from faultline_core.event import NormalizedEvent, UserInfo
from faultline_core.event_summary import (
    event_message,
    event_title_culprit_metadata,
    flatten_contexts,
    promoted_tags,
)
from faultline_core.normalize_context import (
    env_remote_addr,
    normalize_breadcrumbs,
    normalize_contexts,
    normalize_fingerprint,
    normalize_request,
    normalize_sdk,
    normalize_string_map,
    normalize_tags,
    user_agent_of,
)
from faultline_core.normalize_interfaces import (
    normalize_exception,
    normalize_level,
    normalize_logentry,
    normalize_stacktrace,
    normalize_threads,
    normalize_user,
)
from faultline_core.normalize_values import (
    ErrorLog,
    JsonDict,
    iso_timestamp,
    mapping,
    parse_timestamp,
    string,
)

MAX_FUTURE_SECONDS: Final = 60.0
MAX_PAST_SECONDS: Final = 30 * 24 * 3600.0
_ESCAPED_SURROGATE: Final = re.compile(rb"\\u[dD][89a-fA-F]")

# (field, max length): plain string attributes copied when present.
_TOP_LEVEL_STRINGS: Final = (
    ("logger", 64),
    ("transaction", 200),
    ("server_name", 256),
    ("release", 200),
    ("dist", 64),
)


class InvalidEvent(ValueError):
    """The payload is not a JSON object at all, so there is no event to salvage."""


def _non_finite_to_null(_constant: str) -> None:
    # Python's json accepts NaN/Infinity, which no consumer of `data` could re-encode.
    return None


def _finite_float(text: str) -> float | None:
    value = float(text)  # "1e999" parses to inf
    return value if math.isfinite(value) else None


_JSON_HOOKS: Final[dict[str, Any]] = {
    "parse_constant": _non_finite_to_null,
    "parse_float": _finite_float,
}


def _json_decode(payload: bytes) -> Any:
    """Python's json with the hooks above; raises ValueError/RecursionError."""
    try:
        return json.loads(payload, **_JSON_HOOKS)
    except UnicodeDecodeError:
        return json.loads(payload.decode("utf-8", "replace"), **_JSON_HOOKS)


# For the orjson fast path: digits → "0" and "{" → "[", so one translate answers both
# "could this hold an integer orjson would turn into a float?" and "how deep could it nest?".
_SHAPE: Final = bytes(ord("0") if ord("0") <= i <= ord("9") else ord("[") if i == ord("{") else i
               for i in range(256))
_LONG_NUMBER: Final = b"0" * 19
# Depth can never exceed the number of "[" and "{": below this, Python's json (whose limit
# is the interpreter's recursion limit, 1000 less the caller's stack) would not refuse it.
_MAX_FAST_BRACKETS: Final = 800
_FAST_MIN_BRACKET_BYTES: Final = 2 * _MAX_FAST_BRACKETS


def _fast_decode(payload: bytes) -> Any:
    """orjson where it is sure to agree with :func:`_json_decode`, else ``None``.

    orjson is about twice as fast but differs at the edges, where this defers to json:
    it refuses NaN/Infinity, ``1e999``, lone surrogate escapes, invalid UTF-8 and a BOM
    (json's path cleans or decodes those), nests up to 1024 deep (json refuses past its
    recursion limit), and turns integers beyond 64 bits into floats (a run of 19 digits
    anywhere sends the payload to json). A JSON ``null`` document also takes json's path.
    """
    shape = payload.translate(_SHAPE)
    if _LONG_NUMBER in shape:
        return None
    if len(payload) > _FAST_MIN_BRACKET_BYTES and shape.count(b"[") > _MAX_FAST_BRACKETS:
        return None
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None


def load_payload(payload: bytes | dict[str, Any]) -> JsonDict:
    """Decode the SDK's JSON; raise :class:`InvalidEvent` unless it is an object."""
    if isinstance(payload, dict):
        # A caller's dict may hold what JSON bytes cannot (NaN, lone surrogates); the
        # bytes path below cleans those, so send the dict through it.
        try:
            payload = json.dumps(payload).encode()
        except (TypeError, ValueError, RecursionError) as exc:
            raise InvalidEvent(f"event payload is not JSON-serialisable: {exc}") from exc
    raw = _fast_decode(payload)
    if isinstance(raw, dict):
        return raw  # orjson accepted it: no NaN, no lone surrogate left to clean
    try:
        raw = _json_decode(payload)
    except (ValueError, RecursionError) as exc:
        raise InvalidEvent(f"event payload is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidEvent(f"event payload is a JSON {type(raw).__name__}, not an object")
    if _ESCAPED_SURROGATE.search(payload):
        # A lone "\ud800" decodes to a str that cannot be encoded to UTF-8 later.
        encoded = json.dumps(raw, ensure_ascii=False).encode("utf-8", "replace")
        raw = json.loads(encoded)
    return raw  # type: ignore[no-any-return]  # checked to be a dict above


def _timestamp(raw: JsonDict, received_at: float, errors: ErrorLog) -> float:
    """The event time, clamped like Sentry's: too far ahead or behind → received time."""
    value = raw.get("timestamp")
    if value is None:
        return received_at
    seconds = parse_timestamp(value)
    if seconds is None:
        errors.invalid("timestamp", value)
        return received_at
    if seconds > received_at + MAX_FUTURE_SECONDS:
        errors.add("future_timestamp", "timestamp", iso_timestamp(seconds))
        return received_at
    if seconds < received_at - MAX_PAST_SECONDS:
        errors.add("past_timestamp", "timestamp", iso_timestamp(seconds))
        return received_at
    return seconds


def _basic_fields(raw: JsonDict, errors: ErrorLog) -> JsonDict:
    data: JsonDict = {
        "level": normalize_level(raw.get("level"), "level", errors, "error"),
        "platform": string(raw.get("platform"), "platform", errors, 64) or "other",
    }
    for key, limit in _TOP_LEVEL_STRINGS:
        text = string(raw.get(key), key, errors, limit)
        if text:
            data[key] = text.strip()
    environment = string(raw.get("environment"), "environment", errors, 64)
    data["environment"] = (environment or "").strip() or "production"
    return data


def _interfaces(raw: JsonDict, client_ip: str | None, errors: ErrorLog) -> JsonDict:
    request = normalize_request(raw.get("request"), errors)
    found: JsonDict = {
        "logentry": normalize_logentry(raw.get("logentry"), raw.get("message"), errors),
        "exception": normalize_exception(raw.get("exception"), errors),
        "threads": normalize_threads(raw.get("threads"), errors),
        "stacktrace": normalize_stacktrace(raw.get("stacktrace"), "stacktrace", errors),
        "request": request,
        "user": normalize_user(raw.get("user"), client_ip, env_remote_addr(request), errors),
        "contexts": normalize_contexts(raw.get("contexts"), user_agent_of(request), errors),
        "breadcrumbs": normalize_breadcrumbs(raw.get("breadcrumbs"), errors),
        "extra": mapping(raw.get("extra"), "extra", errors),
        "modules": normalize_string_map(raw.get("modules"), "modules", errors),
        "fingerprint": normalize_fingerprint(raw.get("fingerprint"), errors),
        "sdk": normalize_sdk(raw.get("sdk"), errors),
        # The relay's security endpoint puts a CSP report's fields here (Sentry's "csp").
        "csp": normalize_string_map(raw.get("csp"), "csp", errors),
    }
    return {key: value for key, value in found.items() if value}


def _user_info(user: JsonDict | None) -> UserInfo:
    user = user or {}
    return UserInfo(
        id=user.get("id", ""),
        username=user.get("username", ""),
        email=user.get("email", ""),
        ip_address=user.get("ip_address", ""),
    )


def _datetime(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def normalize_event(
    project_id: int,
    event_id: str,
    payload: bytes | dict[str, Any],
    received_at: float,
    client_ip: str | None,
) -> NormalizedEvent:
    """Normalise one error event.

    ``event_id`` is the id the relay accepted (32-hex or dashed); it wins over the
    payload's own. ``received_at`` (epoch seconds) replaces a missing, malformed or
    implausible timestamp, so reprocessing the same message gives the same event.
    Raises :class:`InvalidEvent` for a non-object payload, an invalid ``event_id`` or a
    ``received_at`` that is not a plausible epoch time.
    """
    normalized_id = parse_event_id(event_id)
    if normalized_id is None:
        raise InvalidEvent(f"invalid event id {event_id!r}")
    if parse_timestamp(received_at) is None:
        raise InvalidEvent(f"invalid received_at {received_at!r}")
    raw = load_payload(payload)
    errors = ErrorLog()
    seconds = _timestamp(raw, received_at, errors)
    data: JsonDict = {"event_id": normalized_id, **_basic_fields(raw, errors)}
    data.update(_interfaces(raw, client_ip, errors))
    times = (_datetime(seconds), _datetime(received_at))
    data["timestamp"] = iso_timestamp(seconds)
    data["received"] = iso_timestamp(received_at)
    data["type"] = "error" if "exception" in data else "default"
    explicit_culprit = string(raw.get("culprit"), "culprit", errors, 200)
    data.update(event_title_culprit_metadata(data, explicit_culprit))
    user = _user_info(data.get("user"))
    tags = promoted_tags(data, normalize_tags(raw.get("tags"), errors), user)
    data["tags"] = [list(pair) for pair in tags]
    data["errors"] = errors.items
    return _to_event(project_id, data, user, tags, times)


def _to_event(
    project_id: int,
    data: JsonDict,
    user: UserInfo,
    tags: tuple[tuple[str, str], ...],
    times: tuple[datetime, datetime],
) -> NormalizedEvent:
    """Build the event from its normalised ``data`` (``times``: event, received)."""
    return NormalizedEvent(
        project_id=project_id,
        event_id=data["event_id"],
        timestamp=times[0],
        received=times[1],
        platform=data["platform"],
        level=data["level"],
        environment=data["environment"],
        release=data.get("release", ""),
        dist=data.get("dist", ""),
        logger=data.get("logger", ""),
        transaction=data.get("transaction", ""),
        server_name=data.get("server_name", ""),
        title=data["title"],
        culprit=data["culprit"],
        message=event_message(data),
        user=user,
        tags=tags,
        contexts=flatten_contexts(data.get("contexts") or {}),
        data=data,
        errors=tuple(data["errors"]),
    )
