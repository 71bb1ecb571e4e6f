"""Quotas end to end (issue 4): set through the web API, enforced by the relay, honoured
by the real sentry-python and @sentry/node SDKs, which stop sending errors once they got
a 429 and later report what they dropped in a client report.

Each test uses a DSN key the relay has never looked up (a fresh project or a fresh key),
so the first lookup already sees the limit instead of waiting out the key cache TTL.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from faultline_core.messages import decode_ingest_message
from faultline_processor.items.registry import ITEM_HANDLERS
from tests.integration.allinone import AllInOne, wait_for
from tests.integration.sdk.node import node_binary, node_workdir
from tests.integration.sdk.projects import aio_query, fresh_project, sdk_scope

CAPTURED = 6
ALLOWED = 2
TOPIC = "ingest-events"


def away_from_a_minute_boundary() -> None:
    """Per-minute windows are aligned to the clock: start early in a minute so that all
    the captures fall into one window."""
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)


def capture_errors(dsn: str, count: int) -> None:
    """Report ``count`` exceptions in a row with the SDK's own HTTP transport, then flush
    (which sends the pending client report) and close."""
    with sdk_scope(dsn) as scope:
        for n in range(count):
            try:
                raise RuntimeError(f"quota check {n}")
            except RuntimeError as exc:
                scope.capture_exception(exc)


def rate_limited(aio: AllInOne, project_id: int) -> dict[str, int]:
    rows = aio_query(aio, "SELECT reason, quantity FROM outcomes WHERE project_id = %s"
                     " AND outcome = 'rate_limited' AND category = 'error'", (project_id,))
    return {row["reason"]: int(row["quantity"]) for row in rows}


def published(aio: AllInOne, project_id: int) -> list[tuple[str, bytes]]:
    """(item type, payload) of every message the relay put on the bus for the project."""
    rows = aio_query(aio, 'SELECT value FROM bus_log WHERE topic = %s AND key = %s'
                     ' ORDER BY "offset"', (TOPIC, str(project_id).encode()))
    messages = [decode_ingest_message(bytes(row["value"])) for row in rows]
    return [(m.item_type, m.payload) for m in messages]


def backoff_drops(payloads: list[bytes]) -> int:
    """Errors the SDK's client reports say it dropped because it was backing off."""
    return sum(
        int(entry["quantity"])
        for payload in payloads
        for entry in json.loads(payload).get("discarded_events", [])
        if entry.get("reason") == "ratelimit_backoff" and entry.get("category") == "error"
    )


def assert_sdk_backed_off(aio: AllInOne, project_id: int, reason: str) -> None:
    # Two events accepted, the third refused, and then nothing until the client report:
    # without back-off the relay would have refused four.
    assert wait_for(lambda: rate_limited(aio, project_id), 30) == {reason: 1}
    def with_report() -> list[tuple[str, bytes]] | None:
        items = published(aio, project_id)
        return items if any(t == "client_report" for t, _ in items) else None

    items = wait_for(with_report, 30)
    # Sessions (the Node SDK sends them) are not errors and pass freely.
    assert [t for t, _ in items if t != "session"].count("event") == ALLOWED, items
    reports = [payload for item_type, payload in items if item_type == "client_report"]
    assert backoff_drops(reports) == CAPTURED - ALLOWED - 1
    if "client_report" in ITEM_HANDLERS:  # client reports are stored as outcomes
        def discarded() -> list[dict[str, Any]]:
            return aio_query(aio, "SELECT quantity FROM outcomes WHERE project_id = %s AND"
                             " outcome = 'client_discard' AND reason = 'ratelimit_backoff'",
                             (project_id,))
        assert sum(r["quantity"] for r in wait_for(discarded, 30)) == CAPTURED - ALLOWED - 1


def test_python_sdk_backs_off_on_a_project_quota(aio: AllInOne) -> None:
    project = fresh_project(aio)
    url = f"/api/0/projects/default/{project.slug}/"
    response = aio.api(url, "PUT", json={"quotas": {"perMinute": ALLOWED, "perHour": None}})
    assert response.status_code == 200, response.text
    assert aio.api(url).json()["quotas"] == {"perMinute": ALLOWED, "perHour": None}

    away_from_a_minute_boundary()
    capture_errors(project.dsn, CAPTURED)

    assert_sdk_backed_off(aio, project.project_id, "project_quota")


def test_python_sdk_backs_off_on_a_key_rate_limit(aio: AllInOne) -> None:
    project = fresh_project(aio)
    created = aio.api(f"/api/0/projects/default/{project.slug}/keys/", "POST",
                      json={"name": "limited", "rateLimit": {"window": 60, "count": ALLOWED}})
    assert created.status_code == 201, created.text
    key = created.json()
    listed = aio.api(f"/api/0/projects/default/{project.slug}/keys/").json()
    assert [k["rateLimit"] for k in listed] == [None, {"window": 60, "count": ALLOWED}]

    away_from_a_minute_boundary()
    capture_errors(key["dsn"]["public"], CAPTURED)

    assert_sdk_backed_off(aio, project.project_id, "key_quota")


@pytest.fixture(scope="module")
def node_ratelimit_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``node_app/ratelimit.js`` next to the Node app's cached ``npm ci`` install."""
    return node_workdir(tmp_path_factory, "node-ratelimit", "ratelimit.js") / "ratelimit.js"


def test_node_sdk_backs_off_on_a_project_quota(
    aio: AllInOne, node_ratelimit_script: Path
) -> None:
    node = node_binary()
    project = fresh_project(aio)
    response = aio.api(f"/api/0/projects/default/{project.slug}/", "PUT",
                       json={"quotas": {"perMinute": ALLOWED}})
    assert response.status_code == 200, response.text

    away_from_a_minute_boundary()
    done = subprocess.run(
        [node, node_ratelimit_script.name], cwd=node_ratelimit_script.parent,
        env={**os.environ, "SENTRY_DSN": project.dsn, "COUNT": str(CAPTURED)},
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(json.loads(done.stdout.strip().splitlines()[-1])["eventIds"]) == CAPTURED

    assert_sdk_backed_off(aio, project.project_id, "project_quota")
