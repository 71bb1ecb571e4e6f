"""A small Flask service reporting release health, transactions and client reports through
the real sentry-sdk, as a user's app would.

Usage: python health_app.py DSN RUN_TOKEN
With ``release="app@1.0"`` and ``environment="prod"`` it serves requests through Flask's
test client (the WSGI integration tracks one server-mode session per request and sends
them as ``sessions`` aggregates): 3 succeed and 2 raise. Then it runs one application-mode
session through the SDK's public session API (one handled error, so an errored session),
one transaction of its own, and captures 2 messages that ``before_send`` drops (the SDK
reports them as ``before_send`` discards in a client report). ``close()`` flushes all.
"""

from __future__ import annotations

import sys
from typing import Any

import sentry_sdk
from flask import Flask
from sentry_sdk.integrations.flask import FlaskIntegration
from sentry_sdk.types import Event, Hint

RELEASE = "app@1.0"
ENVIRONMENT = "prod"
DROP_PREFIX = "drop-me"


class HealthCheckError(Exception):
    """The /boom endpoint always fails."""


def drop_marked(event: Event, hint: Hint) -> Event | None:
    logentry: dict[str, Any] = dict(event.get("logentry") or {})
    message = event.get("message") or logentry.get("message") or ""
    return None if str(message).startswith(DROP_PREFIX) else event


def create_app(run_token: str) -> Flask:
    app = Flask(__name__)

    @app.get("/ok")
    def ok() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/boom")
    def boom() -> dict[str, str]:
        raise HealthCheckError(f"health check failed in run {run_token}")

    return app


def serve_requests(app: Flask) -> None:
    client = app.test_client()
    for _ in range(3):
        assert client.get("/ok").status_code == 200
    for _ in range(2):
        assert client.get("/boom").status_code == 500


def application_session(run_token: str) -> None:
    """A background job's session: started, one handled error, ended."""
    scope = sentry_sdk.get_isolation_scope()
    scope.start_session(session_mode="application")
    try:
        raise ValueError(f"job step failed in run {run_token}")
    except ValueError as exc:
        sentry_sdk.capture_exception(exc)
    scope.end_session()


def main() -> None:
    dsn, run_token = sys.argv[1], sys.argv[2]
    sentry_sdk.init(
        dsn=dsn, release=RELEASE, environment=ENVIRONMENT, traces_sample_rate=1.0,
        before_send=drop_marked, auto_enabling_integrations=False,
        integrations=[FlaskIntegration()],
    )
    serve_requests(create_app(run_token))
    application_session(run_token)
    with (sentry_sdk.start_transaction(op="task", name=f"nightly-report-{run_token}"),
          sentry_sdk.start_span(op="db", name="SELECT 1")):
        pass
    for index in range(2):
        sentry_sdk.capture_message(f"{DROP_PREFIX} {index} in run {run_token}")
    sentry_sdk.flush(timeout=10)
    client = sentry_sdk.get_client()
    client.close(timeout=10)


if __name__ == "__main__":
    main()
