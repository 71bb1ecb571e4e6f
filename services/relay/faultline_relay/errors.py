"""Client-facing errors and the Sentry-style responses built from them.

Every rejection is a :class:`RelayError`: it carries the HTTP status, the detail shown to
the SDK (JSON body and ``X-Sentry-Error`` header) and the metrics outcome, so handlers
raise one thing and a single place renders it.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from fastapi.responses import JSONResponse, Response

CORS_ALLOW_HEADERS = "x-sentry-auth, content-type, content-encoding, sentry-trace, baggage"
CORS_EXPOSE_HEADERS = "x-sentry-error, x-sentry-rate-limits, retry-after"
CORS_HEADERS: Mapping[str, str] = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": CORS_EXPOSE_HEADERS,
}
# Header values must be latin-1; details can quote client input, so keep them printable.
_MAX_HEADER_DETAIL = 200


class Outcome(StrEnum):
    """What became of a request; the ``outcome`` label of the request counter."""

    ACCEPTED = "accepted"
    REJECTED_AUTH = "rejected_auth"
    REJECTED_SIZE = "rejected_size"
    RATE_LIMITED = "rate_limited"
    INVALID = "invalid"
    UNAVAILABLE = "unavailable"
    INTERNAL = "internal_error"


class RelayError(Exception):
    """A request the relay refuses; rendered as ``{"detail": ...}`` with ``X-Sentry-Error``."""

    def __init__(
        self,
        status_code: int,
        detail: str,
        outcome: Outcome,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.outcome = outcome
        self.headers = dict(headers or {})


def unauthorized(detail: str) -> RelayError:
    return RelayError(401, detail, Outcome.REJECTED_AUTH)


def forbidden(detail: str) -> RelayError:
    return RelayError(403, detail, Outcome.REJECTED_AUTH)


def invalid(detail: str) -> RelayError:
    return RelayError(400, detail, Outcome.INVALID)


def too_large(detail: str) -> RelayError:
    return RelayError(413, detail, Outcome.REJECTED_SIZE)


def unavailable(detail: str, retry_after_s: int) -> RelayError:
    return RelayError(503, detail, Outcome.UNAVAILABLE, {"Retry-After": str(retry_after_s)})


def header_safe(text: str) -> str:
    """``text`` reduced to printable ASCII so it can travel in ``X-Sentry-Error``."""
    cleaned = "".join(ch if " " <= ch <= "~" else "?" for ch in text)
    return cleaned[:_MAX_HEADER_DETAIL]


def error_response(error: RelayError) -> Response:
    headers = {**CORS_HEADERS, **error.headers, "X-Sentry-Error": header_safe(error.detail)}
    return JSONResponse({"detail": error.detail}, status_code=error.status_code, headers=headers)


def ok_response(body: Mapping[str, str]) -> Response:
    return JSONResponse(dict(body), headers=dict(CORS_HEADERS))
