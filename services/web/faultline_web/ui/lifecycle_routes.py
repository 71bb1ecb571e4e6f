"""The issue page's lifecycle forms (status with details, comments) and the issue list's
bulk actions. Each is a CSRF-checked form post that calls the query service, then
redirects back (303), so the pages need no script (the CSP forbids inline ones).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response

from faultline.v1 import query_pb2
from faultline_web.deps import OptionalSessionUser, Web, accessible_project
from faultline_web.ui.forms import MAX_FORM_BYTES, check_csrf, read_form
from faultline_web.ui.issue_routes import issues_url, page_issue
from faultline_web.ui.lifecycle_view import IGNORED, RESOLVED, STATUS_ACTIONS
from faultline_web.ui.render import render_error
from faultline_web.ui.session_routes import login_redirect

router = APIRouter(include_in_schema=False)

BULK_ACTIONS = ("resolved", "ignored", "merge")


@router.post("/{org_slug}/{project_slug}/issues/{issue_id}/status/")
async def change_status(
    request: Request, web: Web, signed_in: OptionalSessionUser,
    org_slug: str, project_slug: str, issue_id: str,
) -> Response:
    """The status buttons: a CSRF-checked form post, then back to the issue page."""
    if signed_in is None:
        return login_redirect(request)
    try:
        form = await read_form(request)
        check_csrf(request, signed_in, form)
        action = STATUS_ACTIONS.get(form.get("status", ""))
        if action is None:
            raise HTTPException(400, f"status must be one of {', '.join(STATUS_ACTIONS)}")
        project, numeric_id = await page_issue(web, signed_in, org_slug, project_slug, issue_id)
        await web.query.update_issues(query_pb2.UpdateIssuesRequest(
            project_id=project.id, issue_ids=[numeric_id], status=action[0],
            status_details=action[1], acting_user_id=signed_in.user.user_id,
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
        form = await read_form(request)
        check_csrf(request, signed_in, form)
        text = form.get("text", "").strip()
        if not text:
            raise HTTPException(400, "a comment needs some text")
        project, numeric_id = await page_issue(web, signed_in, org_slug, project_slug, issue_id)
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
    if not values:
        raise HTTPException(400, "select at least one issue")
    if len(values) > 100 or not all(
        v.isascii() and v.isdigit() and 0 < int(v) < 2**63 for v in values
    ):
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
