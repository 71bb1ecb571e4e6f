"""Addressing values inside a JSON tree, for tests that mutate real payloads."""

from __future__ import annotations

from typing import Any

Json = Any
Path = tuple[str | int, ...]


def json_paths(value: Json, prefix: Path = ()) -> list[Path]:
    """Every location inside a JSON tree, the root included."""
    found = [prefix]
    if isinstance(value, dict):
        for key, child in value.items():
            found += json_paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found += json_paths(child, (*prefix, index))
    return found


def replace_at(value: Json, path: Path, new: Json) -> Json:
    """A copy of ``value`` with the value at ``path`` replaced by ``new``."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: replace_at(value[head], rest, new)}
    copy = list(value)
    copy[int(head)] = replace_at(copy[int(head)], rest, new)
    return copy
