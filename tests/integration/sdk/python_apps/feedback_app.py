"""A job that fails, then sends the user's report about that failure (sentry-python).

Usage: python feedback_app.py DSN RUN_TOKEN
sentry-python 2.x has no user feedback API of its own, so the report goes out the way
the SDK allows: a ``user_report`` envelope item (Sentry's legacy user feedback protocol)
sent through the client's own transport. Prints ``{"event_id": ...}`` on stdout.
"""

from __future__ import annotations

import json
import sys

import sentry_sdk
from sentry_sdk.envelope import Envelope, Item, PayloadRef


class FeedbackJobError(Exception):
    """The export the user was waiting for failed."""


def send_user_report(event_id: str, run_token: str) -> None:
    report = {"event_id": event_id, "name": "Ada Lovelace", "email": "ada@example.com",
              "comments": f"The export never arrived (run {run_token})"}
    envelope = Envelope(headers={"event_id": event_id})
    envelope.add_item(Item(payload=PayloadRef(json=report), type="user_report"))
    transport = sentry_sdk.get_client().transport
    if transport is None:
        raise RuntimeError("sentry_sdk has no transport: is the DSN set?")
    transport.capture_envelope(envelope)


def main(dsn: str, run_token: str) -> None:
    sentry_sdk.init(dsn=dsn, release="feedback-job@1.0.0", environment="sdk-matrix")
    try:
        raise FeedbackJobError(f"export failed for run {run_token}")
    except FeedbackJobError as exc:
        event_id = sentry_sdk.capture_exception(exc)
    if event_id is None:
        raise RuntimeError("the SDK dropped the exception event")
    send_user_report(event_id, run_token)
    sentry_sdk.flush(timeout=10)
    print(json.dumps({"event_id": event_id}))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
