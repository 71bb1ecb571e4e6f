"""Every envelope item type across four processes on Kafka, ClickHouse 18.16 and PostgreSQL.

The relay stores attachment bytes in the blob store and web serves them from it (two
processes sharing one directory, as two containers share a volume); logs go to
ClickHouse 18.16's ``logs`` table through the query service; sessions, outcomes and user
reports to PostgreSQL.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

from tests.integration.allinone import wait_for
from tests.integration.harness.services import Stack

SCRIPT = Path(__file__).resolve().parents[1] / "sdk_scripts" / "items_app.py"
ATTACHMENT = b"cart=3 items\ntotal=12.00\n"
PROJECT = "/api/0/projects/default/default"


def _json(stack: Stack, path: str, **params: str) -> Any:
    resp = stack.api(path, params=params)
    assert resp.status_code == 200, f"{path}: {resp.status_code} {resp.text}"
    return resp.json()


def _issue(stack: Stack, run_id: str) -> dict[str, Any] | None:
    found = [i for i in _json(stack, f"{PROJECT}/issues/") if run_id in i["title"]]
    return found[0] if found else None


def _sessions(stack: Stack) -> dict[str, Any] | None:
    body = _json(stack, "/api/0/organizations/default/sessions/", field="sum(session)",
                 groupBy="release", statsPeriod="24h")
    groups = [g for g in body["groups"] if g["by"].get("release") == "items@1.0"]
    return groups[0] if groups and groups[0]["totals"]["sum(session)"] >= 1 else None


def _accepted(stack: Stack, category: str) -> int:
    body = _json(stack, "/api/0/organizations/default/stats_v2/", field="sum(quantity)",
                 groupBy="category", outcome="accepted", statsPeriod="24h")
    return sum(int(g["totals"]["sum(quantity)"]) for g in body["groups"]
               if g["by"].get("category") == category)


def test_every_item_type_flows_through_every_service(module_stack: Stack) -> None:
    stack = module_stack
    run_id = uuid.uuid4().hex[:12]
    done = subprocess.run([sys.executable, str(SCRIPT), stack.dsn, run_id],
                          capture_output=True, text=True, timeout=60, check=True)
    event_id = done.stdout.strip().splitlines()[-1]

    issue = wait_for(lambda: _issue(stack, run_id), timeout_s=60)
    attachments = wait_for(
        lambda: _json(stack, f"{PROJECT}/events/{event_id}/attachments/") or None, timeout_s=30
    )
    [attachment] = attachments
    assert (attachment["name"], attachment["size"]) == ("cart.txt", len(ATTACHMENT))
    download = stack.api(f"{PROJECT}/events/{event_id}/attachments/{attachment['id']}/",
                         params={"download": "1"})
    assert download.status_code == 200 and download.content == ATTACHMENT

    reports = wait_for(
        lambda: _json(stack, f"/api/0/issues/{issue['id']}/user-reports/") or None, timeout_s=30
    )
    assert [r["comments"] for r in reports] == [f"broken in {run_id}"]

    logs = wait_for(lambda: _json(stack, f"{PROJECT}/logs/", query=run_id) or None,
                    timeout_s=30)
    assert sorted(line["level"] for line in logs) == ["error", "info"]
    errors = _json(stack, f"{PROJECT}/logs/", query=run_id, level="error")
    assert [line["body"] for line in errors] == [f"payment timeout in {run_id}"]

    group = wait_for(lambda: _sessions(stack), timeout_s=30)
    assert group["totals"]["sum(session)"] == 1
    assert wait_for(lambda: _accepted(stack, "transaction") or None, timeout_s=30) == 1
