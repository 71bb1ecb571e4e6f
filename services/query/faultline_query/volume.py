"""Event-volume windows (pure): which buckets a range has, and filling the empty ones.

A window of ``range`` split into ``interval``-wide buckets has ``range // interval``
buckets, the last one being the bucket that contains "now" (so it is still filling up).
A 24-hour window therefore has 24 hourly buckets, the oldest starting 23 hours before the
current hour; a 14-day window has 14 daily buckets ending with today (UTC). Bucket starts
are aligned the way ClickHouse's ``toStartOfHour``/``toStartOfDay`` align them in UTC, so
the rows ClickHouse returns land exactly on them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from faultline_query.sql import Interval

INTERVAL_STEP = {Interval.HOUR: timedelta(hours=1), Interval.DAY: timedelta(days=1)}


@dataclass(frozen=True)
class VolumeWindow:
    interval: Interval
    starts: tuple[datetime, ...]
    """Bucket starts, oldest first, aware UTC."""

    @property
    def start(self) -> datetime:
        return self.starts[0]

    @property
    def end(self) -> datetime:
        """Exclusive end: the end of the current bucket."""
        return self.starts[-1] + INTERVAL_STEP[self.interval]


def floor_to(moment: datetime, interval: Interval) -> datetime:
    """The start of the UTC bucket containing ``moment`` (which must be aware)."""
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    floored = moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if interval is Interval.DAY:
        floored = floored.replace(hour=0)
    return floored


def volume_window(now: datetime, span: timedelta, interval: Interval) -> VolumeWindow:
    """The buckets covering ``span`` up to and including the bucket of ``now``."""
    step = INTERVAL_STEP[interval]
    count = span // step
    if count < 1 or span % step:
        raise ValueError(f"a span of {span} cannot be split into {interval.name.lower()}s")
    last = floor_to(now, interval)
    starts = tuple(last - step * offset for offset in range(count - 1, -1, -1))
    return VolumeWindow(interval, starts)


def fill_buckets(
    window: VolumeWindow, counts: Iterable[tuple[datetime, int]]
) -> list[tuple[datetime, int]]:
    """Every bucket of ``window`` with its count (0 when absent), oldest first.

    Counts whose start is not one of the window's buckets are ignored.
    """
    by_start = {start.astimezone(UTC): count for start, count in counts}
    return [(start, by_start.get(start, 0)) for start in window.starts]
