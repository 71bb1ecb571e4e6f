"""Faultline's four services as separate processes, as distributed mode runs them.

Each service is ``python -m faultline_<name>`` with its settings in the environment and
its output in a log file. :class:`Stack` adds what a deployment does first (migrations
and the default tenant) and an API client for the web gateway.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx
from grpc_health.v1 import health_pb2, health_pb2_grpc

from faultline_core.ports import free_port

ROOT = Path(__file__).resolve().parents[3]
SERVICE_NAMES = ("relay", "processor", "query", "web")
STOP_ORDER = ("relay", "web", "query", "processor")
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
ADMIN_TIMEOUT_S = 120.0


class ServiceError(RuntimeError):
    """A service exited early or did not become ready in time."""


@dataclass
class ServiceProcess:
    """One running service. ``name`` is the service (``relay``...), ``label`` this instance."""

    name: str
    label: str
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(repr=False)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = STOP_TIMEOUT_S) -> int:
        """Send ``sig`` and wait for the exit code (SIGKILL after ``timeout_s``)."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait(timeout_s)

    def kill(self) -> int:
        """SIGKILL: no draining, no commit, nothing flushed."""
        return self.stop(signal.SIGKILL)

    def wait(self, timeout_s: float = STOP_TIMEOUT_S) -> int:
        return self.process.wait(timeout_s)

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return f"--- {self.label} ({self.log_path}) ---\n{text[-chars:]}"


def service_env(name: str, env: Mapping[str, str], workdir: Path, label: str) -> dict[str, str]:
    """``env`` plus free listener ports and a liveness file where not given already."""
    full = {**os.environ, "FAULTLINE_DATA_DIR": str(workdir), **env}
    full.setdefault("FAULTLINE_LOG_LEVEL", "INFO")
    if name == "relay":
        full.setdefault("FAULTLINE_RELAY_PORT", str(free_port()))
    elif name == "processor":
        full.setdefault("FAULTLINE_PROCESSOR_METRICS_PORT", str(free_port()))
        full.setdefault("FAULTLINE_PROCESSOR_LIVENESS_FILE", str(workdir / f"{label}.alive"))
    elif name == "query":
        full.setdefault("FAULTLINE_QUERY_PORT", str(free_port()))
        full.setdefault("FAULTLINE_QUERY_METRICS_PORT", str(free_port()))
    elif name == "web":
        full.setdefault("FAULTLINE_WEB_PORT", str(free_port()))
    return full


def start_service(
    name: str, env: Mapping[str, str], workdir: Path, label: str | None = None
) -> ServiceProcess:
    """Launch ``python -m faultline_<name>`` (not waiting for readiness: see :func:`wait_ready`)."""
    if name not in SERVICE_NAMES:
        raise ValueError(f"unknown service {name!r}")
    label = label or name
    workdir.mkdir(parents=True, exist_ok=True)
    full_env = service_env(name, env, workdir, label)
    liveness = full_env.get("FAULTLINE_PROCESSOR_LIVENESS_FILE")
    if name == "processor" and liveness:
        Path(liveness).unlink(missing_ok=True)  # readiness is this file appearing anew
    log_path = workdir / f"{label}.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", f"faultline_{name}"], cwd=ROOT, env=full_env,
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
        )
    return ServiceProcess(name, label, process, log_path, full_env)


def wait_ready(service: ServiceProcess, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Poll the service's own readiness signal; raise ``ServiceError`` with its log if
    it exits or stays unready."""
    check = _readiness_check(service)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not service.alive():
            raise ServiceError(f"{service.label} exited with {service.process.returncode}\n"
                               + service.log_tail())
        if check():
            return
        time.sleep(0.2)
    raise ServiceError(f"{service.label} not ready within {timeout_s:.0f}s\n"
                       + service.log_tail())


def _readiness_check(service: ServiceProcess) -> Callable[[], bool]:
    env = service.env
    if service.name == "relay":
        return lambda: _http_ok(f"http://127.0.0.1:{env['FAULTLINE_RELAY_PORT']}/readyz")
    if service.name == "web":
        return lambda: _http_ok(f"http://127.0.0.1:{env['FAULTLINE_WEB_PORT']}/readyz")
    if service.name == "query":
        return lambda: _grpc_serving(f"127.0.0.1:{env['FAULTLINE_QUERY_PORT']}")
    # The processor touches its liveness file from its poll loop, i.e. once its
    # dependencies are open and it consumes.
    liveness = Path(env["FAULTLINE_PROCESSOR_LIVENESS_FILE"])
    return liveness.exists


def _http_ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=3).status_code == 200
    except httpx.TransportError:
        return False


def _grpc_serving(address: str) -> bool:
    with grpc.insecure_channel(address) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=3)
        except grpc.RpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


def run_admin(env: Mapping[str, str], workdir: Path, *args: str) -> str:
    """Run ``python -m faultline_core.admin ARGS``; return its output, raise on failure."""
    result = subprocess.run(
        [sys.executable, "-m", "faultline_core.admin", *args], cwd=ROOT,
        env={**os.environ, "FAULTLINE_DATA_DIR": str(workdir), **env},
        capture_output=True, text=True, timeout=ADMIN_TIMEOUT_S, check=False,
    )
    if result.returncode != 0:
        raise ServiceError(f"admin {' '.join(args)} failed ({result.returncode}):\n"
                           f"{result.stdout[-2000:]}{result.stderr[-3000:]}")
    return result.stdout + result.stderr


@dataclass
class Stack:
    """Migrated databases, the default tenant and the four services, started together."""

    workdir: Path
    env: dict[str, str]
    relay_port: int
    web_port: int
    services: dict[str, ServiceProcess] = field(default_factory=dict)

    @property
    def bootstrap(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.workdir / "bootstrap.json").read_text())
        return data

    @property
    def dsn(self) -> str:
        return str(self.bootstrap["dsn"])

    @property
    def api_token(self) -> str:
        return str(self.bootstrap["api_token"])

    @property
    def relay_url(self) -> str:
        return f"http://127.0.0.1:{self.relay_port}"

    @property
    def web_url(self) -> str:
        return f"http://127.0.0.1:{self.web_port}"

    def api(self, path: str, method: str = "GET", **kwargs: Any) -> httpx.Response:
        """A request to the web gateway's API as the bootstrap admin."""
        headers = {"Authorization": f"Bearer {self.api_token}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.web_url + path, headers=headers, timeout=30, **kwargs)

    def start(self, name: str, label: str | None = None, ready: bool = True,
              **env: str) -> ServiceProcess:
        """Start (another instance of) a service with the stack's settings plus ``env``."""
        label = label or name
        previous = self.services.get(label)
        if previous is not None and previous.alive():
            raise ServiceError(f"{label} is already running")
        service = start_service(name, {**self.env, **env}, self.workdir, label)
        self.services[label] = service
        if ready:
            wait_ready(service)
        return service

    def log_tails(self) -> str:
        return "\n".join(service.log_tail() for service in self.services.values())

    def stop(self) -> dict[str, int]:
        """SIGTERM every service; return the exit codes. The relay goes first (no new
        events), the processors last (they drain what is in flight)."""
        order = sorted(self.services.values(), key=lambda s: STOP_ORDER.index(s.name))
        return {service.label: service.stop() for service in order}


def start_stack(env: Mapping[str, str], workdir: Path) -> Stack:
    """Migrate, bootstrap the default tenant, start the four services and wait for them."""
    workdir.mkdir(parents=True, exist_ok=True)
    relay_port, web_port = free_port(), free_port()
    query_port = free_port()
    stack_env = {
        **env,
        "FAULTLINE_RELAY_PORT": str(relay_port),
        "FAULTLINE_WEB_PORT": str(web_port),
        "FAULTLINE_QUERY_PORT": str(query_port),
        "FAULTLINE_WEB_QUERY_ADDRESS": f"127.0.0.1:{query_port}",
    }
    run_admin(stack_env, workdir, "migrate")
    run_admin(stack_env, workdir, "bootstrap", "--url", f"http://127.0.0.1:{relay_port}")
    stack = Stack(workdir, stack_env, relay_port, web_port)
    try:
        for name in SERVICE_NAMES:
            stack.start(name, ready=False)
        for service in list(stack.services.values()):
            wait_ready(service)
    except BaseException:
        stack.stop()
        raise
    return stack
