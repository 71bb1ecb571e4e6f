"""Request dependencies: the web context, the current user, and access-checked objects.

Objects in organizations the user does not belong to are reported as missing (404), so
the API never reveals whether another tenant's project or issue exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from faultline_core.envelope import parse_event_id
from faultline_core.storage.postgres.tenancy import (
    Project,
    TokenUser,
    authenticate_token,
    get_project_by_slug,
)
from faultline_web.context import WebContext
from faultline_web.lifecycle_store import follow_issue_redirect
from faultline_web.sessions import SESSION_COOKIE, Session
from faultline_web.store import MAX_ID, issue_project, load_session_user

NOT_FOUND = "The requested resource does not exist"


def get_web(request: Request) -> WebContext:
    web = getattr(request.app.state, "web", None)
    if not isinstance(web, WebContext):
        raise RuntimeError("app.state.web is not set: the web gateway was not started")
    return web


async def _get_web_dependency(request: Request) -> WebContext:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, which
    # would cost a thread hop on every request.
    return get_web(request)


Web = Annotated[WebContext, Depends(_get_web_dependency)]


@dataclass(frozen=True)
class SessionUser:
    """A user signed in through the UI, with the session that carries the CSRF token."""

    user: TokenUser
    session: Session


async def session_user(request: Request, web: Web) -> SessionUser | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    session = web.signer.verify(cookie)
    if session is None:
        return None
    user = await load_session_user(web.pool, session)
    return SessionUser(user, session) if user else None


OptionalSessionUser = Annotated[SessionUser | None, Depends(session_user)]


async def api_user(request: Request, web: Web, signed_in: OptionalSessionUser) -> TokenUser:
    """The caller, from ``Authorization: Bearer <token>`` or else the session cookie."""
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        token = token.strip()
        user = None
        if scheme.lower() == "bearer" and token:
            user = await authenticate_token(web.pool, token)
        if user is None:
            raise HTTPException(401, "Invalid token", headers={"WWW-Authenticate": "Bearer"})
        return user
    if signed_in is not None:
        return signed_in.user
    raise HTTPException(
        401, "Authentication credentials were not provided", headers={"WWW-Authenticate": "Bearer"}
    )


CurrentUser = Annotated[TokenUser, Depends(api_user)]


def parse_object_id(text: str) -> int:
    """A positive database id from a path segment; anything else cannot exist (404)."""
    if not text.isascii() or not text.isdigit() or not 0 < int(text) <= MAX_ID:
        raise HTTPException(404, NOT_FOUND)
    return int(text)


def parse_uuid_id(text: str) -> str:
    """An event or attachment id from a path segment (32 hex or a dashed UUID, any case) as
    32 lowercase hex; anything else cannot exist (404)."""
    parsed = parse_event_id(text)
    if parsed is None:
        raise HTTPException(404, NOT_FOUND)
    return parsed


async def accessible_project(
    web: WebContext, user: TokenUser, org_slug: str, project_slug: str
) -> Project:
    project = await get_project_by_slug(web.pool, org_slug, project_slug)
    if project is None or not user.can_access(project):
        raise HTTPException(404, NOT_FOUND)
    return project


async def accessible_issue(
    web: WebContext, user: TokenUser, issue_id_text: str, org_slug: str | None = None
) -> tuple[Project, int]:
    """The project of an issue the user may see, and the issue's id; else 404."""
    # A merged issue's id serves the issue it was merged into.
    issue_id = await follow_issue_redirect(web.pool, parse_object_id(issue_id_text))
    project = await issue_project(web.pool, issue_id)
    if project is None or not user.can_access(project):
        raise HTTPException(404, NOT_FOUND)
    if org_slug is not None and project.organization_slug != org_slug:
        raise HTTPException(404, NOT_FOUND)
    return project, issue_id


async def api_project(
    org_slug: str, project_slug: str, web: Web, user: CurrentUser
) -> Project:
    return await accessible_project(web, user, org_slug, project_slug)


@dataclass(frozen=True)
class IssueRef:
    project: Project
    issue_id: int


async def api_issue(request: Request, issue_id: str, web: Web, user: CurrentUser) -> IssueRef:
    """Serves both ``/issues/{issue_id}/`` and ``/organizations/{org_slug}/issues/...``."""
    org_slug = request.path_params.get("org_slug")
    project, numeric_id = await accessible_issue(web, user, issue_id, org_slug)
    return IssueRef(project, numeric_id)


ProjectDep = Annotated[Project, Depends(api_project)]
IssueDep = Annotated[IssueRef, Depends(api_issue)]
