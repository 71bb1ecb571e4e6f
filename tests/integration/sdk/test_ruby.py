"""The real sentry-ruby SDK (Debian's ``ruby-sentry-ruby``) against Faultline.

A small plain-Ruby program (``ruby_app/``) reports an ``OrderFailed`` raised inside the
rescue of a ``PaymentDeclined``, so Ruby records the decline as its ``cause``. Its extras
are over 30 KiB, so sentry-ruby gzips the envelope as it would in production.
Ruby and the SDK come from Debian packages: the session fixture installs them with
apt-get (as root) when missing. Set ``FAULTLINE_UPDATE_SDK_FIXTURES=1`` to rewrite the
golden envelope in ``tests/fixtures/sdk/ruby/`` from what the SDK sends.
"""

from __future__ import annotations

import gzip
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

RUBY_APP = Path(__file__).parent / "ruby_app"
PROGRAM = RUBY_APP / "bin" / "checkout"
FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "sdk" / "ruby"
FIXTURE = FIXTURES / "chained_error.envelope"
DEBIAN_PACKAGES = ("ruby", "ruby-sentry-ruby")
SDK_VERSION = "5.3.0"
FIXTURE_RUN_ID = "golden"
SCOPE_TAGS = ("payment.provider", "shop.region")


def _ruby_with_sdk() -> str | None:
    """A Ruby that can load sentry-ruby: the one on PATH, else Debian's."""
    for ruby in dict.fromkeys(filter(None, (shutil.which("ruby"), "/usr/bin/ruby"))):
        if not Path(ruby).exists():
            continue
        probe = subprocess.run([ruby, "-e", 'require "sentry-ruby"'], capture_output=True,
                               timeout=30)
        if probe.returncode == 0:
            return ruby
    return None


def _apt_install(packages: tuple[str, ...]) -> None:
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *packages]):
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=540)
        if done.returncode != 0:
            pytest.fail(f"`{' '.join(command)}` failed (is the Debian mirror reachable?):\n"
                        f"{done.stderr[-3000:]}")


@pytest.fixture(scope="session")
def ruby() -> str:
    """The Ruby interpreter, with sentry-ruby loadable; installed from Debian when missing."""
    found = _ruby_with_sdk()
    if found is None:
        if os.geteuid() != 0:
            pytest.fail("Ruby with sentry-ruby is missing and installing it needs root: "
                        f"run `apt-get install {' '.join(DEBIAN_PACKAGES)}`")
        _apt_install(DEBIAN_PACKAGES)
        found = _ruby_with_sdk()
    if found is None:
        pytest.fail(f"`ruby -e 'require \"sentry-ruby\"'` still fails after installing "
                    f"{', '.join(DEBIAN_PACKAGES)}")
    return found


def run_ruby_app(ruby: str, dsn: str, run_id: str) -> None:
    env = {**os.environ, "SENTRY_DSN": dsn, "RUN_ID": run_id}
    result = subprocess.run([ruby, str(PROGRAM)], cwd=RUBY_APP, env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def run_id(aio: AllInOne, ruby: str) -> str:
    """A run id whose failure was reported twice, by two runs of the program."""
    run = f"ruby-{uuid.uuid4().hex[:12]}"
    for _ in range(2):
        run_ruby_app(ruby, aio.bootstrap["dsn"], run)
    return run


def _frames(exception: dict[str, Any]) -> list[dict[str, Any]]:
    frames: list[dict[str, Any]] = (exception.get("stacktrace") or {}).get("frames") or []
    return frames


def test_chained_error_groups_and_keeps_its_cause(aio: AllInOne, run_id: str) -> None:
    issue = find_issue(aio, f"ruby place order {run_id} failed", count=2)
    assert issue["title"] == f"Checkout::OrderFailed: ruby place order {run_id} failed"
    event = latest_event(aio, issue["id"])
    assert event["groupID"] == str(issue["id"])
    assert event["platform"] == "ruby" and event["level"] == "error"
    assert event["sdk"] == {"name": "sentry.ruby", "version": SDK_VERSION}
    assert event["release"] == "ruby-shop@3.1.0" and event["environment"] == "ci"
    assert event["server_name"] == "ruby-worker-1"
    chain = event["exception"]["values"]
    # The cause comes first, as Sentry orders a chain.
    assert [(link["type"], link["value"]) for link in chain] == [
        ("Checkout::PaymentDeclined", "ruby card declined by issuer"),
        ("Checkout::OrderFailed", f"ruby place order {run_id} failed")]


def test_frames_carry_in_app_and_source_context(aio: AllInOne, run_id: str) -> None:
    issue = find_issue(aio, f"ruby place order {run_id} failed", count=2)
    cause = latest_event(aio, issue["id"])["exception"]["values"][0]
    frames = _frames(cause)
    crash = frames[-1]
    assert crash["function"] == "charge_card" and crash["in_app"] is True
    assert crash["filename"] == "lib/checkout.rb"
    assert crash["abs_path"] == str(RUBY_APP / "lib" / "checkout.rb")
    assert crash["context_line"].strip() == (
        'raise PaymentDeclined, "ruby card declined by issuer"')
    assert len(crash["pre_context"]) == 3 and len(crash["post_context"]) == 3
    library = [f for f in frames if f["abs_path"].endswith("/timeout.rb")]
    assert library and all(f["in_app"] is False for f in library)
    assert frames[0]["function"] == "<main>" and frames[0]["filename"] == "bin/checkout"


def test_scope_data_reaches_the_event(aio: AllInOne, run_id: str) -> None:
    issue = find_issue(aio, f"ruby place order {run_id} failed", count=2)
    event = latest_event(aio, issue["id"])
    user = event["user"]
    assert (user["id"], user["email"], user["username"]) == (
        "u-ruby-9", "rubyist@example.com", "ruby-fan")
    tags = {tag["key"]: tag["value"] for tag in event["tags"]}
    assert tags["payment.provider"] == "ruby-pay" and tags["shop.region"] == "eu"
    contexts = event["contexts"]
    order = contexts["order"]
    assert (order["id"], order["items"]) == (f"ord-{run_id}", 3)
    assert contexts["runtime"]["name"].startswith("ruby")
    assert contexts["runtime"]["version"].startswith("ruby 3.")
    assert contexts["os"]["name"] == "Linux"
    crumbs = event["breadcrumbs"]["values"]
    assert [(c["category"], c["message"]) for c in crumbs] == [
        ("cart", "cart loaded"), ("payment", "charging card")]
    assert crumbs[0]["data"] == {"items": 3}
    # The >30 KiB extras made sentry-ruby gzip the body; the relay had to undo that.
    receipt = event["extra"]["receipt"]
    assert receipt[0].startswith("line 000: item item")


@pytest.fixture(scope="module")
def captured_envelope(ruby: str) -> Iterator[tuple[str, bytes]]:
    """The Content-Encoding and raw body of the one envelope a run sends."""
    with capture_server() as server:
        run_ruby_app(ruby, server.dsn(7, public_key="publickey"), FIXTURE_RUN_ID)
        requests = server.requests
        assert len(requests) == 1
        yield requests[0].headers.get("content-encoding") or "", requests[0].body


def _summary(body: bytes) -> dict[str, Any]:
    """What must stay the same between runs: no ids, times, paths or host details."""
    envelope = parse_envelope(body)
    item = next(item for item in envelope.items if item.type == "event")
    assert envelope.event_id is not None
    data = normalize_event(7, envelope.event_id, item.payload, time.time(), None).data
    return {
        "items": [item.type for item in envelope.items],
        "title": data["title"], "level": data["level"], "platform": data["platform"],
        "sdk": (data["sdk"]["name"], data["sdk"]["version"]),
        "chain": [(e["type"], e["value"]) for e in data["exception"]["values"]],
        "app_frames": [(f["filename"], f["function"], f["lineno"])
                       for e in data["exception"]["values"] for f in _frames(e)
                       if f["in_app"]],
        "user": data["user"],
        "tags": sorted(tuple(tag) for tag in data["tags"] if tag[0] in SCOPE_TAGS),
        "order": data["contexts"]["order"],
        "breadcrumbs": [b["message"] for b in data["breadcrumbs"]["values"]],
        "errors": data["errors"],
    }


def test_sent_envelope_matches_the_golden_fixture(captured_envelope: tuple[str, bytes]) -> None:
    encoding, raw = captured_envelope
    assert encoding == "gzip"
    body = gzip.decompress(raw)
    if os.environ.get("FAULTLINE_UPDATE_SDK_FIXTURES") == "1":
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_bytes(body)
    assert _summary(body) == _summary(FIXTURE.read_bytes())
