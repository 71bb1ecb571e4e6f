"""The real sentry-go SDK (plain capture and the net/http middleware) against Faultline.

A small Go program (``go_app/``) is built once per session with the Go toolchain; its
modules come from the Go module proxy into ``~/.cache/faultline/go`` so a fresh machine
downloads them once. Each run reports a wrapped error with ``sentry.CaptureException``
and a handler panic caught by ``sentryhttp`` while serving a real HTTP request.
Set ``FAULTLINE_UPDATE_SDK_FIXTURES=1`` to rewrite the golden envelopes in
``tests/fixtures/sdk/go/`` from what the SDK sends.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from faultline_core.envelope import parse_envelope
from faultline_core.normalize import normalize_event
from tests.integration.allinone import AllInOne
from tests.integration.sdk.capture import capture_server
from tests.integration.sdk.conftest import find_issue, latest_event

GO_APP = Path(__file__).parent / "go_app"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sdk" / "go"
CACHE = Path.home() / ".cache" / "faultline" / "go"
SDK_VERSION = "0.50.0"
FIXTURE_RUN_ID = "golden"
FIXTURE_FILES = {"*fmt.wrapError": "captured_error.envelope",
                 "*main.StockError": "http_panic.envelope"}


def _go_env() -> dict[str, str]:
    return {**os.environ, "GOMODCACHE": str(CACHE / "mod"), "GOCACHE": str(CACHE / "build"),
            "GOFLAGS": "-mod=mod -modcacherw -buildvcs=false", "GOTOOLCHAIN": "local"}


@pytest.fixture(scope="session")
def go_app() -> Path:
    """The built program; the first build on a machine downloads sentry-go."""
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).exists():
        pytest.fail("the Go toolchain (`go`) is not installed; the Go SDK test needs it")
    binary = CACHE / "bin" / "faultline-go-app"
    binary.parent.mkdir(parents=True, exist_ok=True)
    partial = binary.with_name(f"{binary.name}.{os.getpid()}.tmp")
    build = subprocess.run([go, "build", "-o", str(partial), "."], cwd=GO_APP, env=_go_env(),
                           capture_output=True, text=True, timeout=540)
    if build.returncode != 0:
        pytest.fail("building the sentry-go test app failed (is the Go module proxy "
                    f"reachable?):\n{build.stderr[-3000:]}")
    partial.replace(binary)
    return binary


def run_go_app(binary: Path, dsn: str, run_id: str) -> None:
    result = subprocess.run([str(binary), dsn, run_id], capture_output=True, text=True,
                            timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def run_id(aio: AllInOne, go_app: Path) -> str:
    """A run id whose two events were each reported twice, by two runs of the program."""
    run = f"go-{uuid.uuid4().hex[:12]}"
    for _ in range(2):
        run_go_app(go_app, aio.bootstrap["dsn"], run)
    return run


def _frames(exception: dict[str, Any]) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = (exception.get("stacktrace") or {}).get("frames") or []
    return frames


def _tags(event: dict[str, Any]) -> dict[str, str]:
    return {tag["key"]: tag["value"] for tag in event["tags"]}


def _assert_common_go_event(event: dict[str, Any]) -> None:
    assert event["platform"] == "go"
    assert event["sdk"]["version"] == SDK_VERSION
    assert event["release"] == "go-shop@2.0.0" and event["environment"] == "ci"
    assert event["server_name"] == "go-web-1"
    assert event["user"]["id"] == "u-go-7" and event["user"]["email"] == "gopher@example.com"
    assert _tags(event)["payment.provider"] == "acme-pay"
    assert event["contexts"]["runtime"]["name"] == "go"
    assert event["contexts"]["runtime"]["version"].startswith("go1.")
    assert event["contexts"]["os"]["name"] == "linux"
    crumbs = event["breadcrumbs"]["values"]
    assert crumbs[0]["category"] == "cart" and crumbs[0]["message"] == "cart loaded"


def test_wrapped_error_keeps_its_chain_and_groups(aio: AllInOne, run_id: str) -> None:
    issue = find_issue(aio, f"go place order {run_id}", count=2)
    assert issue["title"].startswith("*fmt.wrapError: ")
    event = latest_event(aio, issue["id"])
    assert event["groupID"] == str(issue["id"])
    _assert_common_go_event(event)
    assert event["sdk"]["name"] == "sentry.go" and event["level"] == "error"
    chain = event["exception"]["values"]
    # Innermost cause first, as Sentry orders a chain; each link names its parent.
    assert [link["type"] for link in chain] == [
        "*errors.errorString", "*fmt.wrapError", "*fmt.wrapError"]
    assert chain[0]["value"] == "card declined by issuer"
    assert chain[1]["value"].startswith(f"charge card for order ord-{run_id}")
    assert [link["mechanism"].get("parent_id") for link in chain] == [1, 0, None]
    frames = _frames(chain[-1])
    assert frames[-1]["function"] == "main" and frames[-1]["in_app"] is True
    assert frames[-1]["abs_path"].endswith("go_app/main.go")


def test_handler_panic_is_reported_with_the_request(aio: AllInOne, run_id: str) -> None:
    issue = find_issue(aio, f"go out of stock {run_id}", count=2)
    assert issue["title"] == f"*main.StockError: go out of stock {run_id} for sku sku-42"
    event = latest_event(aio, issue["id"])
    _assert_common_go_event(event)
    assert event["sdk"]["name"] == "sentry.go.http" and event["level"] == "fatal"
    request = event["request"]
    assert request["method"] == "POST"
    assert request["url"].startswith("http://127.0.0.1:")
    assert request["url"].endswith("/checkout")
    assert sorted(map(tuple, request["query_string"])) == [("qty", "3"), ("sku", "sku-42")]
    headers = dict(map(tuple, request["headers"]))
    assert headers["X-Request-Id"] == f"req-{run_id}"
    assert headers["User-Agent"] == "faultline-go-test/1.0"
    assert headers["Content-Type"] == "application/json"
    # sentry-go sends the body as the raw string; Faultline parses it as Sentry's Relay does.
    assert request["data"] == {"cart_id": 42, "coupon": "WELCOME"}
    assert request["inferred_content_type"] == "application/json"
    frames = _frames(event["exception"]["values"][-1])
    assert frames[-1]["function"] == "reserveStock" and frames[-1]["in_app"] is True
    assert any(f["module"] == "net/http" and f["in_app"] is False for f in frames)
    assert event["breadcrumbs"]["values"][-1]["message"] == "reserving stock"


@pytest.fixture(scope="module")
def captured_envelopes(go_app: Path) -> Iterator[dict[str, bytes]]:
    """The raw envelope bodies of one run, keyed by the fixture file each belongs to."""
    with capture_server() as server:
        run_go_app(go_app, server.dsn(7, public_key="publickey"), FIXTURE_RUN_ID)
        yield {_fixture_name(request.body): request.body for request in server.requests}


def _fixture_name(body: bytes) -> str:
    event = _normalized(body)
    return FIXTURE_FILES[event["exception"]["values"][-1]["type"]]


def _normalized(body: bytes) -> dict[str, Any]:
    envelope = parse_envelope(body)
    item = next(item for item in envelope.items if item.type == "event")
    assert envelope.event_id is not None
    return normalize_event(7, envelope.event_id, item.payload, time.time(), None).data


def _summary(body: bytes) -> dict[str, Any]:
    """What must stay the same between runs: no ids, times, ports or Go-internal lines."""
    data = _normalized(body)
    request = data.get("request") or {}
    return {
        # sentry-go adds a pending client report to whichever envelope goes next: a race.
        "items": sorted({item.type for item in parse_envelope(body).items} - {"client_report"}),
        "title": data["title"], "level": data["level"], "platform": data["platform"],
        "sdk": (data["sdk"]["name"], data["sdk"]["version"]),
        "chain": [(e["type"], e["value"]) for e in data["exception"]["values"]],
        "app_frames": [(f["function"], f["in_app"]) for e in data["exception"]["values"]
                       for f in _frames(e) if f.get("abs_path", "").endswith("main.go")],
        "request": (request.get("method"), sorted(k for k, _ in request.get("headers", []))),
        "user": data.get("user", {}).get("id"),
        "breadcrumbs": [b["message"] for b in data["breadcrumbs"]["values"]],
        "errors": data["errors"],
    }


def test_sent_envelopes_match_the_golden_fixtures(captured_envelopes: dict[str, bytes]) -> None:
    assert sorted(captured_envelopes) == sorted(FIXTURE_FILES.values())
    if os.environ.get("FAULTLINE_UPDATE_SDK_FIXTURES") == "1":
        FIXTURES.mkdir(parents=True, exist_ok=True)
        for name, body in captured_envelopes.items():
            (FIXTURES / name).write_bytes(body)
    for name, body in captured_envelopes.items():
        golden = (FIXTURES / name).read_bytes()
        assert _summary(body) == _summary(golden), name
