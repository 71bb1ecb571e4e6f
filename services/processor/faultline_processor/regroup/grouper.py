"""Grouping stored events under a config, optionally in a pool of worker processes.

Grouping is pure CPU work (about 50 µs per event, plus parsing the stored JSON), so a large
regroup spreads it over processes; small ones (and tests) run inline. Workers are spawned,
not forked: the parent has chDB's and psycopg's threads running.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from typing import Any

import orjson

from faultline_core.grouping import compute_grouping
from faultline_core.grouping.rules import GroupingRules, RulesSyntaxError, parse_grouping_rules

_HEX32 = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class GroupingSpec:
    """What to group with: a config id and the project's rules, as text (picklable)."""

    config: str
    fingerprinting: str = ""
    enhancements: str = ""


@dataclass(frozen=True)
class Grouped:
    """One event's grouping, and what a new issue made from it would be described by."""

    hashes: tuple[str, ...]
    type: str
    platform: str
    metadata: Mapping[str, Any]


_rules_cache: dict[tuple[str, str], GroupingRules | None] = {}


def _rules(spec: GroupingSpec) -> GroupingRules | None:
    key = (spec.fingerprinting, spec.enhancements)
    if key not in _rules_cache:
        rules: GroupingRules | None = None
        if spec.fingerprinting.strip() or spec.enhancements.strip():
            try:
                rules = parse_grouping_rules(*key)
            except RulesSyntaxError:
                rules = None  # as the processor does: group without rules
        _rules_cache[key] = rules if rules is not None and not rules.is_empty else None
    return _rules_cache[key]


def group_one(spec: GroupingSpec, data: str) -> Grouped | None:
    """The event's grouping, or ``None`` when its stored data cannot be grouped."""
    try:
        parsed = orjson.loads(data)
        if not isinstance(parsed, dict):
            return None
        result = compute_grouping(parsed, spec.config, _rules(spec))
    except Exception:  # one odd stored event must not stop a regroup: it keeps its issue
        return None
    hashes = tuple(result.hashes)
    if not hashes or not all(_HEX32.fullmatch(h) for h in hashes):
        return None
    data_type = parsed.get("type")
    metadata = parsed.get("metadata")
    return Grouped(
        hashes=hashes,
        type=data_type if isinstance(data_type, str) and data_type else "default",
        platform=str(parsed.get("platform") or ""),
        metadata=metadata if isinstance(metadata, dict) else {},
    )


def group_many(spec: GroupingSpec, datas: Sequence[str]) -> list[Grouped | None]:
    """:func:`group_one` for a chunk (what a worker process runs)."""
    return [group_one(spec, data) for data in datas]


class Grouper:
    """Groups chunks of events inline (``workers == 0``) or in worker processes."""

    def __init__(self, spec: GroupingSpec, workers: int = 0, chunk: int = 500) -> None:
        self.spec = spec
        self._chunk = chunk
        self._pool = (ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
                      if workers > 0 else None)

    async def group(self, datas: Sequence[str]) -> list[Grouped | None]:
        """Each event's grouping, in order."""
        if self._pool is None:
            return group_many(self.spec, datas)
        loop = asyncio.get_running_loop()
        chunks = [datas[i:i + self._chunk] for i in range(0, len(datas), self._chunk)]
        results = await asyncio.gather(*(
            loop.run_in_executor(self._pool, group_many, self.spec, chunk) for chunk in chunks
        ))
        return [grouped for result in results for grouped in result]

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None
