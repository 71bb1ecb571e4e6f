"""Result normalisation shared by both adapters, driven by ClickHouse type names.

Each adapter receives values in its own shape (chDB: JSON text; clickhouse-driver: Python
objects). Both pass every value through :func:`normalize` with the column's type name so
the rows they return are equal, as the contract suite checks.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, tzinfo
from typing import Any


class ClickHouseError(Exception):
    """A statement failed in ClickHouse (bad SQL, unknown table, server unreachable…)."""


Converter = Callable[[Any], Any]


def check_rows(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """``ValueError`` unless every row has one value per column (checked before writing)."""
    for index, row in enumerate(rows):
        if len(row) != len(columns):
            raise ValueError(f"row {index} has {len(row)} values for {len(columns)} columns")


def split_type_args(args: str) -> list[str]:
    """Split ``"String, Array(UInt8)"`` at top-level commas (not inside parentheses)."""
    parts: list[str] = []
    depth = 0
    in_quote = False
    current: list[str] = []
    for char in args:
        if char == "'":
            in_quote = not in_quote
        elif not in_quote and char == "(":
            depth += 1
        elif not in_quote and char == ")":
            depth -= 1
        elif not in_quote and char == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(char)
    if current:
        parts.append("".join(current).strip())
    return parts


def _unwrap(type_name: str) -> tuple[str, str]:
    """``"Array(UInt8)"`` → ``("Array", "UInt8")``; ``"UInt8"`` → ``("UInt8", "")``."""
    type_name = type_name.strip()
    if "(" in type_name and type_name.endswith(")"):
        head, _, rest = type_name.partition("(")
        return head.strip(), rest[:-1]
    return type_name, ""


def converter_for(type_name: str, naive_timezone: tzinfo = UTC) -> Converter:
    """A function turning one adapter-level value of ``type_name`` into its Python value.

    ``naive_timezone`` is the zone a naive ``datetime`` is in (the server's time zone for
    clickhouse-driver, which returns plain ``DateTime`` values naive).
    """
    head, args = _unwrap(type_name)
    if head in ("Nullable", "LowCardinality"):
        inner = converter_for(args, naive_timezone)
        return lambda value: None if value is None else inner(value)
    if head == "Array":
        item = converter_for(args, naive_timezone)
        return lambda value: [item(v) for v in value]
    if head == "Tuple":
        items = [
            converter_for(_strip_tuple_name(a), naive_timezone) for a in split_type_args(args)
        ]
        return lambda value: tuple(conv(v) for conv, v in zip(items, value, strict=True))
    if head in ("DateTime", "DateTime64"):
        return lambda value: _to_datetime(value, naive_timezone)
    return _scalar_converter(head)


def _strip_tuple_name(element: str) -> str:
    """Named tuple elements look like ``"k String"``; keep only the type."""
    first, _, rest = element.partition(" ")
    return rest if rest and "(" not in first else element


def _scalar_converter(head: str) -> Converter:
    if head.startswith(("UInt", "Int")):
        return int
    if head == "Float32":
        return _to_float32
    if head.startswith(("Float", "Decimal")):
        return float
    if head == "Date" or head == "Date32":
        return _to_date
    if head == "UUID":
        return _to_uuid_hex
    if head == "FixedString":
        return _to_fixed_string
    if head == "Nothing":
        return lambda value: None
    if head in ("String", "Enum8", "Enum16", "IPv4", "IPv6"):
        return _to_str
    return _identity


def _identity(value: Any) -> Any:
    return value


def _to_float32(value: Any) -> float:
    # The driver yields the float32's exact value; chDB prints its shortest decimal form.
    result: float = struct.unpack("<f", struct.pack("<f", float(value)))[0]
    return result


def _to_str(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return str(value)


def _to_fixed_string(value: Any) -> str:
    # ClickHouse pads FixedString with NUL bytes; the driver strips them, chDB does not.
    return _to_str(value).rstrip("\x00")


def _to_datetime(value: Any, naive_timezone: tzinfo) -> datetime:
    # chDB's text is in the session time zone, which the chDB adapter pins to UTC.
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=naive_timezone)
    return parsed.astimezone(UTC)


def _to_date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _to_uuid_hex(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return value.hex
    return uuid.UUID(str(value)).hex

