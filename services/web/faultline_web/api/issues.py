"""Sentry-compatible issue endpoints: list, details, status updates, tags and volume."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from faultline.v1 import query_pb2
from faultline_core.storage.postgres.tenancy import Project
from faultline_web import serializers
from faultline_web.api.lifecycle import issue_activity
from faultline_web.context import WebContext
from faultline_web.deps import IssueDep, ProjectDep, Web
from faultline_web.feedback_store import issue_report_count
from faultline_web.search import SearchError, checked_query, parse_sort

router = APIRouter(prefix="/api/0", tags=["issues"])

# Cursors are opaque tokens of the query service; these characters cover base64url and
# Sentry's own ``ts:offset:is_prev`` form, and nothing that could break a Link header.
_CURSOR_CHARS = re.compile(r"[A-Za-z0-9_\-.:=]*")
VOLUME_RANGES = {"24h": query_pb2.VOLUME_RANGE_24H, "14d": query_pb2.VOLUME_RANGE_14D}


def base_url(request: Request, web: WebContext) -> str:
    """Where the UI lives, for permalinks: the configured public URL, else this request's."""
    return web.settings.public_url or str(request.base_url)


def header_safe_cursor(cursor: str) -> str:
    """The cursor when it can sit inside the header's quoted attribute, else empty."""
    return cursor if _CURSOR_CHARS.fullmatch(cursor) else ""


def link_header(request: Request, next_cursor: str) -> str:
    """Sentry's pagination header; clients follow ``rel="next"`` while results="true"."""
    current = header_safe_cursor(request.query_params.get("cursor", ""))
    next_cursor = header_safe_cursor(next_cursor)
    previous_url = request.url.include_query_params(cursor=current)
    next_url = request.url.include_query_params(cursor=next_cursor)
    has_next = "true" if next_cursor else "false"
    return (
        f'<{previous_url}>; rel="previous"; results="false"; cursor="{current}", '
        f'<{next_url}>; rel="next"; results="{has_next}"; cursor="{next_cursor}"'
    )


@router.get("/projects/{org_slug}/{project_slug}/issues/")
async def list_project_issues(
    request: Request,
    project: ProjectDep,
    web: Web,
    query: str | None = None,
    sort: str | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str, Query(max_length=1000)] = "",
) -> JSONResponse:
    """A page of the project's issues matching ``query`` (Sentry's search syntax, default
    ``is:unresolved``), newest activity first by default."""
    try:
        search = checked_query(query)
        order = parse_sort(sort)
    except SearchError as exc:
        raise HTTPException(400, str(exc)) from exc
    page = await web.query.list_issues(
        query_pb2.ListIssuesRequest(
            project_id=project.id, query=search, sort=order, limit=limit, cursor=cursor
        )
    )
    base = base_url(request, web)
    body = [serializers.issue_json(issue, project, base) for issue in page.issues]
    return JSONResponse(body, headers={"Link": link_header(request, page.next_cursor)})


async def issue_details(request: Request, web: WebContext, project: Project, issue_id: int) -> (
    dict[str, Any]
):
    """The issue with Sentry's group-details extras: 24h volume and a tag summary."""
    issue, volume, tags = await asyncio.gather(
        web.query.get_issue(project.id, issue_id),
        web.query.event_volume(project.id, issue_id, query_pb2.VOLUME_RANGE_24H),
        web.query.tag_breakdown(project.id, issue_id, top_n=1),
    )
    body = serializers.issue_json(issue, project, base_url(request, web))
    body.update(serializers.seen_in_details(issue))
    body["stats"] = {"24h": serializers.volume_points(volume)}
    body["tags"] = serializers.tags_json(tags, with_values=False)
    body["userReportCount"] = await issue_report_count(web.pool, project.id, issue_id)
    body["activity"] = await issue_activity(web, project.id, issue.id)
    return body


@router.get("/issues/{issue_id}/")
@router.get("/organizations/{org_slug}/issues/{issue_id}/")
async def get_issue(request: Request, ref: IssueDep, web: Web) -> dict[str, Any]:
    return await issue_details(request, web, ref.project, ref.issue_id)


@router.get("/issues/{issue_id}/tags/")
@router.get("/organizations/{org_slug}/issues/{issue_id}/tags/")
async def issue_tags(ref: IssueDep, web: Web) -> list[dict[str, Any]]:
    """The issue's tag breakdown: for each key, its totals and most frequent values."""
    breakdown = await web.query.tag_breakdown(ref.project.id, ref.issue_id)
    return serializers.tags_json(breakdown, with_values=True)


@router.get("/issues/{issue_id}/stats/")
@router.get("/organizations/{org_slug}/issues/{issue_id}/stats/")
async def issue_stats(
    ref: IssueDep, web: Web, period: Annotated[str, Query(alias="range")] = "24h"
) -> list[list[int]]:
    """Event volume as ``[[unix_seconds, count], ...]``: hourly over 24h, daily over 14d."""
    volume_range = VOLUME_RANGES.get(period)
    if volume_range is None:
        raise HTTPException(400, f"range must be one of {', '.join(VOLUME_RANGES)}")
    volume = await web.query.event_volume(ref.project.id, ref.issue_id, volume_range)
    return serializers.volume_points(volume)
