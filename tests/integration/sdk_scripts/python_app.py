"""A small application instrumented with the real, unchanged sentry-python SDK.

Usage: python python_app.py DSN KIND   (KIND: zero | key)
Raises a real exception inside a request-handling function and reports it with request
data, as a web framework integration would.
"""

from __future__ import annotations

import sys
from typing import Any

import sentry_sdk
from sentry_sdk.types import Event


def divide(total: int, parts: int) -> float:
    return total / parts


def lookup(config: dict[str, str], name: str) -> str:
    return config[name]


def handle_request(kind: str) -> None:
    if kind == "zero":
        divide(10, 0)
    else:
        lookup({}, "database_url")


def add_request(event: Event, hint: dict[str, Any]) -> Event:
    event["request"] = {
        "method": "POST",
        "url": "https://shop.example.com/checkout?step=2",
        "query_string": "step=2",
        "headers": {
            "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                          "(KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
            "Content-Type": "application/json",
        },
        "data": {"cart_id": 42},
    }
    return event


def main() -> None:
    dsn, kind = sys.argv[1], sys.argv[2]
    sentry_sdk.init(dsn=dsn, release="shop@1.2.3", environment="staging",
                    server_name="web-1", default_integrations=False)
    sentry_sdk.set_user({"id": "u-17", "email": "ada@example.com"})
    with sentry_sdk.new_scope() as scope:
        scope.add_event_processor(add_request)
        try:
            handle_request(kind)
        except Exception as exc:
            sentry_sdk.capture_exception(exc)
    sentry_sdk.flush(timeout=10)


if __name__ == "__main__":
    main()
