"""Grouping component trees and variants: what an event's hash is made of (pure).

A variant's hash is the md5 of its *contributing leaves*: every string value reachable
from the root through components that all contribute. Non-contributing components stay
in the tree (with a ``hint`` saying why) so the explanation shows what was ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from faultline_core.grouping.base import hash_components

JsonDict = dict[str, Any]


@dataclass(slots=True)
class GroupingComponent:
    """One node of a grouping tree, e.g. ``exception`` → ``stacktrace`` → ``frame``."""

    id: str
    values: list[str | GroupingComponent] = field(default_factory=list)
    contributes: bool = True
    hint: str | None = None
    name: str | None = None
    leaves: tuple[str, ...] | None = None
    """The subtree's contributing leaves when its builder already knows them (frames):
    hashing then skips the walk. Not part of the JSON form."""

    def iter_hash_values(self) -> Iterator[str]:
        """The contributing leaves, depth first, each as ``"<id>=<value>"``."""
        return iter(self.contributing_values())

    def contributing_values(self) -> list[str]:
        """The contributing leaves, depth first, each as ``"<id>=<value>"``.

        The leaf's own component id is part of the hashed text so a value can never be
        confused with the same text in another role (a type vs. a fingerprint entry).
        """
        out: list[str] = []
        self._collect(out)
        return out

    def _collect(self, out: list[str]) -> None:
        # A plain recursive walk appending to one list: generators cost twice as much
        # and this runs for every variant of every event.
        if not self.contributes:
            return
        if self.leaves is not None:
            out.extend(self.leaves)
            return
        prefix = self.id + "="
        for value in self.values:
            if isinstance(value, str):
                out.append(prefix + value)
            else:
                value._collect(out)

    def get_hash(self) -> str | None:
        """md5 of the contributing leaves, or ``None`` when nothing contributes."""
        values = self.contributing_values()
        return hash_components(values) if values else None

    def to_json(self) -> JsonDict:
        """The Sentry grouping-info component shape."""
        return {
            "id": self.id,
            "name": self.name,
            "contributes": self.contributes,
            "hint": self.hint,
            "values": [v if isinstance(v, str) else v.to_json() for v in self.values],
        }


@dataclass(frozen=True, slots=True)
class GroupingVariant:
    """One way of grouping an event (``app``, ``system``, ``custom-fingerprint``…)."""

    name: str
    type: str
    """``component``, ``custom-fingerprint``, ``salted-component`` or ``fallback``."""
    description: str
    component: GroupingComponent | None = None
    values: tuple[str, ...] = ()
    """The fingerprint entries of a ``custom-fingerprint`` variant."""
    hash: str | None = None
    matched_rule: str | None = None
    """The project's fingerprint rule that set the fingerprint (server-side rules)."""

    @property
    def contributes(self) -> bool:
        return self.hash is not None

    def to_json(self) -> JsonDict:
        """The Sentry grouping-info variant shape (``hashMismatch`` is always false:
        the hash is recomputed from the stored data, never read back)."""
        body: JsonDict = {
            "type": self.type,
            "description": self.description,
            "hash": self.hash,
            "hashMismatch": False,
            "contributes": self.contributes,
            "key": self.name,
        }
        if self.component is not None:
            body["component"] = self.component.to_json()
        if self.type in ("custom-fingerprint", "salted-component"):
            body["values"] = list(self.values)
        if self.matched_rule is not None:
            body["matched_rule"] = self.matched_rule
        return body


def flat_variant(name: str, description: str, components: list[str]) -> GroupingVariant:
    """A variant whose tree is one component holding already-flattened values (v1).

    The hash is v1's (md5 of the plain strings), not the tree's id-prefixed hash: v1's
    hashes are frozen and the tree is only there to be shown."""
    component = GroupingComponent(id=name, values=list(components), contributes=bool(components))
    return GroupingVariant(name=name, type="component", description=description,
                           component=component,
                           hash=hash_components(components) if components else None)
