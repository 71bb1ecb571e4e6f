"""Lenient value coercion for event normalisation (pure).

Each coercer takes a raw JSON value and the field's path, returns the normalised value or
``None``, and records a Sentry-shaped processing error in an :class:`ErrorLog` when it
had to drop something. Nothing here raises on bad input.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl

MAX_ERRORS: Final = 50
_MAX_ERROR_VALUE: Final = 200
_MAX_TIMESTAMP_TEXT: Final = 64
_MAX_PAIRS: Final = 500

JsonDict = dict[str, Any]


class ErrorLog:
    """Collects ``{"type", "name", "value"}`` processing errors, capped in number."""

    def __init__(self) -> None:
        self.items: list[JsonDict] = []

    def add(self, error_type: str, name: str, value: object = None) -> None:
        if len(self.items) < MAX_ERRORS:
            self.items.append({"type": error_type, "name": name, "value": short_value(value)})

    def invalid(self, name: str, value: object) -> None:
        self.add("invalid_data", name, value)


def short_value(value: object) -> object:
    """A JSON-safe, length-capped rendering of an offending value for ``errors``."""
    if value is None or isinstance(value, bool | int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, str):
        return truncate(value, _MAX_ERROR_VALUE)
    try:
        text = json.dumps(value, ensure_ascii=False, default=repr)
    except (ValueError, RecursionError):
        text = repr(type(value))
    return truncate(text, _MAX_ERROR_VALUE)


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def to_text(value: object) -> str:
    """Render a parameter or tag value: strings as-is, everything else as JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False)
    except (ValueError, TypeError, RecursionError):
        return repr(value)


def string(value: object, path: str, errors: ErrorLog, limit: int = 8192) -> str | None:
    """A string field; numbers are stringified, containers are dropped with an error."""
    if value is None:
        return None
    if isinstance(value, str):  # truncate() inlined: this runs for most fields
        return value if len(value) <= limit else value[: limit - 3] + "..."
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return truncate(str(value), limit)
    errors.invalid(path, value)
    return None


def integer(value: object, path: str, errors: ErrorLog) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        return int(value)
    errors.invalid(path, value)
    return None


def boolean(value: object, path: str, errors: ErrorLog) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    errors.invalid(path, value)
    return None


def mapping(value: object, path: str, errors: ErrorLog) -> JsonDict | None:
    """A JSON object field kept as-is (keys are strings by construction of JSON)."""
    if value is None:
        return None
    if isinstance(value, dict):
        return value
    errors.invalid(path, value)
    return None


def string_list(value: object, path: str, errors: ErrorLog, limit: int = 8192) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        errors.invalid(path, value)
        return []
    items = [string(item, f"{path}.{i}", errors, limit) for i, item in enumerate(value)]
    return [item for item in items if item is not None]


def _pair_items(value: object, path: str, errors: ErrorLog) -> Iterable[tuple[object, object]]:
    if isinstance(value, dict):
        return value.items()
    pairs: list[tuple[object, object]] = []
    if isinstance(value, list):
        for i, pair in enumerate(value):
            if isinstance(pair, list | tuple) and len(pair) == 2:
                pairs.append((pair[0], pair[1]))
            else:
                errors.invalid(f"{path}.{i}", pair)
        return pairs
    errors.invalid(path, value)
    return pairs


def pair_list(
    value: object, path: str, errors: ErrorLog, limit: int = 8192
) -> list[list[str]] | None:
    """A dict or list of ``[key, value]`` pairs as ``[[key, value], …]`` strings.

    ``None`` values are dropped silently (SDKs send them for unset keys); keys that are
    not strings or scalar-less values are dropped with an error.
    """
    if value is None:
        return None
    result: list[list[str]] = []
    for key, item in _pair_items(value, path, errors):
        if len(result) >= _MAX_PAIRS:
            errors.add("too_many_values", path, f"kept the first {_MAX_PAIRS}")
            break
        if not isinstance(key, str) or not key:
            errors.invalid(path, key)
            continue
        if item is None:
            continue
        text = item if isinstance(item, str) else to_text(item)
        result.append([truncate(key, limit), truncate(text, limit)])
    return result


def query_pairs(value: object, path: str, errors: ErrorLog) -> list[list[str]] | None:
    """A query string given as text (``a=1&b=2``), a dict or pairs."""
    if isinstance(value, str):
        text = value[1:] if value.startswith("?") else value
        # parse_qsl's own max_num_fields raises instead of truncating.
        fields = text.split("&", _MAX_PAIRS)
        if len(fields) > _MAX_PAIRS:
            errors.add("too_many_values", path, f"kept the first {_MAX_PAIRS}")
            fields.pop()
        if "%" not in text and "+" not in text:
            # What parse_qsl returns when there is nothing to unquote, at a fraction of
            # its cost (it is pure Python).
            return [[name, value] for field in fields if field
                    for name, _, value in (field.partition("="),)]
        parsed = parse_qsl("&".join(fields), keep_blank_values=True)
        return [[k, v] for k, v in parsed]
    return pair_list(value, path, errors)


def cookie_pairs(value: object, path: str, errors: ErrorLog) -> list[list[str]] | None:
    """Cookies given as a ``Cookie`` header string (``a=1; b=2``), a dict or pairs."""
    if isinstance(value, str):
        pairs = []
        for part in value.split(";")[:_MAX_PAIRS]:
            key, _, item = part.partition("=")
            if key.strip():
                pairs.append([key.strip(), item.strip()])
        return pairs
    return pair_list(value, path, errors)


def parse_timestamp(value: object) -> float | None:
    """Epoch seconds from an RFC 3339 string, a numeric string or a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and len(value) <= _MAX_TIMESTAMP_TEXT:
        seconds_or_none = _parse_timestamp_text(value.strip())
        if seconds_or_none is None:
            return None
        seconds = seconds_or_none
    else:
        return None
    # Beyond year 9999 datetime cannot represent it; negative epochs are nonsense here.
    if not math.isfinite(seconds) or not 0 <= seconds < 253402300800:
        return None
    return seconds


def _parse_timestamp_text(text: str) -> float | None:
    # "2024-01-02…" can never be a float (two minus signs past the first character), so
    # skip the attempt: a raised ValueError costs more than the ISO parse itself.
    if not (len(text) >= 10 and text[4] == "-" and text[7] == "-"):
        try:
            return float(text)
        except ValueError:
            pass
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        # RFC 3339 requires an offset; SDKs that omit it mean UTC.
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


_MAX_EPOCH: Final = 253402300800.0  # 10000-01-01: beyond what datetime represents


def iso_timestamp(seconds: float) -> str:
    """``2024-01-02T03:04:05.123456Z`` for epoch seconds, exactly as
    ``iso_datetime(datetime.fromtimestamp(seconds, UTC))`` renders it."""
    if not 0.0 <= seconds < _MAX_EPOCH:
        return iso_datetime(datetime.fromtimestamp(seconds, UTC))
    # datetime.fromtimestamp's own rounding: the fraction to the microsecond, half to even.
    fraction, whole = math.modf(seconds)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        micros -= 1_000_000
        whole += 1.0
    # str(1000000 + micros)[1:] zero-pads without a format spec, which costs more.
    second = int(whole)
    text = _ISO_SECONDS.get(second)
    if text is None:
        if len(_ISO_SECONDS) >= 4096:
            _ISO_SECONDS.clear()
        text = _ISO_SECONDS[second] = datetime.fromtimestamp(second, UTC).isoformat()[:19]
    return text + "." + str(1_000_000 + micros)[1:] + "Z"


# "2024-01-02T03:04:05" by epoch second: an event's breadcrumbs share a few seconds, and
# formatting a datetime costs more than the rest of a breadcrumb.
_ISO_SECONDS: Final[dict[int, str]] = {}


def iso_datetime(moment: datetime) -> str:
    """``2024-01-02T03:04:05.123456Z`` for an aware UTC datetime."""
    if moment.year < 1000:  # strftime does not zero-pad such years, isoformat would
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    # isoformat is a third faster than strftime, and identical for these years.
    return moment.isoformat(timespec="microseconds")[:-6] + "Z"


_PERCENT_PLACEHOLDER: Final = re.compile(
    r"%%|%(?:\(([\w.-]{1,64})\))?[-#0 +]{0,5}\d{0,4}(?:\.\d{1,4})?[sdifrxXeEgGcuoa]"
)
_BRACE_PLACEHOLDER: Final = re.compile(r"\{(\d{0,4}|[A-Za-z_]\w{0,63})\}")


def format_message(template: str, params: object) -> str:
    """Fill ``%s`` / ``%(name)s`` or ``{}`` / ``{0}`` / ``{name}`` placeholders.

    A placeholder without a matching parameter is left as written. This never calls
    ``%`` or ``str.format`` on untrusted input (width specifiers could allocate
    gigabytes, attribute lookups could reach internals).
    """
    positional = params if isinstance(params, list) else []
    named = params if isinstance(params, dict) else {}
    counter = 0

    def fill(name: str | None, whole: str) -> str:
        nonlocal counter
        if name:
            if name.isdigit():
                index = int(name)
                return to_text(positional[index]) if index < len(positional) else whole
            return to_text(named[name]) if name in named else whole
        if counter < len(positional):
            counter += 1
            return to_text(positional[counter - 1])
        return whole

    if _PERCENT_PLACEHOLDER.search(template):
        return _PERCENT_PLACEHOLDER.sub(
            lambda m: "%" if m.group(0) == "%%" else fill(m.group(1), m.group(0)), template
        )
    return _BRACE_PLACEHOLDER.sub(lambda m: fill(m.group(1), m.group(0)), template)
