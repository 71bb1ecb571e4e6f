"""HTML rendering: one Jinja2 environment with autoescaping for every template.

Event data is attacker-controlled (anyone with a DSN can send it), so templates never
mark values safe and never put event values into ``href``/``src`` attributes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from faultline_web.deps import SessionUser, get_web

TEMPLATES_DIR = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


def format_time(moment: datetime | None) -> str:
    if moment is None:
        return ""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def time_ago(moment: datetime | None, now: datetime | None = None) -> str:
    """A short relative age: ``just now``, ``5m ago``, ``3h ago``, ``2d ago``."""
    if moment is None:
        return ""
    seconds = int(((now or datetime.now(UTC)) - moment).total_seconds())
    if seconds < 60:
        return "just now"
    for unit_seconds, suffix in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= unit_seconds:
            return f"{seconds // unit_seconds}{suffix} ago"
    return "just now"


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["time"] = format_time
    env.filters["ago"] = time_ago
    return env


_ENV = _environment()


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    signed_in: SessionUser | None,
    status_code: int = 200,
) -> HTMLResponse:
    """Render ``template`` with the signed-in user and their CSRF token available."""
    csrf = get_web(request).signer.csrf_token(signed_in.session) if signed_in else ""
    html = _ENV.get_template(template).render(
        {**context, "user": signed_in.user if signed_in else None, "csrf_token": csrf}
    )
    return HTMLResponse(
        html,
        status_code=status_code,
        headers={
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY",
            "Referrer-Policy": "same-origin",
            # No inline or remote scripts at all: the UI has none, so injected markup can't run.
            "Content-Security-Policy": (
                "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self';"
                " frame-ancestors 'none'; base-uri 'none'"
            ),
        },
    )


def render_error(
    request: Request, status_code: int, message: str, signed_in: SessionUser | None
) -> HTMLResponse:
    return render(
        request, "error.html", {"status_code": status_code, "message": message},
        signed_in, status_code,
    )
