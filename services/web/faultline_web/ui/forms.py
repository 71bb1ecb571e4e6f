"""Small HTML-form helpers: urlencoded bodies, CSRF checks and safe redirect targets.

Forms are parsed from ``application/x-www-form-urlencoded`` bodies directly, so the UI
needs no multipart library (it has no file uploads).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import HTTPException, Request

from faultline_web.deps import SessionUser, get_web

MAX_FORM_BYTES = 16 * 1024


async def read_form(request: Request) -> dict[str, str]:
    """The form's fields (first value of each); 400 for oversized or non-form bodies."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise HTTPException(400, "expected an HTML form submission")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise HTTPException(413, "form too large")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError) as exc:
        raise HTTPException(400, "malformed form") from exc
    return {name: values[0] for name, values in fields.items()}


def check_csrf(request: Request, signed_in: SessionUser, form: dict[str, str]) -> None:
    """403 unless the form carries the CSRF token of the signer's session."""
    signer = get_web(request).signer
    if not signer.check_csrf(signed_in.session, form.get("csrf_token", "")):
        raise HTTPException(403, "invalid or missing CSRF token; reload the page and retry")


def safe_next(target: str | None, default: str = "/") -> str:
    """A redirect target on this site only: a path, never another origin."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    if any(ord(char) < 0x20 for char in target):
        return default
    return target
