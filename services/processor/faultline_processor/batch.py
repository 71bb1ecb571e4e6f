"""Accumulating prepared messages into batches, and the offsets each batch lets us commit."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from faultline_core.bus.base import Partition
from faultline_processor.items.base import PreparedItem
from faultline_processor.prepare import Poison, Prepared, PreparedEvent


@dataclass
class Batch:
    """Messages read since the last flush: events and other items to write, and poison
    for the DLQ.

    ``offsets`` holds, per partition, the offset of the next message to read once this
    batch is written: what gets committed.
    """

    events: list[PreparedEvent] = field(default_factory=list)
    items: list[PreparedItem] = field(default_factory=list)
    poison: list[Poison] = field(default_factory=list)
    offsets: dict[Partition, int] = field(default_factory=dict)
    started_at: float | None = None
    """Monotonic time of the batch's first message."""

    def __len__(self) -> int:
        return len(self.events) + len(self.items) + len(self.poison)

    def add(self, item: Prepared) -> None:
        if self.started_at is None:
            self.started_at = time.monotonic()
        if isinstance(item, PreparedEvent):
            self.events.append(item)
        elif isinstance(item, PreparedItem):
            self.items.append(item)
        else:
            self.poison.append(item)
        message = item.message
        self.offsets[message.partition] = max(
            self.offsets.get(message.partition, 0), message.offset + 1
        )

    def remaining_wait(self, max_wait_s: float, now: float | None = None) -> float | None:
        """Seconds until the batch is due by age; ``None`` while it is empty."""
        if self.started_at is None:
            return None
        now = time.monotonic() if now is None else now
        return max(0.0, self.started_at + max_wait_s - now)

    def is_ready(self, max_events: int, max_wait_s: float, now: float | None = None) -> bool:
        """Full, or old enough (measured from its first message) to be written."""
        if len(self) >= max_events:
            return True
        remaining = self.remaining_wait(max_wait_s, now)
        return remaining is not None and remaining <= 0.0
