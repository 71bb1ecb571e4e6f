"""Every kind of envelope item the real sentry-python SDK sends, in one run.

Usage: python items_app.py DSN RUN_ID
Sends an exception with an attachment, a user report about it, a transaction, two log
lines and an application-mode session for release ``items@1.0``, then prints the event id.
"""

from __future__ import annotations

import sys

import sentry_sdk
import sentry_sdk.logger
from sentry_sdk.envelope import Envelope, Item, PayloadRef

ATTACHMENT = b"cart=3 items\ntotal=12.00\n"


def main(dsn: str, run_id: str) -> None:
    sentry_sdk.init(dsn=dsn, release="items@1.0", environment="distributed",
                    enable_logs=True, traces_sample_rate=1.0, default_integrations=False)
    scope = sentry_sdk.get_isolation_scope()
    scope.start_session(session_mode="application")
    with sentry_sdk.start_transaction(name=f"checkout-{run_id}"):
        try:
            raise RuntimeError(f"items run {run_id} failed")
        except RuntimeError as exc:
            scope.add_attachment(bytes=ATTACHMENT, filename="cart.txt", content_type="text/plain")
            event_id = sentry_sdk.capture_exception(exc)
    sentry_sdk.logger.info("order {run} checked out", run=run_id)
    sentry_sdk.logger.error("payment timeout in {run}", run=run_id)
    report = {"event_id": event_id, "name": "Ada", "email": "ada@example.com",
              "comments": f"broken in {run_id}"}
    envelope = Envelope()
    envelope.add_item(Item(payload=PayloadRef(json=report), type="user_report"))
    client = sentry_sdk.get_client()
    assert client.transport is not None
    client.transport.capture_envelope(envelope)
    scope.end_session()
    sentry_sdk.flush()
    print(event_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
