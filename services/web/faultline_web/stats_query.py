"""Time-series statistics in Sentry's grouped shape (pure: no I/O).

Both ``/sessions/`` and ``/stats_v2/`` answer
``{"start", "end", "intervals": [...], "groups": [{"by", "totals", "series"}], "query"}``:
rows are summed per group (the ``groupBy`` values) and per interval, then each requested
``field`` is computed from those sums. Data is stored per hour, so intervals are whole
hours that divide a day (``1h``...``1d``), aligned to UTC midnight.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

HOUR = 3600
DAY = 86400
MAX_PERIOD_S = 90 * DAY
MAX_VALUES = 10
"""At most this many ``field`` and ``groupBy`` values per request."""
_DURATION = re.compile(r"(\d{1,6})([mhdw])")
_UNITS = {"m": 60, "h": HOUR, "d": DAY, "w": 7 * DAY}

Number = int | float | None
FieldFunc = Callable[[Mapping[str, int]], Number]


class StatsError(ValueError):
    """A request parameter is unusable; the message says why (a 400)."""


def _ratio(part: int, whole: int) -> float | None:
    return None if whole <= 0 else min(max(part / whole, 0.0), 1.0)


def _crash_free(sums: Mapping[str, int]) -> float | None:
    rate = _ratio(sums["crashed"], sums["started"])
    return None if rate is None else 1.0 - rate


SESSION_FIELDS: dict[str, FieldFunc] = {
    "sum(session)": lambda s: s["started"],
    "count_healthy(session)": lambda s: max(s["started"] - s["errored"], 0),
    "count_errored(session)": lambda s: max(s["errored"] - s["crashed"] - s["abnormal"], 0),
    "count_unhealthy(session)": lambda s: s["errored"],
    "count_crashed(session)": lambda s: s["crashed"],
    "count_abnormal(session)": lambda s: s["abnormal"],
    "crash_rate(session)": lambda s: _ratio(s["crashed"], s["started"]),
    "crash_free_rate(session)": _crash_free,
}
"""Release health fields. ``count_errored`` is Sentry's ``session.status:errored`` (an
error, but neither crashed nor abnormal); ``count_unhealthy`` includes those two."""
SESSION_GROUPS = ("project", "release", "environment")
OUTCOME_FIELDS: dict[str, FieldFunc] = {"sum(quantity)": lambda s: s["quantity"]}
OUTCOME_GROUPS = ("project", "outcome", "category", "reason")


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime
    interval_s: int

    @property
    def count(self) -> int:
        return int((self.end - self.start).total_seconds()) // self.interval_s

    def intervals(self) -> list[datetime]:
        return [self.start + timedelta(seconds=i * self.interval_s) for i in range(self.count)]

    def index(self, bucket: datetime) -> int | None:
        """The interval holding ``bucket``, None when outside the range."""
        offset = (bucket - self.start).total_seconds()
        position = int(offset // self.interval_s)
        return position if offset >= 0 and position < self.count else None


def _seconds(text: str, what: str) -> int:
    match = _DURATION.fullmatch(text.strip())
    if not match:
        raise StatsError(f"{what} must look like 24h, 14d or 1w")
    return int(match.group(1)) * _UNITS[match.group(2)]


def parse_range(stats_period: str, interval: str | None, now: datetime) -> TimeRange:
    """The intervals covering the last ``stats_period``, the current one last."""
    period_s = _seconds(stats_period, "statsPeriod")
    if not HOUR <= period_s <= MAX_PERIOD_S:
        raise StatsError("statsPeriod must be between 1h and 90d")
    interval_s = _seconds(interval, "interval") if interval else (
        HOUR if period_s <= 2 * DAY else DAY)
    if interval_s % HOUR or DAY % interval_s:
        raise StatsError("interval must be whole hours that divide a day (1h to 1d)")
    epoch = int(now.timestamp())
    end_s = epoch - epoch % interval_s + interval_s
    count = max(1, math.ceil(period_s / interval_s))
    return TimeRange(datetime.fromtimestamp(end_s - count * interval_s, UTC),
                     datetime.fromtimestamp(end_s, UTC), interval_s)


def pick(values: Sequence[str], allowed: Iterable[str], what: str) -> list[str]:
    """The requested names in order without repeats; unknown ones are a 400."""
    allowed = list(allowed)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise StatsError(f"unsupported {what} {unknown[0][:80]!r}; use {', '.join(allowed)}")
    chosen = list(dict.fromkeys(values))
    if len(chosen) > MAX_VALUES:
        raise StatsError(f"at most {MAX_VALUES} {what} values")
    return chosen


@dataclass
class _Group:
    total: Counter[str]
    series: list[Counter[str]]


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def grouped(
    rows: Iterable[tuple[Mapping[str, Any], datetime, Mapping[str, int]]],
    group_by: Sequence[str],
    fields: Mapping[str, FieldFunc],
    time_range: TimeRange,
    metrics: Sequence[str],
) -> dict[str, Any]:
    """Sum ``(dimensions, bucket, metrics)`` rows into Sentry's grouped response."""
    groups: dict[tuple[Any, ...], _Group] = {}
    if not group_by:  # one group even without data, as Sentry answers
        groups[()] = _Group(Counter(), [Counter() for _ in range(time_range.count)])
    for dimensions, bucket, values in rows:
        index = time_range.index(bucket)
        if index is None:
            continue
        key = tuple(dimensions[name] for name in group_by)
        group = groups.get(key)
        if group is None:
            group = groups[key] = _Group(Counter(), [Counter() for _ in range(time_range.count)])
        group.total.update(values)
        group.series[index].update(values)
    body: list[dict[str, Any]] = []
    for key in sorted(groups, key=lambda k: tuple(str(v) for v in k)):
        group = groups[key]
        sums = [_complete(c, metrics) for c in group.series]
        total = _complete(group.total, metrics)
        body.append({
            "by": dict(zip(group_by, key, strict=True)),
            "totals": {name: fn(total) for name, fn in fields.items()},
            "series": {name: [fn(s) for s in sums] for name, fn in fields.items()},
        })
    return {
        "start": iso(time_range.start), "end": iso(time_range.end),
        "intervals": [iso(moment) for moment in time_range.intervals()],
        "groups": body, "query": "",
    }


def _complete(counter: Counter[str], metrics: Sequence[str]) -> dict[str, int]:
    return {name: counter.get(name, 0) for name in metrics}
