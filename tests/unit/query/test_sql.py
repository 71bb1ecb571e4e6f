"""The ClickHouse query builders (pure): scoping, deduplication and parameters."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from faultline_core.storage.clickhouse.sql import render
from faultline_query import sql
from faultline_query.sql import Interval, Query

START = datetime(2025, 3, 1, tzinfo=UTC)
END = datetime(2025, 3, 2, tzinfo=UTC)
EVENT_ID = "0123456789abcdef0123456789abcdef"

BUILDERS: dict[str, Callable[[], Query]] = {
    "volume_project": lambda: sql.event_volume(7, None, START, END, Interval.HOUR),
    "volume_group": lambda: sql.event_volume(7, 3, START, END, Interval.DAY),
    "tag_totals": lambda: sql.tag_totals(7, 3, ["browser", "os"]),
    "tag_totals_project": lambda: sql.tag_totals(7, None, ["browser"]),
    "tag_top_values": lambda: sql.tag_top_values(7, 3, ["browser", "os"], 5),
    "user_counts": lambda: sql.user_counts(7, [3, 4, 5]),
    "event_by_id": lambda: sql.event_by_id(7, EVENT_ID),
    "latest_event": lambda: sql.latest_event(7, 3),
}


@pytest.fixture(params=sorted(BUILDERS))
def query(request: pytest.FixtureRequest) -> Query:
    return BUILDERS[request.param]()


def test_where_clause_starts_with_the_project(query: Query) -> None:
    text, params = query
    where = text.split(" WHERE ", 1)[1]
    assert where.startswith("project_id = %(project_id)s AND ")
    assert params["project_id"] == 7


def test_reads_deduplicated_rows_and_skips_deleted(query: Query) -> None:
    text, _ = query
    assert "FROM errors FINAL" in text
    assert "deleted = 0" in text


def test_every_placeholder_has_a_param_and_every_param_is_used(query: Query) -> None:
    text, params = query
    placeholders = set(re.findall(r"%\((\w+)\)s", text))
    assert placeholders == set(params)
    rendered = render(text, params)
    assert "%(" not in rendered


def test_group_filter_only_when_a_group_is_given() -> None:
    project_sql, project_params = sql.event_volume(7, None, START, END, Interval.HOUR)
    group_sql, group_params = sql.event_volume(7, 3, START, END, Interval.HOUR)
    assert "group_id" not in project_sql and "group_id" not in project_params
    assert "group_id = %(group_id)s" in group_sql and group_params["group_id"] == 3


def test_timestamps_are_compared_through_to_datetime() -> None:
    text, params = sql.event_volume(7, None, START, END, Interval.DAY)
    assert "timestamp >= toDateTime(%(start)s)" in text
    assert "timestamp < toDateTime(%(end)s)" in text
    assert "toStartOfDay(timestamp)" in text
    assert (params["start"], params["end"]) == (START, END)


def test_lists_become_one_placeholder_per_value() -> None:
    text, params = sql.user_counts(7, [3, 4])
    assert "group_id IN (%(group_0)s, %(group_1)s)" in text
    assert (params["group_0"], params["group_1"]) == (3, 4)
    assert "group_id IN (3, 4)" in render(text, params)


def test_tag_values_limited_per_key() -> None:
    text, params = sql.tag_top_values(7, None, ["url"], 3)
    assert render(text, params).endswith("LIMIT 3 BY tag_key")


def test_event_id_is_passed_in_the_dashed_form_old_servers_parse() -> None:
    _, params = sql.event_by_id(7, EVENT_ID)
    assert params["event_id"] == "01234567-89ab-cdef-0123-456789abcdef"


def test_empty_lists_and_bad_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        sql.user_counts(7, [])
    with pytest.raises(ValueError, match="at least one"):
        sql.tag_totals(7, 3, [])
    with pytest.raises(ValueError, match="top_n"):
        sql.tag_top_values(7, 3, ["url"], 0)
