"""The issue list page's data: status tabs, the search box (Sentry's syntax), sorts, paging.

The status tab and the search are combined (both must match): the tab is the request's
``status``, the box is its ``query``. Every link on the page (tabs, sorts, pages) keeps
the other choices, the search included. A search that does not parse, or that the query
service refuses, renders the page with the message next to the box and no issues.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import HTTPException

from faultline.v1 import query_pb2
from faultline_core.storage.postgres.tenancy import Project
from faultline_web.context import WebContext
from faultline_web.deps import SessionUser
from faultline_web.query_client import QueryError
from faultline_web.search import SearchError, checked_query, parse_sort
from faultline_web.store import accessible_projects
from faultline_web.ui import views
from faultline_web.ui.project_page import project_url

PAGE_SIZE = 25
STATUS_FILTERS: dict[str, query_pb2.IssueStatus] = {
    "unresolved": query_pb2.ISSUE_STATUS_UNRESOLVED,
    "resolved": query_pb2.ISSUE_STATUS_RESOLVED,
    "ignored": query_pb2.ISSUE_STATUS_IGNORED,
    "all": query_pb2.ISSUE_STATUS_UNSPECIFIED,
}


def issues_url(project: Project, **params: str) -> str:
    """The list page's URL with the non-empty ``params`` as its query string."""
    return project_url(project, "issues", **params)


async def _page(
    web: WebContext, request: query_pb2.ListIssuesRequest
) -> tuple[query_pb2.ListIssuesResponse, str]:
    """The page, or an empty one and the reason when the search is refused."""
    try:
        return await web.query.list_issues(request), ""
    except QueryError as exc:
        if exc.status_code != 400:
            raise
        return query_pb2.ListIssuesResponse(), str(exc.detail)


def _list_request(
    project: Project, status: str, sort: str, query: str, cursor: str
) -> tuple[query_pb2.ListIssuesRequest, str]:
    """The query service's request for the page, and why the search was refused (the
    request then has no search); 400 for a bad status tab or sort."""
    status_filter = STATUS_FILTERS.get(status)
    if status_filter is None:
        raise HTTPException(400, f"status must be one of {', '.join(STATUS_FILTERS)}")
    try:
        order = parse_sort(sort)
    except SearchError as exc:
        raise HTTPException(400, str(exc)) from exc
    error = ""
    try:
        search = checked_query(query)
    except SearchError as exc:
        search, error = "", str(exc)
    request = query_pb2.ListIssuesRequest(project_id=project.id, status=status_filter,
                                          sort=order, limit=PAGE_SIZE, cursor=cursor,
                                          query=search)
    return request, error


async def list_context(
    web: WebContext, signed_in: SessionUser, project: Project, status: str, sort: str,
    query: str, cursor: str,
) -> tuple[dict[str, Any], int]:
    """The template context of the list page and its HTTP status (400: a bad search)."""
    request, error = _list_request(project, status, sort, query, cursor)
    if error:
        page = query_pb2.ListIssuesResponse()
        projects = await accessible_projects(web.pool, signed_in.user)
    else:
        (page, error), projects = await asyncio.gather(
            _page(web, request), accessible_projects(web.pool, signed_in.user))
    keep = {"status": status, "sort": sort, "query": query}
    return {
        "project": project,
        "projects": [(p, issues_url(p), p.id == project.id) for p in projects],
        "issues": [views.issue_row(issue, issues_url(project) + f"{issue.id}/")
                   for issue in page.issues],
        "status_links": [(name.title(), issues_url(project, **(keep | {"status": name})),
                          name == status) for name in STATUS_FILTERS],
        "sort_links": [(label, issues_url(project, **(keep | {"sort": name})), name == sort)
                       for name, label in views.SORT_LABELS.items()],
        "next_url": issues_url(project, **keep, cursor=page.next_cursor)
        if page.next_cursor else "",
        "first_url": issues_url(project, **keep) if cursor else "",
        "search_url": issues_url(project),
        "query": query,
        "status": status,
        "sort": sort,
        "search_error": error,
    }, 400 if error else 200
