"""The issue search SQL builders (pure): parameters, never interpolated values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from faultline_core.issue_search import EventTerm, TextTerm, parse_issue_search
from faultline_query.issues import Cursor, IssueSortKey
from faultline_query.search_sql import (
    MAX_MATCHED_HASHES,
    PageRequest,
    SearchTooBroad,
    clickhouse_prefilters,
    issue_page_sql,
    prefilter_hashes,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def page(**changes: object) -> PageRequest:
    base: dict[str, object] = {"project_id": 7, "sort": IssueSortKey.LAST_SEEN,
                               "status": None, "limit": 25, "cursor": None, "now": NOW}
    base.update(changes)
    return PageRequest(**base)  # type: ignore[arg-type]


def test_no_search_is_the_plain_list() -> None:
    sql, params = issue_page_sql(parse_issue_search(""), page(status="resolved"), {})
    assert "WHERE project_id = %s AND times_seen > 0 AND status = %s" in sql
    assert sql.endswith("ORDER BY last_seen DESC, id DESC LIMIT %s")
    assert params == [7, "resolved", 26]


def test_issue_terms_become_parameters() -> None:
    search = parse_issue_search(
        "is:resolved !level:[error,fatal] times_seen:>10 firstSeen:-24h environment:prod"
        " !release:latest")
    sql, params = issue_page_sql(search, page(), {})
    assert "status = %s" in sql and "NOT (level = ANY(%s))" in sql
    assert "times_seen > %s" in sql and "first_seen >= %s" in sql
    assert "EXISTS (SELECT 1 FROM issue_environments t" in sql
    assert "NOT (EXISTS (SELECT 1 FROM issue_releases t" in sql and "project_releases" in sql
    assert params == [7, "resolved", ["error", "fatal"], 10, NOW - timedelta(hours=24),
                      ["prod"], ["latest"], 7, 26]
    for value in ("prod", "error", "latest"):
        assert value not in sql


def test_users_sort_and_cursor() -> None:
    cursor = Cursor(IssueSortKey.USERS_SEEN, 4, 99)
    sql, params = issue_page_sql(
        parse_issue_search(""), page(sort=IssueSortKey.USERS_SEEN, cursor=cursor, limit=2), {})
    assert "(users_seen, id) < (%s, %s)" in sql
    assert "users_seen AS sort_value" in sql
    assert sql.endswith("ORDER BY users_seen DESC, id DESC LIMIT %s")
    assert params[-3:] == [4, 99, 3]


def test_text_escapes_like_wildcards() -> None:
    search = parse_issue_search(r'"100%_off\\"')  # the phrase 100%_off and a backslash
    hashes = {search.terms[0]: ["h1"]}
    sql, params = issue_page_sql(search, page(), hashes)
    assert "(title ILIKE %s OR culprit ILIKE %s OR id IN (SELECT issue_id FROM grouphashes" in sql
    assert params[1] == params[2] == "%100\\%\\_off\\\\%"
    assert params[3:5] == [7, ["h1"]]


def test_clickhouse_prefilters() -> None:
    search = parse_issue_search(
        "browser:Firefox user.email:[a@x.io,b@x.io] !os:Linux oops level:error")
    prefilters = clickhouse_prefilters(7, search)
    assert [prefilter.name for prefilter in prefilters] == ["events", "not_2", "text_0"]
    events_sql, events_params = prefilters[0].query
    assert events_sql.startswith("SELECT DISTINCT primary_hash AS hash FROM errors FINAL"
                                 " WHERE project_id = %(project_id)s AND deleted = 0")
    assert "arrayExists((k, v) -> k = %(k0)s AND (v = %(v0_0)s), tags.key, tags.value)" \
        in events_sql
    assert "user_email IN (%(v1_0)s, %(v1_1)s)" in events_sql
    assert events_params["hash_limit"] == MAX_MATCHED_HASHES + 1
    assert events_params["v1_1"] == "b@x.io" and events_params["project_id"] == 7
    assert prefilters[1].query[1]["v0_0"] == "Linux"
    assert "positionCaseInsensitiveUTF8(message, %(text)s)" in prefilters[2].query[0]
    hashes = prefilter_hashes(prefilters, [["a"], ["b"], ["c"]])
    sql, params = issue_page_sql(search, page(), hashes)
    assert sql.count("grouphashes") == 3 and "NOT (id IN (SELECT issue_id" in sql
    assert ["a"] in params and ["b"] in params and ["c"] in params


def test_too_many_hashes_is_refused() -> None:
    search = parse_issue_search("browser:x")
    prefilters = clickhouse_prefilters(7, search)
    with pytest.raises(SearchTooBroad, match="narrow"):
        prefilter_hashes(prefilters, [[str(n) for n in range(MAX_MATCHED_HASHES + 1)]])
    assert prefilter_hashes(prefilters, [["x"]]) == {EventTerm("browser", ("x",)): ["x"]}
    assert TextTerm("x") not in prefilter_hashes(prefilters, [["x"]])
