"""Issue grouping: a versioned registry of pure strategies.

``compute_grouping(data)`` takes an event's normalised ``data`` (see
:mod:`faultline_core.normalize`) and returns its hashes under one strategy. Released
strategies never change behaviour; a new behaviour gets a new config id, so stored issues
stay reproducible and regrouping can run an old and a new config side by side.

Each project records its config: existing projects keep ``DEFAULT_GROUPING_CONFIG``
(v1), new projects get ``LATEST_GROUPING_CONFIG``. A project's server-side rules
(:mod:`faultline_core.grouping.rules`) are applied to the event before the strategy runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from faultline_core.grouping.base import GroupingResult, GroupingStrategy, hash_components
from faultline_core.grouping.components import GroupingComponent, GroupingVariant
from faultline_core.grouping.v1 import GroupingV1
from faultline_core.grouping.v2 import GroupingV2

if TYPE_CHECKING:
    from faultline_core.grouping.rules import GroupingRules

GROUPING_CONFIGS: dict[str, GroupingStrategy] = {"v1": GroupingV1(), "v2": GroupingV2()}
DEFAULT_GROUPING_CONFIG = "v1"
"""What a project without a recorded config uses: existing projects must keep it."""
LATEST_GROUPING_CONFIG = "v2"
"""What new projects are created with."""

__all__ = [
    "DEFAULT_GROUPING_CONFIG",
    "GROUPING_CONFIGS",
    "LATEST_GROUPING_CONFIG",
    "GroupingComponent",
    "GroupingResult",
    "GroupingStrategy",
    "GroupingVariant",
    "UnknownGroupingConfig",
    "compute_grouping",
    "explain_grouping",
    "grouping_variants",
    "hash_components",
]


class UnknownGroupingConfig(ValueError):
    """The requested grouping config id is not registered."""


def _strategy_and_data(
    data: dict[str, Any], config: str, rules: GroupingRules | None
) -> tuple[GroupingStrategy, dict[str, Any]]:
    strategy = GROUPING_CONFIGS.get(config)
    if strategy is None:
        raise UnknownGroupingConfig(f"unknown grouping config {config!r}")
    if rules is not None and not rules.is_empty:
        # Imported here: rules.py is a leaf module that may grow heavier imports.
        from faultline_core.grouping.rules import apply_grouping_rules

        data = apply_grouping_rules(data, rules)
    return strategy, data


def compute_grouping(
    data: dict[str, Any],
    config: str = DEFAULT_GROUPING_CONFIG,
    rules: GroupingRules | None = None,
) -> GroupingResult:
    """Group one event's normalised ``data`` with the strategy registered as ``config``,
    after applying the project's server-side ``rules`` (in-app marks, fingerprints)."""
    strategy, data = _strategy_and_data(data, config, rules)
    return strategy.compute(data)


def grouping_variants(
    data: dict[str, Any],
    config: str = DEFAULT_GROUPING_CONFIG,
    rules: GroupingRules | None = None,
) -> dict[str, GroupingVariant]:
    """The variants behind :func:`compute_grouping`'s hashes, with their trees."""
    strategy, data = _strategy_and_data(data, config, rules)
    return strategy.explain(data)


def explain_grouping(
    data: dict[str, Any],
    config: str = DEFAULT_GROUPING_CONFIG,
    rules: GroupingRules | None = None,
) -> dict[str, Any]:
    """Why an event grouped where it did, in the shape of Sentry's grouping-info API:
    ``{variant: {"type", "description", "hash", "hashMismatch", "contributes",
    "component" | "values"}}``. JSON-serialisable."""
    variants = grouping_variants(data, config, rules)
    return {name: variant.to_json() for name, variant in variants.items()}
