"""``scripts/infra.py up | status | down`` for real: servers outlive the CLI, then stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from clickhouse_driver import Client

from scripts.infra import State, load_state
from tests.integration.harness.kafka import tools_available

ROOT = Path(__file__).resolve().parents[2]


def infra_cli(state_dir: Path, command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "infra.py"), "--dir", str(state_dir), command],
        capture_output=True, text=True, timeout=900, check=False,
    )


def sourced_env(env_file: Path) -> dict[str, str]:
    """What a shell has after ``source .infra/env``: the file as the README uses it."""
    result = subprocess.run(["sh", "-c", f'. "{env_file}" && env -0'], capture_output=True,
                            check=True, env={"PATH": os.environ["PATH"]})
    pairs = (entry.split("=", 1) for entry in result.stdout.decode().split("\0") if entry)
    return {name: value for name, value in pairs if name.startswith("FAULTLINE_")}


@pytest.fixture
def started(tmp_path: Path) -> Iterator[tuple[Path, State]]:
    if not tools_available():
        pytest.fail("`make infra-up` needs `java` (17+) and `mvn`; .ci/run installs them")
    state_dir = tmp_path / "infra"
    up = infra_cli(state_dir, "up")
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        state = load_state(state_dir)
        assert state is not None
        yield state_dir, state
    finally:
        infra_cli(state_dir, "down")


def test_up_leaves_working_servers_and_down_stops_them(started: tuple[Path, State]) -> None:
    state_dir, state = started
    status = infra_cli(state_dir, "status")
    assert status.returncode == 0, status.stdout
    assert [s.name for s in state.servers] == ["postgres", "clickhouse", "kafka"]
    env = sourced_env(state_dir / "env")
    assert env["FAULTLINE_BUS_BACKEND"] == "kafka"
    assert env["FAULTLINE_CLICKHOUSE_BACKEND"] == "native"
    with psycopg.connect(env["FAULTLINE_PG_DSN"], connect_timeout=5) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("faultline",)
    clickhouse = Client(host=env["FAULTLINE_CLICKHOUSE_HOST"],
                        port=int(env["FAULTLINE_CLICKHOUSE_PORT"]), connect_timeout=5)
    try:
        assert clickhouse.execute("SELECT 1") == [(1,)]
    finally:
        clickhouse.disconnect()
    host, port = env["FAULTLINE_KAFKA_BOOTSTRAP_SERVERS"].rsplit(":", 1)
    socket.create_connection((host, int(port)), timeout=5).close()

    down = infra_cli(state_dir, "down")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not any(record.running() for record in [state.supervisor, *state.servers])
    assert not state_dir.exists()
    assert infra_cli(state_dir, "status").returncode == 1
