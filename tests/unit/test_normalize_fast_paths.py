"""The normaliser's hand-made fast paths render exactly what the library calls they
replace would (a stored timestamp that moved by a microsecond would be a silent bug)."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faultline_core.normalize_values import (
    ErrorLog,
    iso_datetime,
    iso_timestamp,
    parse_timestamp,
    query_pairs,
)
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


query_text = st.lists(st.sampled_from([*"ab=&;?é +", "%20", "%zz", "=="]), max_size=20).map("".join)


@given(query_text)
def test_query_strings_split_like_parse_qsl(text: str) -> None:
    expected = parse_qsl(text[1:] if text.startswith("?") else text, keep_blank_values=True)
    assert query_pairs(text, "request.query_string", ErrorLog()) == [list(p) for p in expected]


float_chars = st.sampled_from(list("0123456789-+.eE_ infaINFAT:"))
# Built to have "-" at indexes 4 and 7: what _parse_timestamp_text skips float() for.
dated_like = st.tuples(st.text(float_chars, min_size=4, max_size=4),
                       st.text(float_chars, min_size=2, max_size=2),
                       st.text(float_chars, min_size=2, max_size=16)).map("-".join)


@given(dated_like)
def test_text_the_timestamp_parser_never_tries_as_a_float_is_never_one(text: str) -> None:
    """_parse_timestamp_text skips float() for "dddd-dd-…": that must never skip a float."""
    assert text[4] == "-" and text[7] == "-"
    with pytest.raises(ValueError):
        float(text)


def test_iso_breadcrumb_times_still_parse() -> None:
    assert parse_timestamp("2026-11-25T07:36:49.905067Z") == 1795592209.905067
    assert parse_timestamp("2026-11-25") == 1795564800.0
    assert parse_timestamp("2026-02-30T00:00:00Z") is None
