"""Sentry-compatible event endpoints: an issue's latest event and one event by id."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from faultline_web import serializers
from faultline_web.deps import IssueDep, ProjectDep, Web, parse_uuid_id

router = APIRouter(prefix="/api/0", tags=["events"])



@router.get("/issues/{issue_id}/events/latest/")
@router.get("/organizations/{org_slug}/issues/{issue_id}/events/latest/")
async def latest_event(ref: IssueDep, web: Web) -> dict[str, Any]:
    """The issue's most recent event, in full."""
    event = await web.query.latest_event(ref.project.id, ref.issue_id)
    return serializers.event_json(event)


@router.get("/projects/{org_slug}/{project_slug}/events/{event_id}/")
async def project_event(event_id: str, project: ProjectDep, web: Web) -> dict[str, Any]:
    """One event of the project by its id (32 hex characters or a dashed UUID)."""
    event = await web.query.get_event(project.id, parse_uuid_id(event_id))
    return serializers.event_json(event)
