"""The unchanged @sentry/node SDK in a real Express app reports to Faultline.

The app (``node_app/``) is installed with ``npm ci`` from its committed lock file into a
cache that survives between runs, started as a subprocess with the DSN in ``SENTRY_DSN``,
and driven over HTTP like a user's browser would. Set ``FAULTLINE_UPDATE_SDK_FIXTURES=1``
to rewrite the golden envelopes in ``tests/fixtures/sdk/node/`` from a fresh capture.
"""

from __future__ import annotations

import gzip
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from faultline_core.envelope import parse_envelope
from faultline_core.ports import free_port
from tests.integration.allinone import ROOT, AllInOne
from tests.integration.sdk.capture import CapturedRequest, capture_server
from tests.integration.sdk.conftest import find_issue, latest_event
from tests.integration.sdk.node import node_binary, node_workdir
from tests.integration.sdk.python_apps.runner import serve

FIXTURES = ROOT / "tests" / "fixtures" / "sdk" / "node"
EVENT_FIXTURE = FIXTURES / "express_exception.envelope"
SESSIONS_FIXTURE = FIXTURES / "sessions.envelope"
CHROME_UA = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
             "(KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36")
ERROR_TYPE = "NodeExpressCheckoutError"


@pytest.fixture(scope="session")
def node_app(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A runnable copy of ``node_app/`` whose node_modules come from the install cache."""
    return node_workdir(tmp_path_factory, "node-express-app", "package-lock.json", "app.js")


@contextmanager
def running_app(app_dir: Path, dsn: str, run_id: str) -> Iterator[str]:
    """Start the Express app reporting to ``dsn``; yield its base URL; stop it."""
    port = free_port()
    env = {**os.environ, "SENTRY_DSN": dsn, "PORT": str(port), "RUN_ID": run_id}
    with serve([node_binary(), "app.js"], env, port, app_dir / f"app-{port}.log",
               ready_path="/healthz", cwd=app_dir) as server:
        yield server.url


def checkout_fails(base_url: str) -> None:
    """A shopper's failing checkout: query string, headers, cookie and a JSON body."""
    resp = httpx.post(
        base_url + "/checkout/cart-42?coupon=SPRING&step=2",
        json={"amount": 12.5, "items": ["socks", "hat"]},
        headers={"User-Agent": CHROME_UA, "X-Request-Id": "req-node-1",
                 "Cookie": "theme=dark"},
        timeout=10,
    )
    assert resp.status_code == 500, resp.text
    assert resp.json() == {"error": ERROR_TYPE}


def flush(base_url: str) -> None:
    resp = httpx.get(base_url + "/flush", timeout=15)
    assert resp.json() == {"flushed": True}, resp.text


def run_failing_checkout(app_dir: Path, dsn: str, run_id: str) -> None:
    with running_app(app_dir, dsn, run_id) as base_url:
        checkout_fails(base_url)
        flush(base_url)


def _issues(aio: AllInOne) -> list[dict[str, Any]]:
    resp = aio.api("/api/0/projects/default/default/issues/", params={"limit": 100})
    resp.raise_for_status()
    found: list[dict[str, Any]] = resp.json()
    return found


@pytest.fixture(scope="module")
def node_issue(aio: AllInOne, node_app: Path) -> tuple[str, dict[str, Any]]:
    """The issue of one checkout error raised by two runs of the app (so two events)."""
    run_id = f"node-express-{uuid.uuid4().hex}"
    for _ in range(2):  # two processes: the SDK's Dedupe would drop a repeat within one
        run_failing_checkout(node_app, aio.bootstrap["dsn"], run_id)
    return run_id, find_issue(aio, run_id, count=2)


def test_same_error_from_two_runs_is_one_issue_counted_twice(
        aio: AllInOne, node_issue: tuple[str, dict[str, Any]]) -> None:
    run_id, issue = node_issue
    assert issue["title"] == f"{ERROR_TYPE}: checkout failed (run {run_id})"
    assert issue["level"] == "error" and issue["status"] == "unresolved"
    assert [i["id"] for i in _issues(aio) if run_id in i["title"]] == [issue["id"]]
    assert int(issue["userCount"]) == 1


def test_event_keeps_sdk_stack_and_chained_cause(
        aio: AllInOne, node_issue: tuple[str, dict[str, Any]]) -> None:
    run_id, issue = node_issue
    event = latest_event(aio, issue["id"])
    assert event["groupID"] == str(issue["id"])
    assert event["platform"] == "node"
    assert event["sdk"]["name"] == "sentry.javascript.node"
    assert event["release"] == "node-shop@2.0.1" and event["environment"] == "staging"
    cause, error = event["exception"]["values"]
    assert (cause["type"], error["type"]) == ("TypeError", ERROR_TYPE)
    assert cause["value"] == "card gateway rejected amount 12.5 for cart cart-42"
    assert error["value"] == f"checkout failed (run {run_id})"
    assert error["mechanism"]["type"] == "auto.http.express"  # the SDK's Express integration
    assert error["mechanism"]["handled"] is False
    assert cause["mechanism"]["type"] == "chained" and cause["mechanism"]["source"] == "cause"
    frames = cause["stacktrace"]["frames"]
    assert [f["function"] for f in frames if f["in_app"]][-2:] == ["checkout", "chargeCard"]
    assert frames[-1]["filename"].endswith("/app.js")
    assert "throw new TypeError" in frames[-1]["context_line"]
    assert frames[-1]["pre_context"] and frames[-1]["post_context"]
    library = [f for f in frames if "/node_modules/" in f.get("filename", "")]
    assert library and not any(f["in_app"] for f in library)


def test_event_keeps_request_user_tags_contexts_and_breadcrumbs(
        aio: AllInOne, node_issue: tuple[str, dict[str, Any]]) -> None:
    _, issue = node_issue
    event = latest_event(aio, issue["id"])
    request = event["request"]
    assert request["method"] == "POST"
    assert request["url"].endswith("/checkout/cart-42")
    assert request["query_string"] == [["coupon", "SPRING"], ["step", "2"]]
    headers = {name.lower(): value for name, value in request["headers"]}
    assert headers["user-agent"] == CHROME_UA
    assert headers["x-request-id"] == "req-node-1"
    assert headers["content-type"] == "application/json"
    # @sentry/node sends the body as a string; Faultline parses it as Sentry's Relay does.
    assert request["data"] == {"amount": 12.5, "items": ["socks", "hat"]}
    assert request["inferred_content_type"] == "application/json"
    assert event["user"]["id"] == "node-user-7"
    assert event["user"]["email"] == "grace@example.com"
    tags = {tag["key"]: tag["value"] for tag in event["tags"]}
    assert tags["checkout.step"] == "payment"
    assert tags["runtime.name"] == "node"
    assert tags["browser.name"] == "Chrome"
    assert tags["transaction"] == "POST /checkout/:cartId"
    assert event["contexts"]["runtime"]["name"] == "node"
    assert event["contexts"]["os"]["name"]
    crumbs = event["breadcrumbs"]["values"]
    cart = [c for c in crumbs if c.get("category") == "cart"]
    assert cart and cart[-1]["message"] == "loaded cart cart-42"
    assert cart[-1]["data"] == {"items": 2}
    entry_types = [entry["type"] for entry in event["entries"]]
    assert entry_types == ["exception", "request", "breadcrumbs"]


def _decoded_body(request: CapturedRequest) -> bytes:
    """The envelope as the SDK built it: @sentry/node may gzip what it sends."""
    if request.headers.get("content-encoding") == "gzip":
        return gzip.decompress(request.body)
    return request.body


def _item_types(body: bytes) -> list[str]:
    return [item.type for item in parse_envelope(body).items]


def _shape(body: bytes) -> dict[str, Any]:
    """What must not drift between the committed fixture and a fresh capture."""
    envelope = parse_envelope(body)
    event = json.loads(envelope.items[0].payload)
    return {"sdk": envelope.headers["sdk"], "items": _item_types(body),
            "platform": event["platform"],
            "exceptions": [v["type"] for v in event["exception"]["values"]],
            "request": sorted(event["request"]), "user": sorted(event["user"])}


def test_golden_envelopes_match_what_the_sdk_sends(node_app: Path) -> None:
    with capture_server() as server:
        # The app has exited (and so flushed everything) when this returns.
        run_failing_checkout(node_app, server.dsn(), "golden")
    bodies = [_decoded_body(request) for request in server.requests]
    event_body = next(b for b in bodies if _item_types(b) == ["event"])
    if os.environ.get("FAULTLINE_UPDATE_SDK_FIXTURES") == "1":
        FIXTURES.mkdir(parents=True, exist_ok=True)
        EVENT_FIXTURE.write_bytes(event_body)
        SESSIONS_FIXTURE.write_bytes(next(b for b in bodies if _item_types(b) == ["sessions"]))
    assert _shape(event_body) == _shape(EVENT_FIXTURE.read_bytes()), (
        "@sentry/node now sends a differently shaped event: rerun this test with "
        "FAULTLINE_UPDATE_SDK_FIXTURES=1 and review the fixture diff")
    assert _item_types(SESSIONS_FIXTURE.read_bytes()) == ["sessions"]
