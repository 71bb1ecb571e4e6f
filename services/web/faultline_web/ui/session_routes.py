"""Signing in and out, the landing redirect, and the stylesheet."""

from __future__ import annotations

import asyncio
from functools import cache
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response

from faultline_core.passwords import hash_password, verify_password
from faultline_web.context import WebContext
from faultline_web.deps import OptionalSessionUser, Web
from faultline_web.sessions import SESSION_COOKIE, SESSION_MAX_AGE_S
from faultline_web.store import accessible_projects, find_login_user
from faultline_web.ui.forms import check_csrf, read_form, safe_next
from faultline_web.ui.render import STATIC_DIR, render

router = APIRouter(include_in_schema=False)

MAX_EMAIL_CHARS = 320
MAX_PASSWORD_CHARS = 1024


def login_redirect(request: Request) -> RedirectResponse:
    """Send an anonymous visitor to the login form, coming back here afterwards."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)


@cache
def _decoy_hash() -> str:
    return hash_password("faultline-decoy-password")


async def check_login(web: WebContext, email: str, password: str) -> tuple[int, str] | None:
    """The user id and password hash when the credentials are right.

    An unknown email still costs one hash verification, so response time does not tell
    which emails have accounts.
    """
    found = await find_login_user(web.pool, email)
    stored = found.password_hash if found else await asyncio.to_thread(_decoy_hash)
    valid = await asyncio.to_thread(verify_password, stored, password)
    if found is None or not valid:
        return None
    return found.user_id, found.password_hash


@router.get("/login")
async def login_form(
    request: Request,
    signed_in: OptionalSessionUser,
    next_path: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    target = safe_next(next_path)
    if signed_in is not None:
        return RedirectResponse(target, status_code=303)
    return render(request, "login.html", {"next": target, "error": "", "email": ""}, None)


@router.post("/login")
async def login(request: Request, web: Web) -> Response:
    form = await read_form(request)
    email = form.get("email", "").strip()[:MAX_EMAIL_CHARS]
    password = form.get("password", "")[:MAX_PASSWORD_CHARS]
    target = safe_next(form.get("next"))
    user = await check_login(web, email, password) if email and password else None
    if user is None:
        context = {"next": target, "error": "Invalid email or password.", "email": email}
        return render(request, "login.html", context, None, status_code=401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        web.signer.issue(*user),
        max_age=SESSION_MAX_AGE_S,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https" or web.settings.public_url.startswith("https:"),
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request, signed_in: OptionalSessionUser) -> Response:
    response = RedirectResponse("/login", status_code=303)
    if signed_in is not None:
        check_csrf(request, signed_in, await read_form(request))
        response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.get("/")
async def home(request: Request, web: Web, signed_in: OptionalSessionUser) -> Response:
    """The first project's issues, or a note that there is no project to show."""
    if signed_in is None:
        return login_redirect(request)
    projects = await accessible_projects(web.pool, signed_in.user)
    if not projects:
        return render(request, "no_projects.html", {}, signed_in)
    first = projects[0]
    return RedirectResponse(f"/{first.organization_slug}/{first.slug}/issues/", status_code=303)


@router.get("/_static/faultline.css")
async def stylesheet() -> FileResponse:
    return FileResponse(
        STATIC_DIR / "faultline.css",
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600"},
    )
