"""sentry-python's release health, transactions and client reports, end to end: a real
Flask app with the unchanged SDK reports to the all-in-one, and the organization stats
API (``/sessions/`` and ``/stats_v2/``) shows what it sent.

See ``python_apps/health_app.py`` for what the app does: 5 requests (3 fine, 2 raising:
server-mode sessions), one application-mode session with a handled error, 6 transactions
(one per request and one of its own), and 2 messages its ``before_send`` drops.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import pytest

from tests.integration.allinone import AllInOne, wait_for
from tests.integration.sdk.python_apps.runner import APPS, app_env, require_tools

STATS_TIMEOUT_S = 60


@pytest.fixture(scope="module", autouse=True)
def _python_tools() -> None:
    require_tools()


def project_id(aio: AllInOne) -> str:
    dsn: str = aio.bootstrap["dsn"]
    return dsn.rstrip("/").rsplit("/", 1)[1]


def outcome_totals(aio: AllInOne) -> dict[tuple[str, str, str], int]:
    """The last 24 hours of outcomes, by (outcome, category, reason)."""
    response = aio.api("/api/0/organizations/default/stats_v2/", params=[
        ("project", project_id(aio)), ("field", "sum(quantity)"), ("statsPeriod", "24h"),
        ("interval", "1h"), ("groupBy", "outcome"), ("groupBy", "category"),
        ("groupBy", "reason"),
    ])
    response.raise_for_status()
    return {(g["by"]["outcome"], g["by"]["category"], g["by"]["reason"]):
            g["totals"]["sum(quantity)"] for g in response.json()["groups"]}


def release_health(aio: AllInOne) -> dict[str, Any] | None:
    response = aio.api("/api/0/organizations/default/sessions/", params=[
        ("project", project_id(aio)), ("field", "sum(session)"),
        ("field", "crash_free_rate(session)"), ("field", "count_crashed(session)"),
        ("field", "count_errored(session)"), ("field", "count_healthy(session)"),
        ("groupBy", "release"), ("groupBy", "environment"), ("statsPeriod", "24h"),
    ])
    response.raise_for_status()
    return next((g for g in response.json()["groups"]
                 if g["by"] == {"release": "app@1.0", "environment": "prod"}), None)


def delta(after: dict[tuple[str, str, str], int], before: dict[tuple[str, str, str], int],
          key: tuple[str, str, str]) -> int:
    return after.get(key, 0) - before.get(key, 0)


def test_sessions_transactions_and_client_reports(aio: AllInOne) -> None:
    before = outcome_totals(aio)
    subprocess.run(
        [sys.executable, str(APPS / "health_app.py"), aio.bootstrap["dsn"],
         "run" + uuid.uuid4().hex[:12]],
        cwd=APPS, env=app_env(), check=True, timeout=120, capture_output=True,
    )

    def settled() -> dict[str, Any] | None:
        group = release_health(aio)
        return group if group and group["totals"]["sum(session)"] == 6 else None

    health = wait_for(settled, STATS_TIMEOUT_S)
    # 5 request sessions (3 exited, 2 crashed) and the job's session (one handled error)
    assert health["totals"] == {
        "sum(session)": 6, "crash_free_rate(session)": pytest.approx(4 / 6),
        "count_crashed(session)": 2, "count_errored(session)": 1,
        "count_healthy(session)": 3,
    }
    assert sum(health["series"]["sum(session)"]) == 6

    expected = {("accepted", "transaction", ""): 6, ("accepted", "error", ""): 3,
                ("client_discard", "error", "before_send"): 2,
                # each session item is accepted: one update, and the aggregate's 5 sessions
                ("accepted", "session", ""): 6}
    seen: list[dict[tuple[str, str, str], int]] = []

    def outcomes_settled() -> bool:
        after = outcome_totals(aio)
        seen.append({key: delta(after, before, key) for key in expected})
        return seen[-1] == expected

    try:
        wait_for(outcomes_settled, STATS_TIMEOUT_S)
    except AssertionError as exc:
        raise AssertionError(f"outcome deltas {seen[-1]}, wanted {expected}") from exc
