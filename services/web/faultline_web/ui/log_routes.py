"""The log search page: a search box, level and period choices, and the matching lines."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response

from faultline.v1 import query_pb2
from faultline_core.storage.clickhouse.logs_table import LEVELS
from faultline_core.storage.postgres.tenancy import Project
from faultline_web.api.logs import LogQueryError, search_request
from faultline_web.context import WebContext
from faultline_web.deps import OptionalSessionUser, Web
from faultline_web.serializers import to_datetime
from faultline_web.ui.project_page import project_page, project_url

router = APIRouter(include_in_schema=False)

PAGE_SIZE = 50
PERIODS = ("1h", "24h", "7d", "30d")
# CSS classes of the issue list's level badges.
_LEVEL_CLASS = {"warn": "warning", "trace": "debug"}


@dataclass(frozen=True)
class LogLine:
    """One log line as the page shows it."""

    timestamp: datetime
    level: str
    level_class: str
    body: str
    trace_id: str
    attributes: list[tuple[str, str]]


def logs_url(project: Project, **params: str) -> str:
    """The log page's URL with the non-empty ``params`` as its query string."""
    return project_url(project, "logs", **params)


def log_line(row: query_pb2.LogRow) -> LogLine:
    """The page's view of a row; the SDK's own ``sentry.*`` attributes are left out."""
    return LogLine(
        timestamp=to_datetime(row.timestamp), level=row.level,
        level_class=_LEVEL_CLASS.get(row.level, row.level), body=row.body,
        trace_id=row.trace_id,
        attributes=[(a.key, a.value) for a in row.attributes if not a.key.startswith("sentry.")],
    )


async def logs_context(
    web: WebContext, project: Project, query: str, level: str, period: str, cursor: str
) -> dict[str, object]:
    if level and level not in LEVELS:
        raise HTTPException(400, f"level must be one of {', '.join(LEVELS)}")
    if period not in PERIODS:
        raise HTTPException(400, f"period must be one of {', '.join(PERIODS)}")
    try:
        request = search_request(project.id, query, [level] if level else [], period,
                                 PAGE_SIZE, cursor)
    except LogQueryError as exc:
        raise HTTPException(400, str(exc)) from exc
    page = await web.query.search_logs(request)
    params = {"query": query, "level": level, "period": period}
    return {
        "project": project,
        "query": query,
        "level": level,
        "period": period,
        "levels": LEVELS,
        "periods": PERIODS,
        "lines": [log_line(row) for row in page.rows],
        "action_url": logs_url(project),
        "next_url": logs_url(project, **params, cursor=page.next_cursor)
        if page.next_cursor else "",
        "first_url": logs_url(project, **params) if cursor else "",
    }


@router.get("/{org_slug}/{project_slug}/logs/")
async def logs_page(
    request: Request,
    web: Web,
    signed_in: OptionalSessionUser,
    org_slug: str,
    project_slug: str,
    query: Annotated[str, Query(max_length=1000)] = "",
    level: Annotated[str, Query(max_length=20)] = "",
    period: Annotated[str, Query(max_length=20)] = "24h",
    cursor: Annotated[str, Query(max_length=1000)] = "",
) -> Response:
    """The log search page of a project."""
    return await project_page(
        request, web, signed_in, org_slug, project_slug, "logs.html",
        lambda project: logs_context(web, project, query, level, period, cursor))
