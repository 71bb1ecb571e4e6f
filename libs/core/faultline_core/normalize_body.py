"""Parsing a request body that an SDK sent as text, the way Sentry's Relay does (pure).

sentry-go, @sentry/node, sentry-ruby and others put a JSON or form body into
``request.data`` as the raw string. Relay turns such a string into structured data and
records what it found in ``request.inferred_content_type``:

* valid JSON → the parsed value, ``application/json``;
* otherwise an ASCII ``a=1&b=2`` form body → ``{key: value}`` (a repeated key keeps its
  last value, as Relay's decoder does), ``application/x-www-form-urlencoded``;
* otherwise the body stays a string and the inferred type is the ``Content-Type``
  header's media type.

Unlike Relay, a bare JSON scalar (``"42"``, ``"true"``) is only parsed when the
``Content-Type`` says JSON: as free text it is far more likely to be a plain-text body.
Bodies above :data:`MAX_PARSED_BODY` characters or nested deeper than
:data:`MAX_BODY_DEPTH` stay strings, so one event cannot make the processor build (or
later re-serialise) an unbounded structure.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final
from urllib.parse import parse_qsl

JSON_TYPE: Final = "application/json"
FORM_TYPE: Final = "application/x-www-form-urlencoded"
# SDKs cap bodies far below this (sentry-ruby 16 KiB, sentry-python 10 KB by default).
MAX_PARSED_BODY: Final = 256 * 1024
MAX_BODY_DEPTH: Final = 32
_MAX_FORM_FIELDS: Final = 500
_LONE_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")


class _NotJson(ValueError):
    """NaN/Infinity: Python accepts them, JSON (and so Relay) does not."""


def _reject_constant(name: str) -> Any:
    raise _NotJson(name)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # "1e999"
        raise _NotJson(text)
    return value


def _depth_within(value: object, limit: int) -> bool:
    """Whether ``value`` nests at most ``limit`` containers deep (iterative: no recursion)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def _has_lone_surrogate(value: object) -> bool:
    """A ``"\\ud800"`` escape decodes to a str that cannot be encoded as UTF-8 later."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str) and _LONE_SURROGATE.search(item):
            return True
        if isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def _json_body(text: str, declared_json: bool) -> tuple[bool, Any]:
    """``(True, value)`` when ``text`` is a JSON body worth parsing, else ``(False, None)``."""
    stripped = text.strip()
    if not declared_json and not stripped.startswith(("{", "[")):
        return False, None
    try:
        value = json.loads(stripped, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError):  # JSONDecodeError and _NotJson are ValueErrors
        return False, None
    if not _depth_within(value, MAX_BODY_DEPTH) or _has_lone_surrogate(value):
        return False, None
    return True, value


def _form_body(text: str) -> dict[str, str] | None:
    """An ``a=1&b=2`` body as a dict, with Relay's guards against false positives."""
    if not text.isascii() or text.startswith(("<?xml", "{", "[")):
        return None
    fields = text.split("&")
    if len(fields) > _MAX_FORM_FIELDS:
        return None
    # Lenient like Relay's decoder: a field without "=" is a key with an empty value.
    form = dict(parse_qsl(text, keep_blank_values=True))
    # "foo" parses as {"foo": ""} and base64 "dA==" as {"dA": "="}: not forms.
    if len(form) == 1 and next(iter(form.values())) in ("", "="):
        return None
    return form or None


def media_type(content_type: str | None) -> str | None:
    """``application/json`` for ``application/json; charset=utf-8``; None when absent."""
    if not content_type:
        return None
    found = content_type.split(";", 1)[0].strip().lower()
    return found or None


def parse_body(data: object, content_type: str | None) -> tuple[object, str | None]:
    """The body to store and its inferred content type, given the ``Content-Type`` header.

    Only string bodies are parsed; anything else (already structured) is returned as it
    came with the header's media type, as Relay does.
    """
    declared = media_type(content_type)
    if not isinstance(data, str) or len(data) > MAX_PARSED_BODY:
        return data, declared
    declared_json = declared is not None and (declared == JSON_TYPE or declared.endswith("+json"))
    parsed, value = _json_body(data, declared_json)
    if parsed:
        return value, JSON_TYPE
    form = _form_body(data)
    if form is not None:
        return form, FORM_TYPE
    return data, declared
