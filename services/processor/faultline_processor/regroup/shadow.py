"""The shadow projection's issues: which events share an issue under the new config.

Pure. Events are first collected by *key* (their tuple of grouping hashes: events with the
same key always share an issue); then keys are turned into issues in the order of their
first event by ``(received, event_id)``, with the processor's rule (``issue_store``): a
key joins the issue of the first of its hashes already known, and each of its hashes then
points at that issue unless it already points elsewhere. Keys seen later (events counted
during the build) are assigned the same way when :meth:`Shadow.assign` runs again.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from faultline_processor.regroup.grouper import Grouped
from faultline_processor.regroup.source import SourceEvent


@dataclass
class _Key:
    index: int
    hashes: tuple[str, ...]
    first: tuple[datetime, str]
    seed: Grouped
    latest: SourceEvent
    issue: int | None = None


@dataclass
class ShadowIssue:
    """A new issue: its hashes (primary first), and what describes it."""

    index: int
    first: tuple[datetime, str]
    seed: Grouped
    latest: SourceEvent
    """The event with the latest timestamp: it sets title, culprit and level."""
    hashes: list[str] = field(default_factory=list)

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self.seed.metadata or {"title": self.latest.title}


def _lean(event: SourceEvent) -> SourceEvent:
    """The event without its (large) data: only its description is kept."""
    return dataclasses.replace(event, data="")


class Shadow:
    """Keys and issues of one regroup run."""

    def __init__(self) -> None:
        self._keys: dict[tuple[str, ...], _Key] = {}
        self._by_index: list[_Key] = []
        self.issues: list[ShadowIssue] = []
        self._by_hash: dict[str, int] = {}

    def observe(self, event: SourceEvent, grouped: Grouped) -> int:
        """Record one event; returns its key's index."""
        order = (event.received, event.event_id)
        key = self._keys.get(grouped.hashes)
        if key is None:
            key = _Key(len(self._by_index), grouped.hashes, order, grouped, _lean(event))
            self._keys[grouped.hashes] = key
            self._by_index.append(key)
            return key.index
        if order < key.first:
            key.first, key.seed = order, grouped
        if event.timestamp >= key.latest.timestamp:
            key.latest = _lean(event)
        if key.issue is not None:
            self._touch(self.issues[key.issue], key)
        return key.index

    def assign(self) -> None:
        """Give every key without an issue one, in order of the keys' first events."""
        pending = sorted((k for k in self._by_index if k.issue is None), key=lambda k: k.first)
        for key in pending:
            found = next((self._by_hash[h] for h in key.hashes if h in self._by_hash), None)
            if found is None:
                found = len(self.issues)
                self.issues.append(ShadowIssue(found, key.first, key.seed, key.latest))
            key.issue = found
            issue = self.issues[found]
            self._touch(issue, key)
            for h in key.hashes:
                if h not in self._by_hash:
                    self._by_hash[h] = found
                    issue.hashes.append(h)

    def key_issues(self) -> list[tuple[int, int]]:
        """(key index, issue index) for every assigned key."""
        return [(k.index, k.issue) for k in self._by_index if k.issue is not None]

    @staticmethod
    def _touch(issue: ShadowIssue, key: _Key) -> None:
        if key.latest.timestamp >= issue.latest.timestamp:
            issue.latest = key.latest
        if key.first < issue.first:
            issue.first, issue.seed = key.first, key.seed
