"""Start the Python SDK apps as real programs, and capture what an SDK puts on the wire.

Shared by the integration tests (which point the apps at the all-in-one) and by the
fixture capture script (which points them at
:func:`tests.integration.sdk.capture.capture_server`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from faultline_core.compression import decompress
from faultline_core.ports import free_port
from tests.integration.harness.process import stop_process
from tests.integration.sdk.capture import CapturedRequest, CaptureServer

APPS = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
DJANGO_ADMIN_PASSWORD = "correct horse battery staple"
DJANGO_USER = {"username": "ada", "email": "ada@orders.example.com"}
MAX_CAPTURE_BYTES = 20 * 1024 * 1024


def require_tools() -> None:
    """Fail clearly when the dev dependencies these apps need are not installed."""
    missing = []
    for module in ("flask", "django"):
        try:
            __import__(module)
        except ImportError:
            missing.append(module)
    if sentry_cli_path() is None:
        missing.append("sentry-cli")
    if missing:
        raise RuntimeError(f"missing dev dependencies {missing}: run `make install` "
                           "(pip install -e '.[dev]') with PyPI reachable")


def sentry_cli_path() -> str | None:
    """The sentry-cli binary the PyPI package ``sentry-cli`` puts next to the Python."""
    local = BIN / "sentry-cli"
    return str(local) if local.exists() else shutil.which("sentry-cli")


def app_env(**extra: str) -> dict[str, str]:
    """A small, predictable environment for an app process (no inherited secrets)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8",
           "PYTHONPATH": str(APPS), "PYTHONDONTWRITEBYTECODE": "1"}
    return {**env, **extra}


@dataclass
class RunningServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]


@contextmanager
def serve(command: list[str], env: dict[str, str], port: int, log_path: Path,
          ready_path: str = "/", timeout_s: float = 30,
          cwd: Path = APPS) -> Iterator[RunningServer]:
    """Run a web app (of any language) until the ``with`` block ends; ready once
    ``ready_path`` answers 200, or any HTTP status when ``ready_path`` is ``/``."""
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log_file,
                                   stderr=subprocess.STDOUT)
    server = RunningServer(f"http://127.0.0.1:{port}", process, log_path)
    try:
        _wait_until_answering(server, ready_path, timeout_s)
        yield server
    finally:
        stop_process(process, 15)


def _wait_until_answering(server: RunningServer, path: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"app exited {server.process.returncode}:\n{server.log_tail()}")
        try:
            status = httpx.get(server.url + path, timeout=2).status_code
        except httpx.TransportError:
            status = None
        if status is not None and (path == "/" or status == 200):
            return
        time.sleep(0.1)
    raise RuntimeError(f"app not answering after {timeout_s}s:\n{server.log_tail()}")


@contextmanager
def flask_server(dsn: str, log_path: Path) -> Iterator[RunningServer]:
    port = free_port()
    command = [sys.executable, str(APPS / "flask_app.py"), str(port)]
    with serve(command, app_env(SENTRY_DSN=dsn), port, log_path) as server:
        yield server


def _django(args: list[str], env: dict[str, str]) -> None:
    command = [sys.executable, "-m", "django", *args, "--settings=django_app.settings"]
    done = subprocess.run(command, cwd=APPS, env=env, capture_output=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"django {args[0]} failed:\n{done.stdout!r}\n{done.stderr!r}")


@contextmanager
def django_server(dsn: str, work_dir: Path) -> Iterator[RunningServer]:
    """Migrate a fresh SQLite database, create a user, and run ``runserver``."""
    env = app_env(DJANGO_DB_PATH=str(work_dir / "db.sqlite3"))
    _django(["migrate", "--noinput"], env)
    _django(["createsuperuser", "--noinput"], {
        **env,
        "DJANGO_SUPERUSER_USERNAME": DJANGO_USER["username"],
        "DJANGO_SUPERUSER_EMAIL": DJANGO_USER["email"],
        "DJANGO_SUPERUSER_PASSWORD": DJANGO_ADMIN_PASSWORD,
    })
    port = free_port()
    command = [sys.executable, "-m", "django", "runserver", "--noreload",
               f"127.0.0.1:{port}", "--settings=django_app.settings"]
    with serve(command, {**env, "SENTRY_DSN": dsn}, port,
               work_dir / "django.log") as server:
        yield server


def run_logging_app(dsn: str, run_token: str) -> None:
    subprocess.run([sys.executable, str(APPS / "logging_app.py"), dsn, run_token],
                   cwd=APPS, env=app_env(), check=True, timeout=60, capture_output=True)


BROWSER_UA = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/121.0.0.0 Safari/537.36")


def flask_checkout(server: RunningServer, run_token: str) -> httpx.Response:
    """What a shopper's browser sends: a JSON checkout for an unknown SKU (a 500)."""
    return httpx.post(f"{server.url}/carts/c-981/checkout", params={"coupon": "SPRING"},
                      json={"sku": "durian", "quantity": 2, "run": run_token},
                      headers={"User-Agent": BROWSER_UA, "X-Request-Source": "sdk-matrix"},
                      timeout=30)


def django_refund(server: RunningServer, run_token: str) -> httpx.Response:
    """Log in through the login view (a real session), then ask for a failing refund."""
    with httpx.Client(base_url=server.url, timeout=30,
                      headers={"User-Agent": BROWSER_UA}) as browser:
        login = browser.post("/login/", data={"username": DJANGO_USER["username"],
                                              "password": DJANGO_ADMIN_PASSWORD})
        login.raise_for_status()
        return browser.post("/orders/404/refund/", params={"reason": "damaged"},
                            json={"run": run_token, "amount": 1999})


def send_cli_event(dsn: str, run_token: str) -> subprocess.CompletedProcess[bytes]:
    """``sentry-cli send-event`` as a deploy script would run it (DSN in the env)."""
    cli = sentry_cli_path()
    assert cli is not None, "sentry-cli is not installed"
    command = [cli, "send-event", "-m", f"Deploy of %s failed in run {run_token}",
               "-a", "prod", "-t", "stage:rollout", "-u", "id:deployer-1", "-r", "deploy@5.0.0",
               "-E", "sdk-matrix"]
    return subprocess.run(command, env=app_env(SENTRY_DSN=dsn), capture_output=True,
                          timeout=60, check=True)


def decoded_body(request: CapturedRequest) -> bytes:
    """A captured body with its Content-Encoding undone."""
    return decompress(request.body, request.headers.get("content-encoding"), MAX_CAPTURE_BYTES)


def event_envelopes(capture: CaptureServer) -> list[bytes]:
    """The decoded bodies received so far that carry an event."""
    bodies = [(r.path, decoded_body(r)) for r in capture.requests]
    return [body for path, body in bodies if b'"type":"event"' in body or path.endswith("/store/")]
