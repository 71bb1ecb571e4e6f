"""sentry-python's structured logs reach the all-in-one and are found by the log search.

The SDK runs as a program of its own (``python_apps/structured_logs_app.py``), exactly as
a user's worker would, and the lines are looked up through the web API.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

from tests.integration.allinone import AllInOne, wait_for
from tests.integration.sdk.python_apps.runner import APPS, app_env

LOGS = "/api/0/projects/default/default/logs/"


def search(aio: AllInOne, **params: Any) -> list[dict[str, Any]]:
    response = aio.api(LOGS, params=params)
    response.raise_for_status()
    rows: list[dict[str, Any]] = response.json()
    return rows


def test_sdk_logs_are_searchable_by_text_and_level(aio: AllInOne) -> None:
    token = "run" + uuid.uuid4().hex[:12]
    done = subprocess.run(
        [sys.executable, str(APPS / "structured_logs_app.py"), aio.bootstrap["dsn"], token],
        cwd=APPS, env=app_env(), capture_output=True, timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")

    rows = wait_for(lambda: len(found := search(aio, query=token)) == 3 and found, 60)
    by_level = {row["level"]: row for row in rows}
    assert set(by_level) == {"info", "error", "warn"}

    accepted = by_level["info"]
    assert accepted["body"] == f"order A-17 accepted in run {token}"
    assert accepted["template"] == "order {order_id} accepted in run {run}"
    assert (accepted["release"], accepted["environment"]) == ("checkout@3.1.0", "sdk-matrix")
    assert accepted["severity_number"] == 9
    attributes = accepted["attributes"]
    assert attributes["sentry.message.parameter.order_id"]["value"] == "A-17"
    assert attributes["shop.region"] == {"value": "eu", "type": "string"}
    assert attributes["items"] == {"value": 3, "type": "integer"}
    assert attributes["sentry.sdk.name"]["value"].startswith("sentry.python")
    assert len(accepted["trace_id"]) == 32

    assert by_level["warn"]["body"] == f"stock for sku-9 low in run {token}"
    assert by_level["warn"]["template"] == "stock for %s low in run %s"

    # By level, by text (case-insensitive) and by attribute.
    errors = search(aio, query=token, level="error")
    assert [row["body"] for row in errors] == [f"order B-2 failed in run {token}"]
    assert errors[0]["attributes"]["payment.retry"] == {"value": True, "type": "boolean"}
    upper = search(aio, query="ORDER B-2 FAILED", limit=1000)
    assert f"order B-2 failed in run {token}" in [row["body"] for row in upper]
    by_attribute = search(aio, query=f"{token} shop.region:eu")
    assert [row["level"] for row in by_attribute] == ["info"]
