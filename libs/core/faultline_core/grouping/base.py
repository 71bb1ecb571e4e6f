"""The grouping strategy interface and its result (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from faultline_core.grouping.components import GroupingVariant


@dataclass(frozen=True)
class GroupingResult:
    """An event's grouping under one config."""

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
    changelog: str
    """One line: what the config does (the grouping-configs API shows it)."""

    def compute(self, data: dict[str, Any]) -> GroupingResult:
        """The hashes: what the processor needs for every event, so built for speed."""
        ...

    def explain(self, data: dict[str, Any]) -> dict[str, GroupingVariant]:
        """Every variant by name (``app``, ``system``, ``custom-fingerprint``…), with
        its component tree and hash: why the event grouped where it did. Its hashes
        are the ones :meth:`compute` returns, in the same order."""
        ...


def hash_components(components: Iterable[str]) -> str:
    """md5 over the components, each terminated by NUL so boundaries are unambiguous."""
    # One C-level join, one encode and one update: the same bytes as updating per
    # component, several times faster.
    items = components if isinstance(components, list) else list(components)
    text = "\0".join(items) + "\0" if items else ""
    return hashlib.md5(text.encode("utf-8", "replace"), usedforsecurity=False).hexdigest()
