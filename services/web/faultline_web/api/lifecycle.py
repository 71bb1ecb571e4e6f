"""Sentry-shaped issue lifecycle endpoints: status/assignment updates (one issue or a
bulk list), merge, unmerge by hash, grouping hashes, comments and the activity log.

Every write is a query-service RPC (one transaction there); this module parses bodies,
resolves ``assignedTo`` emails, and shapes replies like Sentry's web API.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request

from faultline.v1 import query_pb2
from faultline_core.storage.postgres.tenancy import Project, TokenUser
from faultline_web import serializers
from faultline_web.context import WebContext
from faultline_web.deps import CurrentUser, IssueDep, ProjectDep, Web
from faultline_web.lifecycle_body import BodyError, IssueUpdate, is_issue_id, parse_update
from faultline_web.lifecycle_store import user_id_by_email

router = APIRouter(prefix="/api/0", tags=["issues"])
MAX_BULK = 100


async def json_body(request: Request) -> Any:
    """The request's JSON body; 400 when it is not JSON."""
    try:
        return await request.json()
    except ValueError as exc:
        raise HTTPException(400, "the body must be a JSON object") from exc


def parse(body: Any, bulk: bool = False) -> IssueUpdate:
    """The update a body asks for; 400 with the reason when it is malformed."""
    try:
        return parse_update(body, bulk=bulk)
    except BodyError as exc:
        raise HTTPException(400, str(exc)) from exc


async def update_request(
    web: WebContext, project: Project, issue_ids: list[int], update: IssueUpdate,
    user: TokenUser,
) -> query_pb2.UpdateIssuesRequest:
    """The RPC for ``update``; an ``assignedTo`` email must name a known user (else 400)."""
    request = query_pb2.UpdateIssuesRequest(
        project_id=project.id, issue_ids=issue_ids, status=update.status,
        status_details=update.details, acting_user_id=user.user_id,
    )
    if update.assignee is not None:
        request.set_assignee = True
        request.assignee_user_id = update.assignee.user_id
        if update.assignee.email:
            found = await user_id_by_email(web.pool, update.assignee.email)
            if found is None:
                raise HTTPException(400, "assignedTo: no user with this email")
            request.assignee_user_id = found
    return request


def update_json(reply: query_pb2.UpdateIssuesResponse) -> dict[str, Any]:
    """Sentry's PUT reply: the new status, its details and the assignee."""
    return {
        "status": serializers.status_name(reply.status),
        "statusDetails": json.loads(reply.status_details_json or "{}"),
        "substatus": reply.substatus or None,
        "assignedTo": serializers.assignee_json(reply.assignee_user_id, reply.assignee_email),
    }


@router.put("/issues/{issue_id}/")
@router.put("/organizations/{org_slug}/issues/{issue_id}/")
async def update_issue(
    request: Request, ref: IssueDep, web: Web, user: CurrentUser
) -> dict[str, Any]:
    """Resolve (also in a release), ignore (with conditions), unresolve or assign."""
    update = parse(await json_body(request))
    rpc = await update_request(web, ref.project, [ref.issue_id], update, user)
    return update_json(await web.query.update_issues(rpc))


def bulk_ids(values: list[str]) -> list[int]:
    """The ``id`` query parameters of a bulk update; 400 unless 1 to MAX_BULK issue ids."""
    if not values:
        raise HTTPException(400, "give the issues to update as ?id=...&id=...")
    if len(values) > MAX_BULK:
        raise HTTPException(400, f"at most {MAX_BULK} issues at once")
    if not all(is_issue_id(v) for v in values):
        raise HTTPException(400, "id must be a positive integer")
    return [int(v) for v in values]


@router.put("/projects/{org_slug}/{project_slug}/issues/")
async def bulk_update_issues(
    request: Request, project: ProjectDep, web: Web, user: CurrentUser,
    ids: Annotated[list[str], Query(alias="id")] = [],  # noqa: B006 (FastAPI's idiom)
) -> dict[str, Any]:
    """Sentry's bulk mutate: the same update for every ``id``, or ``{"merge": 1}``."""
    issue_ids = bulk_ids(ids)
    update = parse(await json_body(request), bulk=True)
    body: dict[str, Any] = {}
    if update.merge:
        if len(set(issue_ids)) < 2:
            raise HTTPException(400, "merging needs at least two issues")
        merged = await web.query.merge_issues(project.id, issue_ids, user.user_id)
        body["merge"] = {"parent": str(merged.parent_id),
                         "children": [str(child) for child in merged.child_ids]}
        issue_ids = [merged.parent_id]
    if update.status or update.assignee is not None:
        rpc = await update_request(web, project, issue_ids, update, user)
        body.update(update_json(await web.query.update_issues(rpc)))
    return body


@router.get("/issues/{issue_id}/hashes/")
@router.get("/organizations/{org_slug}/issues/{issue_id}/hashes/")
async def issue_hashes(ref: IssueDep, web: Web) -> list[dict[str, Any]]:
    """The issue's grouping hashes, each with its latest event's id."""
    reply = await web.query.list_hashes(ref.project.id, ref.issue_id)
    return [
        {"id": item.hash, "eventCount": int(item.event_count),
         "latestEvent": {"eventID": item.latest_event_id} if item.latest_event_id else None}
        for item in reply.hashes
    ]


@router.delete("/issues/{issue_id}/hashes/", status_code=202)
@router.delete("/organizations/{org_slug}/issues/{issue_id}/hashes/", status_code=202)
async def unmerge_issue_hashes(
    ref: IssueDep, web: Web, user: CurrentUser,
    hashes: Annotated[list[str], Query(alias="id")] = [],  # noqa: B006 (FastAPI's idiom)
) -> dict[str, Any]:
    """Unmerge: the given hashes (and their events) move to a new issue."""
    if not hashes or len(hashes) > MAX_BULK or any(len(h) > 200 for h in hashes):
        raise HTTPException(400, "give the hashes to unmerge as ?id=<hash>&id=<hash>")
    reply = await web.query.unmerge_hashes(ref.project.id, ref.issue_id, hashes, user.user_id)
    return {"source": str(reply.source_id), "destination": str(reply.destination_id)}


def activity_json(item: query_pb2.Activity) -> dict[str, Any]:
    """One activity in Sentry's shape."""
    user = None
    if item.user_id:
        user = {"id": str(item.user_id), "email": item.user_email, "name": item.user_email}
    return {
        "id": str(item.id),
        "type": item.type,
        "data": json.loads(item.data_json or "{}"),
        "dateCreated": serializers.iso8601(item.created),
        "user": user,
    }


async def issue_activity(web: WebContext, project_id: int, issue_id: int) -> list[
    dict[str, Any]
]:
    """The issue's activity in Sentry's shape, newest first."""
    reply = await web.query.list_activity(project_id, issue_id)
    return [activity_json(item) for item in reply.activities]


@router.get("/issues/{issue_id}/activities/")
@router.get("/organizations/{org_slug}/issues/{issue_id}/activities/")
async def list_issue_activity(ref: IssueDep, web: Web) -> dict[str, Any]:
    """The issue's activity log (comments, status changes, merges, regressions)."""
    return {"activity": await issue_activity(web, ref.project.id, ref.issue_id)}


@router.post("/issues/{issue_id}/comments/", status_code=201)
@router.post("/organizations/{org_slug}/issues/{issue_id}/comments/", status_code=201)
async def add_issue_comment(
    request: Request, ref: IssueDep, web: Web, user: CurrentUser
) -> dict[str, Any]:
    """A comment (Sentry's ``note`` activity) from ``{"text": ...}``."""
    body = await json_body(request)
    text = body.get("text") if isinstance(body, dict) else None
    if not isinstance(text, str) or not text.strip():
        raise HTTPException(400, "text: this field is required")
    note = await web.query.add_comment(ref.project.id, ref.issue_id, text, user.user_id)
    return activity_json(note)
