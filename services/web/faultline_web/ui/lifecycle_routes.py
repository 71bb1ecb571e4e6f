"""The issue page's lifecycle forms (status with details, comments) and the issue list's
bulk actions. Each is a CSRF-checked form post that calls the query service, then
redirects back (303), so the pages need no script (the CSP forbids inline ones).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar
from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from faultline.v1 import query_pb2
from faultline_core.storage.postgres.tenancy import Project
from faultline_web.context import WebContext
from faultline_web.deps import OptionalSessionUser, SessionUser, Web, accessible_project
from faultline_web.lifecycle_body import is_issue_id
from faultline_web.ui.forms import MAX_FORM_BYTES, check_csrf, read_form
from faultline_web.ui.issue_list import issues_url
from faultline_web.ui.issue_routes import page_issue
from faultline_web.ui.lifecycle_view import IGNORED, RESOLVED, STATUS_ACTIONS, StatusAction
from faultline_web.ui.render import render_error
from faultline_web.ui.session_routes import login_redirect

router = APIRouter(include_in_schema=False)

BULK_ACTIONS = ("resolved", "ignored", "merge")
T = TypeVar("T")


async def _issue_form(
    request: Request, web: WebContext, signed_in: SessionUser,
    org_slug: str, project_slug: str, issue_id: str, parse: Callable[[dict[str, str]], T],
) -> tuple[Project, int, T]:
    """A form posted to the issue page: CSRF-checked, its fields parsed, then the issue
    of the URL looked up (so a bad field answers 400 before any access check)."""
    form = await read_form(request)
    check_csrf(request, signed_in, form)
    value = parse(form)
    project, numeric_id = await page_issue(web, signed_in, org_slug, project_slug, issue_id)
    return project, numeric_id, value


def _status_action(form: dict[str, str]) -> StatusAction:
    action = STATUS_ACTIONS.get(form.get("status", ""))
    if action is None:
        raise HTTPException(400, f"status must be one of {', '.join(STATUS_ACTIONS)}")
    return action


def _comment_text(form: dict[str, str]) -> str:
    text = form.get("text", "").strip()
    if not text:
        raise HTTPException(400, "a comment needs some text")
    return text


@router.post("/{org_slug}/{project_slug}/issues/{issue_id}/status/")
async def change_status(
    request: Request, web: Web, signed_in: OptionalSessionUser,
    org_slug: str, project_slug: str, issue_id: str,
) -> Response:
    """The status buttons: a CSRF-checked form post, then back to the issue page."""
    if signed_in is None:
        return login_redirect(request)
    try:
        project, numeric_id, (status, details, _) = await _issue_form(
            request, web, signed_in, org_slug, project_slug, issue_id, _status_action)
        await web.query.update_issues(query_pb2.UpdateIssuesRequest(
            project_id=project.id, issue_ids=[numeric_id], status=status,
            status_details=details, acting_user_id=signed_in.user.user_id,
        ))
    except HTTPException as exc:
        return render_error(request, exc.status_code, str(exc.detail), signed_in)
    return RedirectResponse(f"{issues_url(project)}{numeric_id}/", status_code=303)


@router.post("/{org_slug}/{project_slug}/issues/{issue_id}/comments/")
async def add_comment(
    request: Request, web: Web, signed_in: OptionalSessionUser,
    org_slug: str, project_slug: str, issue_id: str,
) -> Response:
    """The comment form on the issue page."""
    if signed_in is None:
        return login_redirect(request)
    try:
        project, numeric_id, text = await _issue_form(
            request, web, signed_in, org_slug, project_slug, issue_id, _comment_text)
        await web.query.add_comment(project.id, numeric_id, text, signed_in.user.user_id)
    except HTTPException as exc:
        return render_error(request, exc.status_code, str(exc.detail), signed_in)
    return RedirectResponse(f"{issues_url(project)}{numeric_id}/#activity", status_code=303)


async def read_multi_form(request: Request) -> dict[str, list[str]]:
    """A form's fields with every value (the bulk form repeats ``id``)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, "form too large")
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise HTTPException(400, "expected an HTML form submission")
    try:
        return parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=110)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, "malformed form") from exc


def bulk_ids(values: list[str]) -> list[int]:
    """The issues checked on the list page; 400 unless 1 to 100 issue ids."""
    if not values:
        raise HTTPException(400, "select at least one issue")
    if len(values) > 100 or not all(is_issue_id(v) for v in values):
        raise HTTPException(400, "invalid issue selection")
    return [int(v) for v in values]


@router.post("/{org_slug}/{project_slug}/issues/bulk/")
async def bulk_action(
    request: Request, web: Web, signed_in: OptionalSessionUser,
    org_slug: str, project_slug: str,
) -> Response:
    """The issue list's bulk buttons: resolve, ignore or merge the checked issues."""
    if signed_in is None:
        return login_redirect(request)
    try:
        fields = await read_multi_form(request)
        check_csrf(request, signed_in, {"csrf_token": (fields.get("csrf_token") or [""])[0]})
        action = (fields.get("action") or [""])[0]
        if action not in BULK_ACTIONS:
            raise HTTPException(400, f"action must be one of {', '.join(BULK_ACTIONS)}")
        ids = bulk_ids(fields.get("id", []))
        project = await accessible_project(web, signed_in.user, org_slug, project_slug)
        user_id = signed_in.user.user_id
        if action == "merge":
            if len(set(ids)) < 2:
                raise HTTPException(400, "select at least two issues to merge")
            await web.query.merge_issues(project.id, ids, user_id)
        else:
            status = RESOLVED if action == "resolved" else IGNORED
            await web.query.update_issues(query_pb2.UpdateIssuesRequest(
                project_id=project.id, issue_ids=ids, status=status, acting_user_id=user_id))
    except HTTPException as exc:
        return render_error(request, exc.status_code, str(exc.detail), signed_in)
    return RedirectResponse(issues_url(project), status_code=303)
