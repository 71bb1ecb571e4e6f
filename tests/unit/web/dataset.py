"""The data the web tests run against: two organizations, their users, issues and events.

Expectations in the tests are computed from these specs (never typed in by hand), so a
change here changes what the tests expect.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

NOW = datetime.now(UTC).replace(microsecond=0)

ALICE_EMAIL = "alice@acme.test"
ALICE_PASSWORD = "correct horse battery staple"
BOB_EMAIL = "bob@globex.test"
BOB_PASSWORD = "globex-password-42"

HOSTILE_SCRIPT = '<script>alert("pwned")</script>'
HOSTILE_IMG = "<img src=x onerror=alert(1)>"
CHECKOUT_LINE = "    total = cart.total / cart.count"
CHECKOUT_URL = "https://shop.example/checkout/confirm"


@dataclass(frozen=True)
class EventSpec:
    event_id: str
    hours_ago: float
    payload: dict[str, Any]

    @property
    def timestamp(self) -> datetime:
        return NOW - timedelta(hours=self.hours_ago)


@dataclass(frozen=True)
class IssueSpec:
    key: str
    project: str
    title: str
    culprit: str
    level: str
    count: int
    status: str
    first_seen_hours_ago: float
    last_seen_hours_ago: float
    events: list[EventSpec] = field(default_factory=list)

    @property
    def first_seen(self) -> datetime:
        return NOW - timedelta(hours=self.first_seen_hours_ago)

    @property
    def last_seen(self) -> datetime:
        return NOW - timedelta(hours=self.last_seen_hours_ago)


def new_event_id() -> str:
    return uuid.uuid4().hex


def python_error(exc_type: str, value: str, hours_ago: float, user: str,
                 context_line: str = CHECKOUT_LINE, url: str = CHECKOUT_URL) -> EventSpec:
    """A Django-style Python error as sentry-python sends it."""
    timestamp = (NOW - timedelta(hours=hours_ago)).timestamp()
    frames = [
        {"filename": "django/core/handlers/base.py", "module": "django.core.handlers.base",
         "function": "_get_response", "lineno": 197, "in_app": False,
         "context_line": "        response = wrapped_callback(request)",
         "pre_context": ["    def _get_response(self, request):"], "post_context": []},
        {"filename": "shop/views.py", "module": "shop.views", "function": "checkout",
         "lineno": 42, "in_app": True, "context_line": context_line,
         "pre_context": ["def checkout(request):", "    cart = load_cart(request)"],
         "post_context": ["    return render(request, 'ok.html')"],
         "vars": {"cart": "<Cart items=0>"}},
    ]
    payload = {
        "platform": "python", "level": "error", "timestamp": timestamp,
        "environment": "production", "release": "shop@1.2.3", "server_name": "web-1",
        "exception": {"values": [{
            "type": exc_type, "value": value, "module": "builtins",
            "mechanism": {"type": "django", "handled": False},
            "stacktrace": {"frames": frames},
        }]},
        "request": {
            "method": "POST", "url": url, "query_string": "step=2&coupon=SPRING",
            "headers": {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0",
                        "Content-Type": "application/json"},
            "data": {"sku": "A-1", "qty": 2},
        },
        "user": {"id": user, "email": f"{user}@customers.test"},
        "tags": {"region": "eu-west"},
        "contexts": {"runtime": {"name": "CPython", "version": "3.11.4"}},
        "breadcrumbs": {"values": [
            {"timestamp": timestamp - 2, "category": "http", "level": "info",
             "message": "GET /cart"},
        ]},
    }
    return EventSpec(new_event_id(), hours_ago, payload)


def hostile_event(hours_ago: float) -> EventSpec:
    """Event data full of markup: the UI must show it as text, never run it."""
    spec = python_error(
        "XSSError", HOSTILE_SCRIPT, hours_ago, user=HOSTILE_IMG,
        context_line=f'    html = "{HOSTILE_IMG}"',
        url="https://shop.example/search?q=<b>bold</b>",
    )
    spec.payload["tags"] = {"hostile": "<i>tag</i>"}
    spec.payload["breadcrumbs"]["values"][0]["message"] = "<marquee>crumb</marquee>"
    return spec


def _issues() -> list[IssueSpec]:
    """acme/backend gets the read-only issues, acme/frontend those tests mutate."""
    return [
        IssueSpec("zero", "backend", "ZeroDivisionError: division by zero",
                  "shop.views in checkout", "error", 10, "unresolved", 5, 1,
                  [python_error("ZeroDivisionError", "division by zero", h, f"u{h}")
                   for h in (4.5, 2.5, 1.0)]),
        IssueSpec("keyerror", "backend", "KeyError: 'user'", "shop.auth in login", "warning", 5,
                  "unresolved", 2.5, 2, [python_error("KeyError", "'user'", 2.0, "u1")]),
        IssueSpec("valueerror", "backend", "ValueError: bad input", "shop.forms in clean",
                  "error", 20, "resolved", 20, 3, [python_error("ValueError", "bad", 3.0, "u2")]),
        IssueSpec("timeout", "backend", "TimeoutError: upstream", "shop.api in fetch", "error", 1,
                  "ignored", 4, 4, [python_error("TimeoutError", "upstream", 4.0, "u3")]),
        IssueSpec("hostile", "backend", f"XSSError: {HOSTILE_SCRIPT}", f"shop {HOSTILE_IMG}",
                  "error", 2, "unresolved", 6, 0.5, [hostile_event(0.5)]),
        IssueSpec("api-mutable", "frontend", "TypeError: x is undefined", "app.js in render",
                  "error", 3, "unresolved", 8, 1.5, [python_error("TypeError", "x", 1.5, "u4")]),
        IssueSpec("ui-mutable", "frontend", "RangeError: too deep", "app.js in walk", "error", 4,
                  "unresolved", 9, 1.2, [python_error("RangeError", "deep", 1.2, "u5")]),
        IssueSpec("globex", "shop", "GlobexError: secret", "globex.core in run", "fatal", 7,
                  "unresolved", 10, 0.8, [python_error("GlobexError", "secret", 0.8, "g1")]),
    ]


PROJECT_ORGS = {"backend": "acme", "frontend": "acme", "shop": "globex"}
# Built once: event ids are random, and every module must see the same ones.
ISSUES = _issues()


def issue_spec(key: str) -> IssueSpec:
    return next(spec for spec in ISSUES if spec.key == key)
