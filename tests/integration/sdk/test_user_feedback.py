"""User feedback from real SDKs shows on the issue it is about.

@sentry/node's ``Sentry.captureFeedback`` sends the new ``feedback`` item (an event with
``contexts.feedback``); sentry-python, which has no feedback API, sends a legacy
``user_report`` item through its own transport. Both run as programs reporting to the
all-in-one; the assertions read the web API.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.allinone import AllInOne, wait_for
from tests.integration.sdk.conftest import find_issue
from tests.integration.sdk.node import node_binary, node_workdir
from tests.integration.sdk.python_apps.runner import APPS, app_env


@pytest.fixture(scope="module")
def feedback_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``node_app/feedback.js`` next to the Node app's cached ``npm ci`` install."""
    return node_workdir(tmp_path_factory, "node-feedback", "feedback.js") / "feedback.js"


def run_program(args: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def reports(aio: AllInOne, path: str) -> list[dict[str, Any]]:
    resp = aio.api(path)
    resp.raise_for_status()
    found: list[dict[str, Any]] = resp.json()
    return found


def wait_for_report(aio: AllInOne, path: str, comments: str) -> dict[str, Any]:
    def lookup() -> dict[str, Any] | None:
        return next((r for r in reports(aio, path) if r["comments"] == comments), None)

    found: dict[str, Any] = wait_for(lookup, timeout_s=60)
    return found


def test_node_capture_feedback_shows_on_the_issue(aio: AllInOne, feedback_script: Path) -> None:
    node = node_binary()
    run_id = f"node-feedback-{uuid.uuid4().hex}"
    env = {**os.environ, "SENTRY_DSN": aio.bootstrap["dsn"], "RUN_ID": run_id}
    ids = run_program([node, feedback_script.name], feedback_script.parent, env)
    issue = find_issue(aio, run_id)

    comments = f"The report page went blank (run {run_id})"
    report = wait_for_report(aio, f"/api/0/issues/{issue['id']}/user-reports/", comments)
    assert report["eventID"] == ids["eventId"] == report["event"]["eventID"]
    assert report["id"] == ids["feedbackId"]
    assert (report["name"], report["email"]) == ("Grace Hopper", "grace@example.com")

    # Feedback about no event lists under the project, on no issue.
    general = f"Love the new dashboard (run {run_id})"
    listed = wait_for_report(aio, "/api/0/projects/default/default/user-feedback/", general)
    assert listed["eventID"] == ids["generalId"]
    on_issue = reports(aio, f"/api/0/issues/{issue['id']}/user-reports/")
    assert [r["comments"] for r in on_issue] == [comments]


def test_python_user_report_shows_on_the_issue(aio: AllInOne) -> None:
    token = "run" + uuid.uuid4().hex[:12]
    ids = run_program([sys.executable, str(APPS / "feedback_app.py"), aio.bootstrap["dsn"],
                       token], APPS, app_env())
    issue = find_issue(aio, f"FeedbackJobError: export failed for run {token}")

    comments = f"The export never arrived (run {token})"
    path = f"/organizations/default/issues/{issue['id']}/user-reports/"
    report = wait_for_report(aio, "/api/0" + path, comments)
    assert report["eventID"] == ids["event_id"]
    assert (report["name"], report["email"]) == ("Ada Lovelace", "ada@example.com")
    assert reports(aio, f"/api/0/issues/{issue['id']}/user-reports/") == [report]
