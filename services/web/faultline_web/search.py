"""Issue-list parameters in Sentry's vocabulary: the ``query`` search and ``sort``.

Only the status terms of Sentry's search syntax are supported (``is:unresolved``,
``is:resolved``, ``is:ignored`` and its newer name ``is:archived``); any other term is
rejected with a clear message rather than silently ignored, so a client never mistakes
an unfiltered list for a filtered one.
"""

from __future__ import annotations

from faultline.v1 import query_pb2

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
}


class SearchError(ValueError):
    """The search or sort cannot be served; the message says why."""


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
