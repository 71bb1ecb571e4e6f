"""The normaliser's hand-made fast paths render exactly what the library calls they
replace would (a stored timestamp that moved by a microsecond would be a silent bug)."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from faultline_core.normalize_values import iso_datetime, iso_timestamp
from tests import hypothesis_profiles  # noqa: F401  (loads the profile)


def by_datetime(seconds: float) -> str:
    return iso_datetime(datetime.fromtimestamp(seconds, UTC))


def test_iso_timestamp_matches_datetime_on_edges_and_a_million_random_times() -> None:
    rng = random.Random(20261125)
    edges = [0.0, 1e-7, 4.999999e-7, 5e-7, 5.000001e-7, 1.5e-6, 2.5e-6, 0.9999995, 0.9999994,
             1_700_000_000.0, 1_700_000_000.0000005, 1_700_000_000.9999996, 951_782_399.5,
             253_402_300_799.0, 253_402_300_799.99997, 86_399.999_999_5]
    randoms = [rng.uniform(0, 253_402_300_799) for _ in range(500_000)]
    # Times near now, with sub-microsecond fractions that sit on rounding boundaries.
    near_now = [1_700_000_000 + rng.randrange(10**6) + rng.randrange(10**7) / 10**7
                for _ in range(500_000)]
    mismatches = [s for s in [*edges, *randoms, *near_now] if iso_timestamp(s) != by_datetime(s)]
    assert mismatches == []


@given(st.floats(min_value=0, max_value=253_402_300_799.99997))
def test_iso_timestamp_matches_datetime_on_any_time(seconds: float) -> None:
    assert iso_timestamp(seconds) == by_datetime(seconds)


def test_iso_timestamp_outside_the_fast_range_still_renders_like_datetime() -> None:
    assert iso_timestamp(-1.5) == by_datetime(-1.5)
