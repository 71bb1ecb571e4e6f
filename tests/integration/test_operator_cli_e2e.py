"""``faultline verify`` and ``faultline regroup`` on the data directory of a stopped
all-in-one (``--data-dir``), as a ``make run`` user would run them."""

from __future__ import annotations

import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from tests.integration.allinone import ROOT, start_allinone, wait_for

CLI_TIMEOUT_S = 180


def _send_event(url: str, dsn_key: str, message: str) -> None:
    event = {"event_id": uuid.uuid4().hex, "message": message, "platform": "python"}
    response = httpx.post(f"{url}/api/1/store/", json=event, timeout=10,
                          headers={"X-Sentry-Auth": f"Sentry sentry_key={dsn_key}"})
    assert response.status_code == 200, response.text


def _faultline(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "faultline_processor.cli", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=CLI_TIMEOUT_S, check=False)


def test_verify_and_regroup_run_on_a_stopped_allinone(tmp_path: Path) -> None:
    data_dir = tmp_path / "aio"
    aio = start_allinone(data_dir)
    try:
        key = aio.bootstrap["dsn"].split("//", 1)[1].split("@", 1)[0]
        for message in ("cart 1 failed", "cart 2 failed", "disk full"):
            _send_event(aio.url, key, message)

        def counted() -> int | None:
            issues = aio.api("/api/0/projects/default/default/issues/").json()
            total = sum(int(issue["count"]) for issue in issues)
            return total if total == 3 else None

        wait_for(counted, timeout_s=60)
    finally:
        assert aio.stop() == 0, aio.log_tail()

    verified = _faultline("verify", "--project", "default/default", "--data-dir", str(data_dir))
    assert verified.returncode == 0, verified.stderr[-3000:]
    assert "consistent" in verified.stdout

    dry = _faultline("regroup", "--project", "default/default", "--dry-run", "--workers", "0",
                     "--data-dir", str(data_dir))
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "dry run, nothing changed" in dry.stdout
