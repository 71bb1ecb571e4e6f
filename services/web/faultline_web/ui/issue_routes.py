"""The issue list and issue detail pages (the lifecycle forms are in lifecycle_routes)."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from faultline.v1 import query_pb2
from faultline_core.storage.postgres.tenancy import Project
from faultline_web.context import WebContext
from faultline_web.deps import (
    NOT_FOUND,
    OptionalSessionUser,
    SessionUser,
    Web,
    accessible_issue,
    accessible_project,
)
from faultline_web.eventdata import load_event_data
from faultline_web.query_client import QueryError
from faultline_web.ui import issue_list, views
from faultline_web.ui.attachments_view import event_attachment_rows
from faultline_web.ui.event_view import event_view
from faultline_web.ui.feedback_view import issue_feedback
from faultline_web.ui.grouping_view import event_grouping
from faultline_web.ui.issue_list import issues_url
from faultline_web.ui.lifecycle_view import activity_rows, status_buttons
from faultline_web.ui.render import render, render_error
from faultline_web.ui.session_routes import login_redirect

router = APIRouter(include_in_schema=False)


@router.get("/{org_slug}/{project_slug}/issues/")
async def issue_list_page(
    request: Request,
    web: Web,
    signed_in: OptionalSessionUser,
    org_slug: str,
    project_slug: str,
    status: str = "unresolved",
    sort: str = "date",
    query: Annotated[str, Query(max_length=2000)] = "",
    cursor: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    """The issue list: status tabs, a search box (Sentry's syntax) and sorts."""
    if signed_in is None:
        return login_redirect(request)
    try:
        project = await accessible_project(web, signed_in.user, org_slug, project_slug)
        context, code = await issue_list.list_context(
            web, signed_in, project, status, sort, query, cursor)
    except HTTPException as exc:
        return render_error(request, exc.status_code, str(exc.detail), signed_in)
    return render(request, "issues.html", context, signed_in, status_code=code)


async def page_issue(
    web: WebContext, signed_in: SessionUser, org_slug: str, project_slug: str, issue_id: str
) -> tuple[Project, int]:
    """The issue addressed by a page URL; its project must be the one in the URL."""
    project, numeric_id = await accessible_issue(web, signed_in.user, issue_id, org_slug)
    if project.slug != project_slug:
        raise HTTPException(404, NOT_FOUND)
    return project, numeric_id


async def optional_latest_event(
    web: WebContext, project_id: int, issue_id: int
) -> query_pb2.Event | None:
    try:
        return await web.query.latest_event(project_id, issue_id)
    except QueryError as exc:
        if exc.status_code == 404:  # the issue exists but its events have expired
            return None
        raise


async def detail_context(web: WebContext, project: Project, issue_id: int) -> dict[str, object]:
    issue, volume, tags, event = await asyncio.gather(
        web.query.get_issue(project.id, issue_id),
        web.query.event_volume(project.id, issue_id, query_pb2.VOLUME_RANGE_24H),
        web.query.tag_breakdown(project.id, issue_id, top_n=5),
        optional_latest_event(web, project.id, issue_id),
    )
    base = issues_url(project)
    return {
        "project": project,
        "issue": views.issue_row(issue, f"{base}{issue.id}/"),
        "short_id": views.issue_short_id(project, issue.id),
        "list_url": base,
        "status_url": f"{base}{issue.id}/status/",
        "status_buttons": status_buttons(),
        "activity": await activity_rows(web, project.id, issue.id),
        "comment_url": f"{base}{issue.id}/comments/",
        "chart": views.volume_chart(volume),
        "tags": views.tag_rows(tags),
        "seen_in": {"Environments": views.seen_in_rows(issue.environments),
                    "Releases": views.seen_in_rows(issue.releases)},
        "feedback": await issue_feedback(web, project.id, issue_id),
        "event": event_view(event.event_id, load_event_data(event.data_json)) if event else None,
        "event_time": views.event_time(event) if event else None,
        "attachments": await event_attachment_rows(
            web, project, event.event_id if event else None),
        "grouping": await event_grouping(web, project, event),
    }


@router.get("/{org_slug}/{project_slug}/issues/{issue_id}/")
async def issue_page(
    request: Request, web: Web, signed_in: OptionalSessionUser,
    org_slug: str, project_slug: str, issue_id: str,
) -> Response:
    if signed_in is None:
        return login_redirect(request)
    try:
        project, numeric_id = await page_issue(web, signed_in, org_slug, project_slug, issue_id)
        context = await detail_context(web, project, numeric_id)
    except HTTPException as exc:
        return render_error(request, exc.status_code, str(exc.detail), signed_in)
    return render(request, "issue.html", context, signed_in)
