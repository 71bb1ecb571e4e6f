"""Sentry-compatible user feedback endpoints: list a project's or an issue's reports, and
submit a report about an event (``POST .../user-feedback/``, Sentry's user report API).

A report's item: ``{id, eventID, name, email, comments, dateCreated, user, event}``, as
Sentry's UserReport serializer shapes it (``user`` is always null here: reports are not
linked to event users).
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse

from faultline_core.envelope import parse_event_id
from faultline_web.api.issues import link_header
from faultline_web.deps import IssueDep, ProjectDep, Web
from faultline_web.feedback_store import (
    BadCursor,
    NewReport,
    ReportPage,
    StoredReport,
    create_report,
    issue_reports,
    project_reports,
)
from faultline_web.serializers import iso8601

router = APIRouter(prefix="/api/0", tags=["user-feedback"])

# Sentry's limits for a user report.
MAX_COMMENTS = 4096
MAX_NAME = 128
MAX_EMAIL = 128
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str, Query(max_length=200)]


def report_json(report: StoredReport) -> dict[str, Any]:
    """One report in Sentry's UserReport shape."""
    return {
        "id": report.report_id,
        "eventID": report.event_id,
        "name": report.name,
        "email": report.email,
        "comments": report.comments,
        "dateCreated": iso8601(report.created_at),
        "user": None,
        "event": {"id": report.event_id, "eventID": report.event_id},
    }


def page_response(request: Request, page: ReportPage) -> JSONResponse:
    body = [report_json(report) for report in page.reports]
    return JSONResponse(body, headers={"Link": link_header(request, page.next_cursor)})


@router.get("/projects/{org_slug}/{project_slug}/user-feedback/")
async def list_project_reports(
    request: Request, project: ProjectDep, web: Web, limit: Limit = 100, cursor: Cursor = "",
) -> JSONResponse:
    """The project's reports, newest first, whether or not their event has an issue."""
    try:
        page = await project_reports(web.pool, project.id, limit, cursor)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from exc
    return page_response(request, page)


@router.get("/issues/{issue_id}/user-reports/")
@router.get("/organizations/{org_slug}/issues/{issue_id}/user-reports/")
async def list_issue_reports(
    request: Request, ref: IssueDep, web: Web, limit: Limit = 100, cursor: Cursor = "",
) -> JSONResponse:
    """The reports about the issue's events, newest first."""
    try:
        page = await issue_reports(web.pool, ref.project.id, ref.issue_id, limit, cursor)
    except BadCursor as exc:
        raise HTTPException(400, str(exc)) from exc
    return page_response(request, page)


def _text(body: dict[str, Any], key: str, limit: int, *, required: bool = False) -> str:
    """A string field of the body, storable (no NUL, valid UTF-8); 400 when unusable."""
    value = body.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        raise HTTPException(400, f"{key} must be a string")
    text = value.replace("\x00", "").encode("utf-8", "replace").decode("utf-8").strip()
    if required and not text:
        raise HTTPException(400, f"{key} must not be empty")
    if len(text) > limit:
        raise HTTPException(400, f"{key} must be at most {limit} characters")
    return text


async def submitted_report(request: Request) -> NewReport:
    """The report in a POST body; 400 with the reason when it cannot be stored."""
    try:
        body = await request.json()
    except (ValueError, RecursionError) as exc:
        raise HTTPException(400, "the body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    event_id = parse_event_id(body.get("event_id"))
    if event_id is None:
        raise HTTPException(400, "event_id must be 32 hex characters or a UUID")
    email = _text(body, "email", MAX_EMAIL)
    if email and not _EMAIL.fullmatch(email):
        raise HTTPException(400, "email must be an email address")
    return NewReport(event_id, _text(body, "name", MAX_NAME), email,
                     _text(body, "comments", MAX_COMMENTS, required=True))


@router.post("/projects/{org_slug}/{project_slug}/user-feedback/")
async def submit_report(request: Request, project: ProjectDep, web: Web) -> dict[str, Any]:
    """Store a user's report about one of the project's events (which may come later)."""
    report = await submitted_report(request)
    return report_json(await create_report(web.pool, project.id, report))
