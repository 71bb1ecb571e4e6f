"""End to end across four processes on Kafka, ClickHouse 18.16 and PostgreSQL.

The real sentry-python SDK (run as its own process) reports exceptions to the relay; the
processor consumes them from Kafka into ClickHouse and PostgreSQL; the web gateway
answers Sentry's API through the query service.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.integration.allinone import wait_for
from tests.integration.harness.services import Stack

SCRIPTS = Path(__file__).resolve().parents[1] / "sdk_scripts"
ISSUES = "/api/0/projects/default/default/issues/"
# What the SDK script sends: see sdk_scripts/python_app.py.
EXPECTED_TAGS = {
    "browser": "Chrome 120.0.0",
    "os": "Windows 10",
    "server_name": "web-1",
    "release": "shop@1.2.3",
    "environment": "staging",
}


def send_with_sdk(stack: Stack, kind: str) -> None:
    subprocess.run([sys.executable, str(SCRIPTS / "python_app.py"), stack.dsn, kind],
                   check=True, timeout=60)


def get_json(stack: Stack, path: str, **params: str) -> Any:
    resp = stack.api(path, params=params)
    assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text}"
    return resp.json()


def issue_with_count(stack: Stack, title_prefix: str, count: int) -> dict[str, Any] | None:
    for issue in get_json(stack, ISSUES):
        if issue["title"].startswith(title_prefix) and int(issue["count"]) == count:
            result: dict[str, Any] = issue
            return result
    return None


def test_sdk_events_flow_through_every_service(module_stack: Stack) -> None:
    stack = module_stack
    for kind in ("zero", "zero", "key"):
        send_with_sdk(stack, kind)
    zero = wait_for(lambda: issue_with_count(stack, "ZeroDivisionError", 2), timeout_s=60)
    key = wait_for(lambda: issue_with_count(stack, "KeyError", 1), timeout_s=60)
    assert zero["id"] != key["id"]
    assert len(get_json(stack, ISSUES)) == 2
    assert zero["userCount"] == 1 and zero["level"] == "error"
    assert "divide" in zero["culprit"]

    tags = {tag["key"]: tag for tag in get_json(stack, f"/api/0/issues/{zero['id']}/tags/")}
    for key_name, value in EXPECTED_TAGS.items():
        assert key_name in tags, f"no {key_name} tag in {sorted(tags)}"
        top = tags[key_name]["topValues"]
        assert [(v["value"], v["count"]) for v in top] == [(value, 2)], (key_name, top)

    volume = get_json(stack, f"/api/0/issues/{zero['id']}/stats/", range="24h")
    assert len(volume) == 24
    assert sum(count for _, count in volume) == 2
    details = get_json(stack, f"/api/0/issues/{zero['id']}/")
    assert sum(count for _, count in details["stats"]["24h"]) == 2

    event = get_json(stack, f"/api/0/issues/{zero['id']}/events/latest/")
    assert event["groupID"] == str(zero["id"])
    frames = event["exception"]["values"][-1]["stacktrace"]["frames"]
    assert frames[-1]["function"] == "divide"
    assert "total / parts" in frames[-1]["context_line"]
    assert event["release"] == "shop@1.2.3" and event["environment"] == "staging"
    assert event["request"]["url"].startswith("https://shop.example.com/checkout")
