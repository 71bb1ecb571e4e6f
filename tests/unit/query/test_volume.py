"""Event-volume windows and bucket filling (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from faultline_query.sql import Interval
from faultline_query.volume import fill_buckets, floor_to, volume_window

NOW = datetime(2025, 3, 12, 15, 42, 7, 500, tzinfo=UTC)


def test_24_hours_is_24_hourly_buckets_ending_with_the_current_hour() -> None:
    window = volume_window(NOW, timedelta(hours=24), Interval.HOUR)
    assert len(window.starts) == 24
    assert window.starts[-1] == datetime(2025, 3, 12, 15, tzinfo=UTC)
    assert window.start == datetime(2025, 3, 11, 16, tzinfo=UTC)
    assert window.end == datetime(2025, 3, 12, 16, tzinfo=UTC)
    starts = window.starts
    gaps = {later - earlier for earlier, later in zip(starts, starts[1:], strict=False)}
    assert gaps == {timedelta(hours=1)}


def test_14_days_is_14_daily_buckets_ending_today() -> None:
    window = volume_window(NOW, timedelta(days=14), Interval.DAY)
    assert len(window.starts) == 14
    assert window.starts[0] == datetime(2025, 2, 27, tzinfo=UTC)
    assert window.end == datetime(2025, 3, 13, tzinfo=UTC)


def test_floor_works_in_utc_whatever_the_input_zone() -> None:
    local = NOW.astimezone(timezone(timedelta(hours=5, minutes=30)))
    assert floor_to(local, Interval.HOUR) == datetime(2025, 3, 12, 15, tzinfo=UTC)
    assert floor_to(local, Interval.DAY) == datetime(2025, 3, 12, tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        floor_to(NOW.replace(tzinfo=None), Interval.HOUR)


def test_spans_that_do_not_split_into_whole_buckets_are_refused() -> None:
    with pytest.raises(ValueError):
        volume_window(NOW, timedelta(hours=36), Interval.DAY)
    with pytest.raises(ValueError):
        volume_window(NOW, timedelta(minutes=30), Interval.HOUR)


def test_missing_buckets_are_filled_with_zeros_in_order() -> None:
    window = volume_window(NOW, timedelta(hours=3), Interval.HOUR)
    counts = [
        (datetime(2025, 3, 12, 15, tzinfo=UTC), 4),
        (datetime(2025, 3, 12, 13, tzinfo=UTC), 2),
        (datetime(2025, 3, 12, 9, tzinfo=UTC), 99),  # outside the window
    ]
    assert fill_buckets(window, counts) == [
        (datetime(2025, 3, 12, 13, tzinfo=UTC), 2),
        (datetime(2025, 3, 12, 14, tzinfo=UTC), 0),
        (datetime(2025, 3, 12, 15, tzinfo=UTC), 4),
    ]
