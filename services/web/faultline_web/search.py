"""Issue-list parameters in Sentry's vocabulary: the ``query`` search and ``sort``.

The search takes Sentry's full issue search syntax (see :mod:`faultline_core.issue_search`);
the web checks it here, so a malformed search is a 400 with the parser's message before
any RPC, and hands the text on to the query service, which runs it.
:func:`parse_status_query` is the older status-only reading, for callers that act on a
status alone.
"""

from __future__ import annotations

from faultline.v1 import query_pb2
from faultline_core.issue_search import SearchSyntaxError, parse_issue_search

DEFAULT_QUERY = "is:unresolved"
DEFAULT_SORT = "date"

_STATUS_TERMS: dict[str, query_pb2.IssueStatus] = {
    "unresolved": query_pb2.ISSUE_STATUS_UNRESOLVED,
    "resolved": query_pb2.ISSUE_STATUS_RESOLVED,
    "ignored": query_pb2.ISSUE_STATUS_IGNORED,
    "archived": query_pb2.ISSUE_STATUS_IGNORED,
}
SORTS: dict[str, query_pb2.IssueSort] = {
    "date": query_pb2.ISSUE_SORT_LAST_SEEN,
    "new": query_pb2.ISSUE_SORT_FIRST_SEEN,
    "freq": query_pb2.ISSUE_SORT_COUNT,
    "user": query_pb2.ISSUE_SORT_USERS,
}


class SearchError(ValueError):
    """The search or sort cannot be served; the message says why."""


def checked_query(query: str | None) -> str:
    """The search to run (``None``: Sentry's default, ``is:unresolved``; empty: every
    issue), once it is known to parse; :class:`SearchError` with the reason otherwise."""
    text = DEFAULT_QUERY if query is None else query.strip()
    try:
        parse_issue_search(text)
    except SearchSyntaxError as exc:
        raise SearchError(str(exc)) from exc
    return text


def parse_status_query(query: str | None) -> query_pb2.IssueStatus:
    """The status filter of a search (``None``: Sentry's default, unresolved only).

    An empty search means every status.
    """
    terms = (DEFAULT_QUERY if query is None else query).split()
    statuses: set[query_pb2.IssueStatus] = set()
    for term in terms:
        name, sep, value = term.partition(":")
        if not sep or name != "is" or value not in _STATUS_TERMS:
            raise SearchError(f"unsupported search term {term[:80]!r}: only is:<status> works")
        statuses.add(_STATUS_TERMS[value])
    if len(statuses) > 1:
        raise SearchError("an issue has one status: give at most one is:<status> term")
    return statuses.pop() if statuses else query_pb2.ISSUE_STATUS_UNSPECIFIED


def parse_sort(sort: str | None) -> query_pb2.IssueSort:
    name = sort or DEFAULT_SORT
    if name not in SORTS:
        raise SearchError(f"unsupported sort {name[:40]!r}: use one of {', '.join(SORTS)}")
    return SORTS[name]
