"""A job that attaches its state file to the error it reports, with the unchanged SDK.

Usage: python attachment_app.py DSN RUN_TOKEN
The attachment's bytes are :func:`state_bytes` of the run token, so the test can compare
what it downloads; the event id is printed on stdout.
"""

from __future__ import annotations

import sys

import sentry_sdk


class AttachmentJobError(Exception):
    """The job failed; its state file explains why."""


def state_bytes(run_token: str) -> bytes:
    """Binary content (every byte value) that is unique to the run."""
    return bytes(range(256)) * 40 + run_token.encode()


def main(dsn: str, run_token: str) -> None:
    sentry_sdk.init(dsn=dsn, default_integrations=False)
    sentry_sdk.get_isolation_scope().add_attachment(
        bytes=state_bytes(run_token), filename="job-state.bin",
        content_type="application/octet-stream",
    )
    try:
        raise AttachmentJobError(f"job failed in run {run_token}")
    except AttachmentJobError as exc:
        event_id = sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=10)
    print(event_id)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
