"""Where the old issues, their ids and their human decisions go (pure; see docs/regroup.md).

* Each old issue's **target** is the new issue that receives the majority of its counted
  events; ties go to the new issue with the most events overall, then to the one formed
  first.
* A new issue's **winner** is, among the old issues targeting it, the one contributing the
  most events to it (ties: lowest id). The new issue *is* that old issue: it keeps its id
  (so URLs keep working), its status, resolution, assignee and activity. A new issue that
  no old issue targets gets a fresh id and starts unresolved and unassigned.
* Every other old issue that targets a new issue is **retired**: its activity (comments,
  history) moves to its target and its id redirects there.
* Each old **hash** leads to the new issue that received the majority of that hash's
  events (same tie rule), so an event grouped with the old config still lands right.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from faultline_processor.regroup.staging import Move


@dataclass(frozen=True)
class Plan:
    totals: dict[int, int]
    """Counted events per new (shadow) issue index; issues without any are left out."""
    target: dict[int, int]
    """Old issue id → new issue index (every old issue with a regrouped event)."""
    winner: dict[int, int]
    """New issue index → the old issue id it keeps."""
    retired: list[int]
    """Live old issue ids that disappear (redirected to their target)."""
    hash_target: dict[str, int]
    """Old primary hash → new issue index."""
    contributors: dict[int, list[int]]
    """New issue index → the old issue ids whose events it receives."""
    moved_events: int
    """Counted events whose issue id changes."""

    @property
    def fresh(self) -> list[int]:
        """New issues that need a new id."""
        return sorted(i for i in self.totals if i not in self.winner)

    @property
    def splits(self) -> int:
        """Old issues whose events now go to more than one issue."""
        spread: dict[int, set[int]] = defaultdict(set)
        for new, olds in self.contributors.items():
            for old in olds:
                spread[old].add(new)
        return sum(1 for news in spread.values() if len(news) > 1)

    @property
    def merges(self) -> int:
        """New issues receiving the events of more than one old issue."""
        return sum(1 for olds in self.contributors.values() if len(olds) > 1)


def _majority(counts: dict[int, int], totals: dict[int, int]) -> int:
    return min(counts, key=lambda new: (-counts[new], -totals[new], new))


def make_plan(moves: Sequence[Move], live: Iterable[int]) -> Plan:
    """Decide targets, winners and retirements from the events' moves."""
    live_ids = set(live)
    totals: dict[int, int] = defaultdict(int)
    by_old: dict[int, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    by_hash: dict[str, dict[int, int]] = defaultdict(lambda: defaultdict(int))
    for move in moves:
        totals[move.issue_idx] += move.events
        by_old[move.old_id][move.issue_idx] += move.events
        if move.old_hash:
            by_hash[move.old_hash][move.issue_idx] += move.events
    target = {old: _majority(counts, totals) for old, counts in by_old.items()}
    winner: dict[int, int] = {}
    for old in sorted(target):
        if old not in live_ids:
            continue  # a ledger row of an issue gone before the ledger was: nothing to keep
        new = target[old]
        best = winner.get(new)
        if best is None or by_old[old][new] > by_old[best][new]:
            winner[new] = old
    kept = set(winner.values())
    contributors: dict[int, list[int]] = defaultdict(list)
    for old, counts in sorted(by_old.items()):
        for new in counts:
            contributors[new].append(old)
    moved = sum(m.events for m in moves if winner.get(m.issue_idx) != m.old_id)
    return Plan(
        totals=dict(totals), target=target, winner=winner,
        retired=sorted(old for old in target if old in live_ids and old not in kept),
        hash_target={h: _majority(c, totals) for h, c in by_hash.items()},
        contributors=dict(contributors), moved_events=moved,
    )
