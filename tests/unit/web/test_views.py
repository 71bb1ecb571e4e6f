"""Pure helpers: search parsing, lenient event readers, the event view, redirects."""

from __future__ import annotations

from typing import Any

import pytest

from faultline.v1 import query_pb2
from faultline_web import eventdata
from faultline_web.search import SearchError, parse_sort, parse_status_query
from faultline_web.serializers import event_entries, short_id
from faultline_web.ui.event_view import MAX_VALUE_CHARS, event_view
from faultline_web.ui.forms import safe_next


def test_status_query_defaults_to_unresolved_like_sentry() -> None:
    assert parse_status_query(None) == query_pb2.ISSUE_STATUS_UNRESOLVED
    assert parse_status_query("") == query_pb2.ISSUE_STATUS_UNSPECIFIED
    assert parse_status_query("  is:resolved  ") == query_pb2.ISSUE_STATUS_RESOLVED
    assert parse_status_query("is:ignored is:ignored") == query_pb2.ISSUE_STATUS_IGNORED


@pytest.mark.parametrize("query", ["is:", "is:open", "text", "status:resolved",
                                   "is:resolved is:unresolved"])
def test_unsupported_searches_are_errors(query: str) -> None:
    with pytest.raises(SearchError):
        parse_status_query(query)


def test_sorts() -> None:
    assert parse_sort(None) == query_pb2.ISSUE_SORT_LAST_SEEN
    assert parse_sort("new") == query_pb2.ISSUE_SORT_FIRST_SEEN
    assert parse_sort("freq") == query_pb2.ISSUE_SORT_COUNT
    with pytest.raises(SearchError):
        parse_sort("trends")


def test_short_ids_are_unique_per_id() -> None:
    assert short_id("web", 0) == "WEB-0"
    assert short_id("web", 35) == "WEB-Z"
    assert short_id("web", 36) == "WEB-10"
    assert len({short_id("p", n) for n in range(5000)}) == 5000


def test_readers_accept_every_sdk_shape() -> None:
    assert eventdata.pairs({"a": 1, "b": None}) == [("a", "1"), ("b", "")]
    assert eventdata.pairs([["a", "x"], ["b"], "junk", [None, "y"]]) == [("a", "x")]
    assert eventdata.query_pairs("?a=1&b=") == [("a", "1"), ("b", "")]
    assert eventdata.cookie_pairs("sid=1; theme=dark; junk") == [("sid", "1"), ("theme", "dark")]
    assert eventdata.values_list([{"a": 1}, 3]) == eventdata.values_list({"values": [{"a": 1}]})
    assert eventdata.message_of({"logentry": {"message": "tpl %s", "formatted": "tpl x"}}) == (
        "tpl x")
    assert eventdata.load_event_data("[1]") == eventdata.load_event_data("{bad") == {}


def test_event_view_survives_garbage() -> None:
    hostile: dict[str, Any] = {
        "exception": {"values": [{"type": 5, "stacktrace": {"frames": [1, {"lineno": "x"}]}}]},
        "request": {"headers": "not-a-map", "data": {"deep": [1, 2]}},
        "contexts": {"os": "flat", "runtime": {"name": "CPython"}},
        "breadcrumbs": [{"timestamp": 1e300}, {"timestamp": "yesterday", "data": {"k": "v"}}],
        "user": ["not", "a", "map"],
        "errors": [{"type": "invalid_data"}],
    }
    view = event_view("e" * 32, hostile)
    assert view.exceptions[0].type == "5"
    assert view.exceptions[0].frames[0].lineno is None
    assert view.request is not None and view.request.headers == []
    assert '"deep"' in view.request.body
    assert view.contexts == [("runtime", [("name", "CPython")])]
    assert [crumb.timestamp for crumb in view.breadcrumbs] == ["1e+300", "yesterday"]
    assert view.user == []
    assert view.errors == ['{"type": "invalid_data"}']
    assert event_entries(hostile)[0]["type"] == "exception"


def test_event_view_orders_and_numbers_source_lines() -> None:
    frames = [
        {"filename": "outer.py", "lineno": 3, "in_app": False},
        {"filename": "inner.py", "lineno": 10, "in_app": True, "context_line": "boom()",
         "pre_context": ["a", "b"], "post_context": ["c"]},
    ]
    data = {"exception": {"values": [
        {"type": "Cause", "stacktrace": {"frames": []}},
        {"type": "Effect", "stacktrace": {"frames": frames}},
    ]}}
    view = event_view("e" * 32, data)
    assert [exc.type for exc in view.exceptions] == ["Effect", "Cause"]
    newest = view.exceptions[0].frames[0]
    assert newest.location == "inner.py" and newest.in_app
    assert [(line.lineno, line.code, line.current) for line in newest.source] == [
        (8, "a", False), (9, "b", False), (10, "boom()", True), (11, "c", False)]


def test_huge_values_are_clipped() -> None:
    view = event_view("e" * 32, {"message": "x" * (MAX_VALUE_CHARS * 3)})
    assert len(view.message) < MAX_VALUE_CHARS + 10


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/acme/x/issues/", "/acme/x/issues/"), ("//evil.test", "/"), ("https://evil.test", "/"),
     ("/\\evil.test", "/"), ("/ok\r\nSet-Cookie: x", "/"), (None, "/"), ("", "/")],
)
def test_redirect_targets_stay_on_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected
