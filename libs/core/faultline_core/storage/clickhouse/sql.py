"""Client-side rendering of ``%(name)s`` parameters into ClickHouse SQL literals.

Both adapters send fully rendered SQL, so a query behaves the same on chDB (which has no
``%(name)s`` support) and on a server reached through clickhouse-driver. ClickHouse 18.16
also lacks server-side ``{name:Type}`` parameters, which rules those out.

Every value becomes a self-contained literal: strings are quoted with all quote and
backslash characters escaped, so no parameter value can end the literal early.
"""

from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

_PLACEHOLDER = re.compile(r"%%|%\(([A-Za-z_][A-Za-z0-9_]*)\)s")
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")
_STRING_ESCAPES = {
    "\\": "\\\\",
    "'": "\\'",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\0": "\\0",
    "\b": "\\b",
    "\f": "\\f",
}
_ESCAPE_PATTERN = re.compile("[\\\\'\n\r\t\0\b\f]")


class Identifier:
    """A table or column name to splice into SQL (rendered in backquotes).

    Only plain names (``errors``, ``tags.key``) are accepted; anything else raises
    ``ValueError`` so a name can never carry SQL of its own.
    """

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        if not isinstance(name, str) or not _IDENTIFIER.match(name):
            raise ValueError(f"not a valid ClickHouse identifier: {name!r}")
        self.name = name

    def __repr__(self) -> str:
        return f"Identifier({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Identifier) and other.name == self.name

    def __hash__(self) -> int:
        return hash(self.name)

    def sql(self) -> str:
        return f"`{self.name}`"


def quote_string(value: str) -> str:
    """Quote ``value`` as a ClickHouse string literal."""
    return "'" + _ESCAPE_PATTERN.sub(lambda m: _STRING_ESCAPES[m.group(0)], value) + "'"


def format_datetime(value: datetime) -> str:
    """``YYYY-MM-DD hh:mm:ss`` in UTC; naive datetimes are taken to be UTC already."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def literal(value: Any) -> str:
    """Render one Python value as a ClickHouse literal; ``TypeError`` for unsupported types."""
    if value is None:
        return "NULL"
    if isinstance(value, Identifier):
        return value.sql()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_literal(value)
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"cannot render non-finite Decimal {value!r}")
        return str(value)
    if isinstance(value, str):
        return quote_string(value)
    if isinstance(value, datetime):
        return quote_string(format_datetime(value))
    if isinstance(value, date):
        return quote_string(value.isoformat())
    if isinstance(value, uuid.UUID):
        return quote_string(str(value))
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    raise TypeError(f"cannot render a {type(value).__name__} as a ClickHouse literal")


def _float_literal(value: float) -> str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(value)


def render(sql: str, params: Mapping[str, Any] | None) -> str:
    """Substitute ``%(name)s`` placeholders in ``sql`` with literals from ``params``.

    ``%%`` becomes ``%``; a lone ``%`` not starting a placeholder is left as is (so
    ``LIKE 'a%'`` works without doubling). A placeholder with no value raises
    ``KeyError`` naming the parameter. Rendered values are never scanned again, so a
    value containing ``%(x)s`` stays text.
    """
    values: Mapping[str, Any] = params if params is not None else {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "%"
        if name not in values:
            raise KeyError(f"SQL parameter {name!r} has no value in params")
        return literal(values[name])

    return _PLACEHOLDER.sub(substitute, sql)
