"""A private ClickHouse server (Debian's ``clickhouse-server`` 18.16) for tests.

The server gets its own config, data and logs under a work directory, listens on
127.0.0.1 only, on free ports, and runs in UTC so ``DateTime`` literals mean the same as
on chDB.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from faultline_core.ports import free_port
from tests.integration.harness.process import stop_process

SERVER_BINARY = Path("/usr/sbin/clickhouse-server")
INSTALL_HINT = "apt-get update && apt-get install -y clickhouse-server clickhouse-client"
READY_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 20.0


class ClickHouseServerError(RuntimeError):
    """The server could not be started (missing binary, crashed, never became ready)."""


def server_available() -> bool:
    return SERVER_BINARY.exists()


def ensure_server_installed() -> None:
    """Install Debian's ClickHouse server if it is missing (fresh machines lack it).

    Needs root and apt; raises ``ClickHouseServerError`` with the reason otherwise.
    """
    if server_available():
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise ClickHouseServerError(f"{SERVER_BINARY} is missing; install it with: {INSTALL_HINT}")
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "clickhouse-server", "clickhouse-client"],
    ):
        result = subprocess.run(
            command, capture_output=True, text=True, check=False,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )
        if result.returncode != 0:
            raise ClickHouseServerError(
                f"{' '.join(command)} failed ({result.returncode}):\n{result.stderr[-2000:]}"
            )
    if not server_available():
        raise ClickHouseServerError(f"apt-get installed no {SERVER_BINARY}")



@dataclass
class ClickHouseServer:
    host: str
    tcp_port: int
    http_port: int
    workdir: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self) -> None:
        """SIGTERM the server and wait for it; SIGKILL if it does not exit in time."""
        stop_process(self.process, STOP_TIMEOUT_S)

    def log_tail(self, lines: int = 30) -> str:
        chunks: list[str] = []
        for name in ("stderr.log", "clickhouse-server.err.log"):
            path = self.workdir / "logs" / name
            if path.exists():
                text = path.read_text(errors="replace").splitlines()[-lines:]
                chunks.append(f"--- {name} ---\n" + "\n".join(text))
        return "\n".join(chunks)


def _config_xml(workdir: Path, tcp_port: int, http_port: int) -> str:
    root = escape(str(workdir))
    return f"""<?xml version="1.0"?>
<yandex>
    <logger>
        <level>warning</level>
        <log>{root}/logs/clickhouse-server.log</log>
        <errorlog>{root}/logs/clickhouse-server.err.log</errorlog>
        <size>10M</size>
        <count>2</count>
    </logger>
    <listen_host>127.0.0.1</listen_host>
    <tcp_port>{tcp_port}</tcp_port>
    <http_port>{http_port}</http_port>
    <path>{root}/data/</path>
    <tmp_path>{root}/tmp/</tmp_path>
    <user_files_path>{root}/user_files/</user_files_path>
    <format_schema_path>{root}/format_schemas/</format_schema_path>
    <users_config>{root}/users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <timezone>UTC</timezone>
    <mark_cache_size>67108864</mark_cache_size>
    <uncompressed_cache_size>0</uncompressed_cache_size>
    <max_concurrent_queries>50</max_concurrent_queries>
    <mlock_executable>false</mlock_executable>
</yandex>
"""


_USERS_XML = """<?xml version="1.0"?>
<yandex>
    <profiles>
        <default>
            <max_memory_usage>1000000000</max_memory_usage>
            <max_threads>2</max_threads>
            <use_uncompressed_cache>0</use_uncompressed_cache>
        </default>
    </profiles>
    <users>
        <default>
            <password></password>
            <networks><ip>127.0.0.1</ip><ip>::1</ip></networks>
            <profile>default</profile>
            <quota>default</quota>
        </default>
    </users>
    <quotas>
        <default>
            <interval>
                <duration>3600</duration>
                <queries>0</queries>
                <errors>0</errors>
                <result_rows>0</result_rows>
                <read_rows>0</read_rows>
                <execution_time>0</execution_time>
            </interval>
        </default>
    </quotas>
</yandex>
"""


def start_clickhouse_server(workdir: Path) -> ClickHouseServer:
    """Start a server with its config and data under ``workdir``; return once it answers."""
    if not server_available():
        raise ClickHouseServerError(f"{SERVER_BINARY} is missing; install it with: {INSTALL_HINT}")
    workdir = workdir.resolve()
    for sub in ("logs", "data", "tmp", "user_files", "format_schemas"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    tcp_port, http_port = free_port(), free_port()
    config = workdir / "config.xml"
    config.write_text(_config_xml(workdir, tcp_port, http_port))
    (workdir / "users.xml").write_text(_USERS_XML)
    with (workdir / "logs" / "stderr.log").open("wb") as stderr:
        process = subprocess.Popen(
            [str(SERVER_BINARY), f"--config-file={config}"],
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=subprocess.STDOUT,
            env={**os.environ, "TZ": "UTC"},
        )
    server = ClickHouseServer("127.0.0.1", tcp_port, http_port, workdir, process)
    try:
        _wait_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: ClickHouseServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    url = f"http://{server.host}:{server.http_port}/ping"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ClickHouseServerError(
                f"clickhouse-server exited with code {server.process.returncode} during start\n"
                + server.log_tail()
            )
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=1) as response:
            if response.read().strip() == b"Ok." and _tcp_open(server):
                return
        time.sleep(0.05)
    raise ClickHouseServerError(
        f"clickhouse-server did not answer on {url} within {READY_TIMEOUT_S:.0f}s\n"
        + server.log_tail()
    )


def _tcp_open(server: ClickHouseServer) -> bool:
    try:
        with socket.create_connection((server.host, server.tcp_port), timeout=1):
            return True
    except OSError:
        return False


def remove_workdir(server: ClickHouseServer) -> None:
    """Delete the server's files (after :meth:`ClickHouseServer.stop`)."""
    shutil.rmtree(server.workdir, ignore_errors=True)
