"""Session cookies and CSRF tokens (pure)."""

from __future__ import annotations

from faultline_web.sessions import SESSION_MAX_AGE_S, SessionSigner, password_fingerprint

NOW = 1_700_000_000.0


def test_a_cookie_round_trips() -> None:
    signer = SessionSigner("secret")
    session = signer.verify(signer.issue(42, "hash-a", now=NOW), now=NOW + 10)
    assert session is not None
    assert session.user_id == 42
    assert session.password_fingerprint == password_fingerprint("hash-a")


def test_tampered_or_foreign_cookies_are_rejected() -> None:
    signer = SessionSigner("secret")
    cookie = signer.issue(42, "hash-a", now=NOW)
    payload, _, signature = cookie.partition(".")
    forged_payload = SessionSigner("other").issue(1, "hash-a", now=NOW).partition(".")[0]
    for candidate in (
        f"{forged_payload}.{signature}",
        SessionSigner("other").issue(42, "hash-a", now=NOW),
        payload,
        f"{payload}.",
        "",
        "!!!.???",
        cookie[:-2],
    ):
        assert signer.verify(candidate, now=NOW) is None, candidate


def test_cookies_expire() -> None:
    signer = SessionSigner("secret")
    cookie = signer.issue(42, "hash-a", now=NOW)
    assert signer.verify(cookie, now=NOW + SESSION_MAX_AGE_S - 1) is not None
    assert signer.verify(cookie, now=NOW + SESSION_MAX_AGE_S + 1) is None
    assert signer.verify(cookie, now=NOW - 60) is None


def test_csrf_tokens_are_bound_to_the_session() -> None:
    signer = SessionSigner("secret")
    first = signer.verify(signer.issue(42, "h", now=NOW), now=NOW)
    second = signer.verify(signer.issue(42, "h", now=NOW), now=NOW)
    assert first is not None and second is not None
    token = signer.csrf_token(first)
    assert signer.check_csrf(first, token)
    assert not signer.check_csrf(second, token)
    assert not signer.check_csrf(first, "")
    assert not SessionSigner("other").check_csrf(first, token)
