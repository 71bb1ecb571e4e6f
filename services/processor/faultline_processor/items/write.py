"""Writing a batch's non-event items, handler by handler."""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Mapping, Sequence

from faultline_processor import metrics
from faultline_processor.items.base import ItemHandler, ItemSinks, PreparedItem
from faultline_processor.items.registry import ITEM_HANDLERS


async def write_items(
    sinks: ItemSinks,
    items: Sequence[PreparedItem],
    handlers: Mapping[str, ItemHandler] = ITEM_HANDLERS,
) -> None:
    """Hand each handler its items (in arrival order); raises if any write fails."""
    groups: dict[int, list[PreparedItem]] = defaultdict(list)
    chosen: dict[int, ItemHandler] = {}
    for item in items:
        handler = handlers[item.ingest.item_type]
        groups[id(handler)].append(item)
        chosen[id(handler)] = handler
    for key, group in groups.items():
        started = time.perf_counter()
        await chosen[key].write(sinks, group)
        for item in group:
            metrics.ITEMS_WRITTEN.labels(item.ingest.item_type).inc()
        metrics.WRITE_SECONDS.labels("items").observe(time.perf_counter() - started)
