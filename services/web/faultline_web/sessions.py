"""Signed, stateless session cookies and the CSRF tokens bound to them (stdlib HMAC).

A cookie is ``base64url(payload) "." base64url(HMAC-SHA256(payload))`` where the payload
is ``user_id:issued_at:nonce:password_fingerprint``. The fingerprint ties the session to
the user's current password hash, so changing the password ends every older session.
The CSRF token of a session is an HMAC of its nonce under a separate derived key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

SESSION_COOKIE = "faultline_session"
SESSION_MAX_AGE_S = 14 * 24 * 3600


@dataclass(frozen=True)
class Session:
    user_id: int
    issued_at: int
    nonce: str
    password_fingerprint: str


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def password_fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


class SessionSigner:
    """Issues and verifies session cookies and CSRF tokens with keys derived from
    the application's secret key (one purpose per key)."""

    def __init__(self, secret_key: str) -> None:
        secret = secret_key.encode()
        self._session_key = hmac.digest(secret, b"faultline-web-session", "sha256")
        self._csrf_key = hmac.digest(secret, b"faultline-web-csrf", "sha256")

    def issue(self, user_id: int, password_hash: str, now: float | None = None) -> str:
        issued_at = int(time.time() if now is None else now)
        payload = (
            f"{user_id}:{issued_at}:{secrets.token_hex(16)}:{password_fingerprint(password_hash)}"
        )
        raw = payload.encode()
        signature = hmac.digest(self._session_key, raw, "sha256")
        return f"{_b64encode(raw)}.{_b64encode(signature)}"

    def verify(self, cookie: str, now: float | None = None) -> Session | None:
        """The session in ``cookie`` if its signature is valid and it has not expired."""
        encoded, _, signature_text = cookie.partition(".")
        try:
            raw = _b64decode(encoded)
            signature = _b64decode(signature_text)
        except (binascii.Error, ValueError):
            return None
        expected = hmac.digest(self._session_key, raw, "sha256")
        if not hmac.compare_digest(signature, expected):
            return None
        parts = raw.decode("utf-8", errors="replace").split(":")
        if len(parts) != 4 or not parts[0].isdigit() or not parts[1].isdigit():
            return None
        session = Session(int(parts[0]), int(parts[1]), parts[2], parts[3])
        current = time.time() if now is None else now
        if not 0 <= current - session.issued_at <= SESSION_MAX_AGE_S:
            return None
        return session

    def csrf_token(self, session: Session) -> str:
        return hmac.new(self._csrf_key, session.nonce.encode(), "sha256").hexdigest()

    def check_csrf(self, session: Session, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session), token)
