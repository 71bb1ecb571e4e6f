"""The flow every project page shares: sign in first, then the project (404 unless the
user may see it), then its template; an HTTPException on the way is the error page."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

from fastapi import HTTPException, Request
from fastapi.responses import Response

from faultline_core.storage.postgres.tenancy import Project
from faultline_web.context import WebContext
from faultline_web.deps import SessionUser, accessible_project
from faultline_web.ui.render import render, render_error
from faultline_web.ui.session_routes import login_redirect

# Builds a page's template context for a project the user may see.
PageContext = Callable[[Project], Awaitable[dict[str, Any]]]


def project_url(project: Project, page: str, **params: str) -> str:
    """The URL of one of the project's pages, with the non-empty ``params`` as its query
    string (so a link can keep the page's other choices)."""
    path = f"/{project.organization_slug}/{project.slug}/{page}/"
    query = {name: value for name, value in params.items() if value}
    return path + (f"?{urlencode(query)}" if query else "")


async def project_page(
    request: Request, web: WebContext, signed_in: SessionUser | None,
    org_slug: str, project_slug: str, template: str, context: PageContext,
) -> Response:
    """``template`` rendered with the context of the project named in the URL."""
    if signed_in is None:
        return login_redirect(request)
    try:
        project = await accessible_project(web, signed_in.user, org_slug, project_slug)
        page = await context(project)
    except HTTPException as exc:
        return render_error(request, exc.status_code, str(exc.detail), signed_in)
    return render(request, template, page, signed_in)
