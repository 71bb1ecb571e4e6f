"""Run the all-in-one as a real child process, as ``make run`` does, for end-to-end tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from faultline_core.ports import free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class AllInOne:
    data_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def bootstrap(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.data_dir / "bootstrap.json").read_text())
        return data

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def api(self, path: str, method: str = "GET", **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.bootstrap['api_token']}"}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 60) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout_s)

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:]


def start_allinone(data_dir: Path, port: int | None = None, processor: bool = True,
                   ready_timeout_s: float = 120,
                   extra_env: dict[str, str] | None = None) -> AllInOne:
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    data_dir.chmod(0o755)
    env = {
        **os.environ,
        "FAULTLINE_DATA_DIR": str(data_dir),
        "FAULTLINE_PORT": str(port),
        "FAULTLINE_PROCESSOR_ENABLED": "true" if processor else "false",
        **(extra_env or {}),
    }
    log_path = data_dir / f"allinone-{int(time.time() * 1000)}.log"
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "faultline_allinone"], cwd=ROOT, env=env,
            stdout=log_file, stderr=subprocess.STDOUT,
        )
    aio = AllInOne(data_dir, port, process, log_path)
    deadline = time.monotonic() + ready_timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"all-in-one exited {process.returncode}:\n{aio.log_tail()}")
        try:
            if httpx.get(aio.url + "/readyz", timeout=2).status_code == 200:
                return aio
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    aio.stop(signal.SIGKILL)
    raise RuntimeError(f"all-in-one not ready after {ready_timeout_s}s:\n{aio.log_tail()}")


def wait_for(predicate: Any, timeout_s: float = 30, interval_s: float = 0.2) -> Any:
    """Poll until ``predicate()`` returns something truthy; return it."""
    deadline = time.monotonic() + timeout_s
    last: Any = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval_s)
    raise AssertionError(f"condition not met within {timeout_s}s (last: {last!r})")
