"""The pieces of ``scripts/infra.py`` that need no servers: state, env file, process checks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.infra import (
    InfraStateError,
    ProcessRecord,
    State,
    env_file_text,
    load_state,
    process_start_time,
    write_private,
)


def sleeper() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])


def test_a_live_process_has_a_start_time_and_an_exited_one_has_none() -> None:
    child = sleeper()
    try:
        started = process_start_time(child.pid)
        assert started is not None
        record = ProcessRecord("sleeper", child.pid, started, "-", int(signal.SIGTERM))
        assert record.running()
        child.kill()
        # Wait for the exit without reaping: a zombie must count as gone, since ``down``
        # is not the parent of what it stops and could never reap it.
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        assert not record.running()
    finally:
        child.kill()
        child.wait()
    assert process_start_time(child.pid) is None


def test_a_reused_pid_is_not_mistaken_for_the_recorded_process() -> None:
    child = sleeper()
    try:
        started = process_start_time(child.pid)
        assert started is not None
        impostor = ProcessRecord("old", child.pid, started - 1, "-", int(signal.SIGTERM))
        assert not impostor.running()
    finally:
        child.kill()
        child.wait()


def test_a_command_name_with_spaces_and_parentheses_is_parsed(tmp_path: Path) -> None:
    odd = tmp_path / "a (b) c"
    odd.symlink_to(sys.executable)
    child = subprocess.Popen([str(odd), "-c", "import time; time.sleep(30)"])
    try:
        assert process_start_time(child.pid) == process_start_time(child.pid)
        assert process_start_time(child.pid) is not None
    finally:
        child.kill()
        child.wait()


def test_env_file_survives_a_real_shell(tmp_path: Path) -> None:
    tricky = "postgresql://u:p'a\"s$s `x`@127.0.0.1:5432/db"
    env_path = tmp_path / "env"
    write_private(env_path, env_file_text({"FAULTLINE_PG_DSN": tricky, "FAULTLINE_X": "1"}))
    assert env_path.stat().st_mode & 0o777 == 0o600
    script = f'. "{env_path}" && printf %s "$FAULTLINE_PG_DSN"'
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, check=True,
                            env={"PATH": os.environ["PATH"]})
    assert result.stdout == tricky


def test_state_round_trips_through_its_file(tmp_path: Path) -> None:
    supervisor = ProcessRecord("supervisor", 10, 100, "-", int(signal.SIGTERM))
    postgres = ProcessRecord("postgres", 11, 101, "127.0.0.1:5432", int(signal.SIGINT))
    state = State(supervisor, [postgres], {"FAULTLINE_BUS_BACKEND": "kafka"}, "2026-01-01")
    write_private(tmp_path / "state.json", state.to_json())
    assert load_state(tmp_path) == state
    assert load_state(tmp_path / "absent") is None


@pytest.mark.parametrize(
    "text",
    ["not json", "[]", '{"supervisor": {}}',
     '{"supervisor": {"name": "s", "pid": 1, "start_time": 1, "endpoint": "-",'
     ' "stop_signal": 15}, "servers": [{"pid": 2}], "env": {}, "started_at": "x"}'],
)
def test_a_damaged_state_file_is_a_clear_error(tmp_path: Path, text: str) -> None:
    (tmp_path / "state.json").write_text(text)
    with pytest.raises(InfraStateError, match="unreadable infra state"):
        load_state(tmp_path)
