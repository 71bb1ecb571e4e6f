"""A real Rails app with sentry-rails (Debian's ``ruby-sentry-rails``) against Faultline.

``rails_app/`` is a minimal Rails 6.1 application (one controller, served by Puma) whose
checkout action raises ``OrderFailed`` while rescuing ``PaymentGateway::CardDeclined``, so
Ruby records the decline as its ``cause``. It sets the user, tags and breadcrumbs, and
sentry-rails reports the failing request with ``send_default_pii``. Everything comes from
Debian packages (``ruby-sentry-rails``, ``puma``); the fixture installs them when missing
and running as root. Debian's ``rails`` meta-package is not needed (and on a machine with
a non-Debian Node.js its webpacker dependency cannot be installed). Set
``FAULTLINE_UPDATE_SDK_FIXTURES=1`` to rewrite the golden envelope in
``tests/fixtures/sdk/rails/`` from what the SDK sends.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
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
from tests.integration.sdk.capture import capture_server
from tests.integration.sdk.conftest import find_issue, latest_event
from tests.integration.sdk.python_apps.runner import serve

RAILS_APP = Path(__file__).parent / "rails_app"
FIXTURE = ROOT / "tests" / "fixtures" / "sdk" / "rails" / "checkout_error.envelope"
DEBIAN_PACKAGES = ("ruby", "ruby-sentry-rails", "puma")
PROBE = 'require "rails"; require "action_controller/railtie"; require "sentry-rails"'
CHROME_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 "
             "(KHTML, like Gecko) Chrome/120.0.6099.109 Safari/537.36")


def _rails_ready() -> str | None:
    """Puma's path when Rails, sentry-rails and Puma are all usable, else None."""
    puma = shutil.which("puma") or "/usr/bin/puma"
    if not Path(puma).exists() or not Path("/usr/bin/ruby").exists():
        return None
    probe = subprocess.run(["/usr/bin/ruby", "-e", PROBE], capture_output=True, timeout=60)
    return puma if probe.returncode == 0 else None


@pytest.fixture(scope="session")
def puma() -> str:
    """Puma, with Rails and sentry-rails loadable; installed from Debian when missing."""
    found = _rails_ready()
    if found is None:
        if os.geteuid() != 0:
            pytest.fail(f"Rails with sentry-rails is missing: apt-get install "
                        f"{' '.join(DEBIAN_PACKAGES)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"],
                        ["apt-get", "install", "-y", "-qq", *DEBIAN_PACKAGES]):
            done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=540)
            assert done.returncode == 0, f"{' '.join(command)} failed:\n{done.stderr[-3000:]}"
        found = _rails_ready()
    assert found is not None, f"`ruby -e '{PROBE}'` fails after installing the packages"
    return found


@contextmanager
def running_rails(puma: str, dsn: str, log_dir: Path) -> Iterator[str]:
    """Serve ``rails_app`` with Puma, reporting to ``dsn``; yield its base URL."""
    port = free_port()
    env = {**os.environ, "SENTRY_DSN": dsn, "RAILS_ENV": "production"}
    command = ["/usr/bin/ruby", puma, "--bind", f"tcp://127.0.0.1:{port}",
               "--threads", "1:1", "--environment", "production", "config.ru"]
    with serve(command, env, port, log_dir / f"rails-{port}.log", ready_path="/healthz",
               timeout_s=60, cwd=RAILS_APP) as server:
        yield server.url


def checkout_fails(base_url: str, order_id: str) -> None:
    """A shopper's failing checkout: query string, headers, a cookie and a JSON body."""
    resp = httpx.post(f"{base_url}/orders/{order_id}/checkout?coupon=SPRING&step=2",
                      json={"amount": 12.5, "items": ["socks", "hat"]},
                      headers={"User-Agent": CHROME_UA, "X-Request-Id": f"req-{order_id}",
                               "Cookie": "theme=dark"}, timeout=30)
    # sentry-rails sends from the request thread (no background worker): it has left now.
    assert resp.status_code == 500, resp.text


@pytest.fixture(scope="module")
def rails_issue(aio: AllInOne, puma: str, tmp_path_factory: pytest.TempPathFactory,
                ) -> tuple[str, dict[str, Any]]:
    """The issue of one checkout failure raised twice by the app (so two events)."""
    order_id = f"ord-{uuid.uuid4().hex[:12]}"
    with running_rails(puma, aio.bootstrap["dsn"], tmp_path_factory.mktemp("rails")) as url:
        for _ in range(2):
            checkout_fails(url, order_id)
    return order_id, find_issue(aio, f"rails checkout of order {order_id} failed", count=2)


def _issues_with(aio: AllInOne, text: str) -> list[str]:
    resp = aio.api("/api/0/projects/default/default/issues/", params={"limit": 100})
    resp.raise_for_status()
    return [issue["id"] for issue in resp.json() if text in issue["title"]]


def test_same_error_twice_is_one_issue_with_the_chain(
        aio: AllInOne, rails_issue: tuple[str, dict[str, Any]]) -> None:
    order_id, issue = rails_issue
    assert issue["title"] == (
        f"OrdersController::OrderFailed: rails checkout of order {order_id} failed")
    assert _issues_with(aio, order_id) == [issue["id"]]
    event = latest_event(aio, issue["id"])
    assert event["groupID"] == str(issue["id"])
    assert event["platform"] == "ruby" and event["level"] == "error"
    assert event["sdk"] == {"name": "sentry.ruby.rails", "version": "5.3.0"}
    assert event["release"] == "rails-shop@6.1.0" and event["environment"] == "ci"
    assert event["server_name"] == "rails-web-1"
    chain = [(link["type"], link["value"]) for link in event["exception"]["values"]]
    assert chain == [("PaymentGateway::CardDeclined", "rails card declined for amount 12.5"),
                     ("OrdersController::OrderFailed",
                      f"rails checkout of order {order_id} failed")]


def test_frames_carry_in_app_flags_and_source_context(
        aio: AllInOne, rails_issue: tuple[str, dict[str, Any]]) -> None:
    cause, outer = latest_event(aio, rails_issue[1]["id"])["exception"]["values"]
    crash = cause["stacktrace"]["frames"][-1]
    assert (crash["filename"], crash["function"], crash["in_app"]) == (
        "lib/payment_gateway.rb", "charge", True)
    assert crash["context_line"].strip() == (
        'raise CardDeclined, "rails card declined for amount #{amount}"')
    assert len(crash["pre_context"]) == 3 and crash["post_context"][:2] == ["  end\n", "end\n"]
    rescue = outer["stacktrace"]["frames"][-1]
    assert (rescue["filename"], rescue["function"], rescue["in_app"]) == (
        "app/controllers/orders_controller.rb", "rescue in checkout", True)
    # Rails' backtrace cleaner names gem frames "puma (5.6.5) lib/..."; none is in-app.
    library = [f for f in cause["stacktrace"]["frames"] if f["filename"].startswith("puma ")]
    assert library and not any(f["in_app"] for f in library)


def test_request_is_kept_with_its_parsed_body(
        aio: AllInOne, rails_issue: tuple[str, dict[str, Any]]) -> None:
    order_id, issue = rails_issue
    request = latest_event(aio, issue["id"])["request"]
    assert request["method"] == "POST"
    assert request["url"].startswith("http://127.0.0.1:")
    assert request["url"].endswith(f"/orders/{order_id}/checkout")
    assert request["query_string"] == [["coupon", "SPRING"], ["step", "2"]]
    headers = dict(map(tuple, request["headers"]))
    assert headers["User-Agent"] == CHROME_UA
    assert headers["Content-Type"] == "application/json"
    assert request["cookies"] == [["theme", "dark"]]
    # sentry-ruby sends the raw JSON text; it is stored parsed, as Sentry does.
    assert request["data"] == {"amount": 12.5, "items": ["socks", "hat"]}
    assert request["inferred_content_type"] == "application/json"


def test_user_tags_contexts_and_breadcrumbs(
        aio: AllInOne, rails_issue: tuple[str, dict[str, Any]]) -> None:
    order_id, issue = rails_issue
    event = latest_event(aio, issue["id"])
    user = event["user"]
    assert (user["id"], user["email"], user["username"]) == (
        "rails-user-3", "ada@example.com", "ada")
    tags = {tag["key"]: tag["value"] for tag in event["tags"]}
    assert tags["checkout.step"] == "payment" and tags["shop.region"] == "eu"
    assert tags["request_id"] == f"req-{order_id}"
    assert tags["transaction"] == "OrdersController#checkout"
    contexts = event["contexts"]
    assert contexts["runtime"]["name"] == "ruby3.1"
    assert contexts["os"]["name"] == "Linux"
    assert contexts["browser"]["name"] == "Chrome"  # from the request's User-Agent
    crumbs = [(c["category"], c["message"]) for c in event["breadcrumbs"]["values"]]
    assert ("cart", "cart loaded") in crumbs
    assert ("payment", f"charging 12.5 for order {order_id}") in crumbs
    # sentry-rails' ActiveSupport logger adds Rails' own instrumentation crumbs.
    assert crumbs[0][0] == "start_processing.action_controller"


def _summary(body: bytes) -> dict[str, Any]:
    """What must not drift between the committed fixture and a fresh capture."""
    envelope = parse_envelope(body)
    event = json.loads(envelope.items[0].payload)
    return {"sdk": envelope.headers["sdk"], "items": [i.type for i in envelope.items],
            "platform": event["platform"], "keys": sorted(event),
            "chain": [v["type"] for v in event["exception"]["values"]],
            "request": sorted(event["request"]), "user": sorted(event["user"]),
            "contexts": sorted(event["contexts"])}


def test_golden_envelope_matches_what_the_sdk_sends(
        puma: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    with capture_server() as server:
        with running_rails(puma, server.dsn(7, public_key="publickey"),
                           tmp_path_factory.mktemp("rails-golden")) as url:
            checkout_fails(url, "ord-golden")
        (sent,) = server.requests
    # Rails' module list and rack env make the event > 30 KiB: sentry-ruby gzips it.
    assert sent.headers.get("content-encoding") == "gzip"
    assert "sentry_client=sentry-ruby/5.3.0" in sent.headers["x-sentry-auth"]
    body = gzip.decompress(sent.body)
    if os.environ.get("FAULTLINE_UPDATE_SDK_FIXTURES") == "1":
        FIXTURE.parent.mkdir(parents=True, exist_ok=True)
        FIXTURE.write_bytes(body)
    assert _summary(body) == _summary(FIXTURE.read_bytes()), (
        "sentry-rails now sends a differently shaped event: rerun with "
        "FAULTLINE_UPDATE_SDK_FIXTURES=1 and review the fixture diff")
