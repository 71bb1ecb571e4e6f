"""Issue grouping: a versioned registry of pure strategies.

``compute_grouping(data)`` takes an event's normalised ``data`` (see
:mod:`faultline_core.normalize`) and returns its hashes under one strategy. Released
strategies never change behaviour; a new behaviour gets a new config id, so stored issues
stay reproducible and regrouping can run an old and a new config side by side.
"""

from __future__ import annotations

from typing import Any

from faultline_core.grouping.base import GroupingResult, GroupingStrategy, hash_components
from faultline_core.grouping.v1 import GroupingV1

GROUPING_CONFIGS: dict[str, GroupingStrategy] = {"v1": GroupingV1()}
DEFAULT_GROUPING_CONFIG = "v1"

__all__ = [
    "DEFAULT_GROUPING_CONFIG",
    "GROUPING_CONFIGS",
    "GroupingResult",
    "GroupingStrategy",
    "UnknownGroupingConfig",
    "compute_grouping",
    "hash_components",
]


class UnknownGroupingConfig(ValueError):
    """The requested grouping config id is not registered."""


def compute_grouping(
    data: dict[str, Any], config: str = DEFAULT_GROUPING_CONFIG
) -> GroupingResult:
    """Group one event's normalised ``data`` with the strategy registered as ``config``."""
    strategy = GROUPING_CONFIGS.get(config)
    if strategy is None:
        raise UnknownGroupingConfig(f"unknown grouping config {config!r}")
    return strategy.compute(data)
