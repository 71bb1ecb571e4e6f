"""``python -m faultline_query`` as a real process: serves health and metrics, stops on
SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
import urllib.request
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from faultline_core.ports import free_port

REPO = Path(__file__).resolve().parents[3]
START_TIMEOUT_S = 30.0



async def _wait_serving(address: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    async with grpc.aio.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            assert process.returncode is None, "the query service exited during start-up"
            try:
                response = await health.Check(health_pb2.HealthCheckRequest(), timeout=1)
            except grpc.aio.AioRpcError:
                assert time.monotonic() < deadline, "the query service never became healthy"
                await asyncio.sleep(0.1)
                continue
            assert response.status == health_pb2.HealthCheckResponse.SERVING
            return


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text: str = response.read().decode()
        return text


async def test_serves_until_sigterm(pg_dsn: str, tmp_path: Path) -> None:
    grpc_port, metrics_port = free_port(), free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(str(REPO / p) for p in ("libs/core", "services/query")),
        "FAULTLINE_PG_DSN": pg_dsn,
        "FAULTLINE_CLICKHOUSE_BACKEND": "chdb",
        "FAULTLINE_CLICKHOUSE_CHDB_PATH": str(tmp_path / "chdb"),
        "FAULTLINE_QUERY_PORT": str(grpc_port),
        "FAULTLINE_QUERY_METRICS_PORT": str(metrics_port),
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "faultline_query", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
    )
    try:
        await _wait_serving(f"127.0.0.1:{grpc_port}", process)
        metrics = await asyncio.to_thread(_metrics, metrics_port)
        health_series = 'code="OK",method="/grpc.health.v1.Health/Check"'
        assert f"faultline_grpc_request_seconds_count{{{health_series}}}" in metrics
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=20)
        assert process.returncode == 0, stderr.decode(errors="replace")
        assert b"Traceback" not in stderr
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
