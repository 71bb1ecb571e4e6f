"""The "Grouping" section of the issue page's latest event: why it grouped where it did.

Each variant shows its type, hash and whether it contributes, and its component tree as
nested nodes; a node that does not contribute is shown greyed with its hint. The data is
the grouping-info API's (:func:`faultline_web.api.grouping.event_grouping_info`), so the
page and the API never disagree.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from faultline.v1 import query_pb2
from faultline_core.storage.postgres.tenancy import Project
from faultline_web.api.grouping import event_grouping_info
from faultline_web.context import WebContext

log = logging.getLogger(__name__)

MAX_DEPTH = 12
"""Deeper trees are cut (a tree comes from client data: never let it blow up a page)."""
MAX_NODES = 2_000


@dataclass
class GroupingNode:
    """One component (or, with no children, one of its values) of a variant's tree."""

    label: str
    contributes: bool
    hint: str = ""
    children: list[GroupingNode] = field(default_factory=list)


@dataclass(frozen=True)
class VariantView:
    name: str
    type: str
    description: str
    hash: str
    contributes: bool
    matched: bool
    nodes: list[GroupingNode]


@dataclass(frozen=True)
class GroupingView:
    config: str
    variants: list[VariantView]


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_NODES

    def take(self) -> bool:
        self.left -= 1
        return self.left >= 0


def component_node(
    component: dict[str, Any], inherited: bool, budget: _Budget, depth: int = 0
) -> GroupingNode:
    """A component and its values; a node contributes only if all its ancestors do."""
    contributes = inherited and component.get("contributes") is not False
    name = component.get("name") or component.get("id") or "component"
    node = GroupingNode(str(name), contributes, str(component.get("hint") or ""))
    values = component.get("values")
    for value in values if isinstance(values, list) else []:
        if not budget.take():
            break
        if isinstance(value, dict) and depth < MAX_DEPTH:
            node.children.append(component_node(value, contributes, budget, depth + 1))
        elif not isinstance(value, dict):
            node.children.append(GroupingNode(str(value), contributes))
    return node


def variant_view(name: str, variant: dict[str, Any], budget: _Budget) -> VariantView:
    contributes = bool(variant.get("contributes"))
    nodes: list[GroupingNode] = []
    component = variant.get("component")
    if isinstance(component, dict):
        nodes.append(component_node(component, contributes, budget))
    values = variant.get("values")
    if not nodes and isinstance(values, list) and values:  # a bare fingerprint's entries
        nodes.append(GroupingNode("fingerprint", contributes, "",
                                  [GroupingNode(str(v), contributes) for v in values]))
    return VariantView(
        name=name, type=str(variant.get("type") or ""),
        description=str(variant.get("description") or ""),
        hash=str(variant.get("hash") or ""), contributes=contributes,
        matched=bool(variant.get("matchedIssue")), nodes=nodes,
    )


def grouping_view(info: dict[str, Any]) -> GroupingView:
    """The page's view of grouping info: contributing variants first, then by name."""
    budget = _Budget()
    variants = [variant_view(str(name), variant, budget)
                for name, variant in info.items() if isinstance(variant, dict)]
    variants.sort(key=lambda v: (not v.contributes, not v.matched, v.name))
    configs = {str(v.get("config")) for v in info.values() if isinstance(v, dict)}
    return GroupingView(config=", ".join(sorted(configs - {"None"})), variants=variants)


async def event_grouping(
    web: WebContext, project: Project, event: query_pb2.Event | None
) -> GroupingView | None:
    """The section for the issue page's latest event (``None``: no event, or it failed:
    the explanation is an aid, and must never take the issue page down)."""
    if event is None:
        return None
    try:
        return grouping_view(await event_grouping_info(web, project, event))
    except Exception as exc:
        log.warning("explaining the grouping of event %s failed: %s: %s",
                    event.event_id, type(exc).__name__, exc)
        return None
