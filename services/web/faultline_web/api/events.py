"""Sentry-compatible event endpoints: an issue's latest event and one event by id."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, HTTPException

from faultline_web import serializers
from faultline_web.deps import NOT_FOUND, IssueDep, ProjectDep, Web

router = APIRouter(prefix="/api/0", tags=["events"])

_EVENT_ID = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{8}(-[0-9a-fA-F]{4}){3}-[0-9a-fA-F]{12}")


@router.get("/issues/{issue_id}/events/latest/")
@router.get("/organizations/{org_slug}/issues/{issue_id}/events/latest/")
async def latest_event(ref: IssueDep, web: Web) -> dict[str, Any]:
    """The issue's most recent event, in full."""
    event = await web.query.latest_event(ref.project.id, ref.issue_id)
    return serializers.event_json(event)


@router.get("/projects/{org_slug}/{project_slug}/events/{event_id}/")
async def project_event(event_id: str, project: ProjectDep, web: Web) -> dict[str, Any]:
    """One event of the project by its id (32 hex characters or a dashed UUID)."""
    if not _EVENT_ID.fullmatch(event_id):
        raise HTTPException(404, NOT_FOUND)
    event = await web.query.get_event(project.id, event_id.replace("-", "").lower())
    return serializers.event_json(event)
