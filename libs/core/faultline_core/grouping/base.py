"""The grouping strategy interface and its result (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class GroupingResult:
    config: str
    """The strategy that produced the hashes, e.g. ``"v1"``; stored with the issue so
    regrouping knows which hashes came from which version."""
    hashes: list[str]
    """32-hex md5 hashes; ``hashes[0]`` is the primary one. An event joins an existing
    issue when any of its hashes matches one of the issue's."""
    components: list[str]
    """The human-readable values that produced ``hashes[0]``, for debugging."""


class GroupingStrategy(Protocol):
    """A pure function of an event's normalised ``data`` to its grouping hashes.

    A strategy's output for a given event must never change once released: stored
    issues are keyed by it. Changing behaviour means registering a new config id.
    """

    config_id: str

    def compute(self, data: dict[str, Any]) -> GroupingResult: ...


def hash_components(components: Iterable[str]) -> str:
    """md5 over the components, each terminated by NUL so boundaries are unambiguous."""
    digest = hashlib.md5(usedforsecurity=False)
    for component in components:
        digest.update(component.encode("utf-8", "replace"))
        digest.update(b"\0")
    return digest.hexdigest()
