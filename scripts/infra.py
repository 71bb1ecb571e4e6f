"""Run distributed mode's infrastructure on 127.0.0.1: PostgreSQL, ClickHouse, Kafka.

    python scripts/infra.py up       # start the three servers in the background
    source .infra/env                # FAULTLINE_* variables that point at them
    python scripts/infra.py status   # what runs, and where
    python scripts/infra.py down     # stop them and delete their data

The servers are the test harness's (``tests/integration/harness/infra.py``): Debian's
PostgreSQL (run as ``postgres`` when we are root), ClickHouse 18.16 and Apache Kafka in
KRaft mode, on free ports. ``up`` starts a small supervisor process in a session of its
own, detached from the terminal; the supervisor starts the servers, writes
``.infra/state.json`` (pids and endpoints) and ``.infra/env``, and then only waits for
SIGTERM, on which it stops the servers cleanly. It stays alive because the harness ties
PostgreSQL's life to the process that started it. ``down`` signals the supervisor, or the
servers themselves when the supervisor is gone, and removes ``.infra``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.integration.harness.infra import Infra

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DIR = ROOT / ".infra"
UP_TIMEOUT_S = 900.0  # the first start resolves Kafka's jars with Maven
DOWN_TIMEOUT_S = 120.0
KILL_WAIT_S = 10.0

log = logging.getLogger("faultline.infra")


class InfraStateError(RuntimeError):
    """``.infra/state.json`` is missing a field or is not what this script writes."""


@dataclass(frozen=True)
class ProcessRecord:
    """One process ``up`` started; ``start_time`` tells it apart from a reused pid."""

    name: str
    pid: int
    start_time: int
    endpoint: str
    stop_signal: int

    def running(self) -> bool:
        return process_start_time(self.pid) == self.start_time


@dataclass(frozen=True)
class State:
    """What ``up`` started: the supervisor, the servers, and their environment."""

    supervisor: ProcessRecord
    servers: list[ProcessRecord]
    env: dict[str, str]
    started_at: str

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> State:
        try:
            raw: dict[str, Any] = json.loads(text)
            return cls(
                supervisor=ProcessRecord(**raw["supervisor"]),
                servers=[ProcessRecord(**server) for server in raw["servers"]],
                env={str(key): str(value) for key, value in raw["env"].items()},
                started_at=str(raw["started_at"]),
            )
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise InfraStateError(f"unreadable infra state: {exc!r}") from exc


def process_start_time(pid: int) -> int | None:
    """The kernel's start time of a live process (clock ticks since boot), else None.

    A zombie counts as gone: the supervisor is not our child once ``up`` has exited, so
    nothing here would ever reap it.
    """
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    if fields[0] in ("Z", "X"):
        return None
    return int(fields[19])


def env_file_text(env: dict[str, str]) -> str:
    """``export NAME=value`` lines, quoted for POSIX shells."""
    lines = [f"export {name}={shlex.quote(value)}" for name, value in sorted(env.items())]
    return "# Written by `scripts/infra.py up`; removed by `down`.\n" + "\n".join(lines) + "\n"


def write_private(path: Path, text: str) -> None:
    """Write atomically with mode 600: the text holds the PostgreSQL password."""
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text)
    partial.replace(path)


def load_state(state_dir: Path) -> State | None:
    path = state_dir / "state.json"
    return State.from_json(path.read_text()) if path.exists() else None


def _record(name: str, pid: int, endpoint: str, stop_signal: int = signal.SIGTERM) -> ProcessRecord:
    start_time = process_start_time(pid)
    if start_time is None:
        raise InfraStateError(f"{name} (pid {pid}) exited right after starting")
    return ProcessRecord(name, pid, start_time, endpoint, int(stop_signal))


# --- the supervisor: a detached process that owns the servers -------------------------


class _StopRequested(BaseException):
    """SIGTERM arrived while the servers were starting: the harness stops what it started."""


def _raise_stop(signum: int, _frame: object) -> None:
    raise _StopRequested(signal.Signals(signum).name)


def supervise(state_dir: Path) -> int:
    """Start the servers, publish state and env, then hold them until SIGTERM/SIGINT."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, _raise_stop)
    # Run as `python scripts/infra.py`, only scripts/ is on the path; the harness needs both.
    sys.path[:0] = [str(ROOT), str(ROOT / "libs" / "core")]
    from tests.integration.harness.infra import start_infra

    log.info("starting PostgreSQL, ClickHouse and Kafka under %s", state_dir / "servers")
    try:
        infra = start_infra(state_dir / "servers")
    except _StopRequested:
        log.info("stop requested while starting; the harness stopped what it had started")
        return 1
    stop = threading.Event()
    try:
        state = _describe(infra, state_dir)
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda _signum, _frame: stop.set())
        write_private(state_dir / "env", env_file_text(state.env))
        write_private(state_dir / "state.json", state.to_json())  # last: `up` waits for it
        log.info("ready: %s", ", ".join(f"{s.name} {s.endpoint}" for s in state.servers))
        while not stop.wait(1.0):
            pass
        log.info("stopping the servers")
    except _StopRequested:
        log.info("stop requested while recording the state")
    finally:
        infra.stop()
        _remove_state(state_dir, keep_log=True)
    log.info("stopped")
    return 0


def _describe(infra: Infra, state_dir: Path) -> State:
    """This supervisor and the servers it holds, and the services' environment."""
    servers = [
        # SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for clients to leave.
        _record("postgres", infra.postgres.process.pid, f"127.0.0.1:{infra.postgres.port}",
                signal.SIGINT),
        _record("clickhouse", infra.clickhouse.process.pid,
                f"{infra.clickhouse.host}:{infra.clickhouse.tcp_port}"),
        _record("kafka", infra.kafka.process.pid, infra.kafka.bootstrap),
    ]
    env = {**infra.env(), "FAULTLINE_DATA_DIR": str(state_dir / "data")}
    return State(_record("supervisor", os.getpid(), "-"), servers, env,
                 datetime.now(UTC).isoformat(timespec="seconds"))


def _remove_state(state_dir: Path, keep_log: bool) -> None:
    for name in ("state.json", "env"):
        (state_dir / name).unlink(missing_ok=True)
    for name in ("servers", "data"):
        shutil.rmtree(state_dir / name, ignore_errors=True)
    if not keep_log:
        shutil.rmtree(state_dir, ignore_errors=True)


# --- the commands ---------------------------------------------------------------------


def up(state_dir: Path) -> int:
    state = load_state(state_dir)
    if state is not None and state.supervisor.running():
        print(f"already running (supervisor pid {state.supervisor.pid})")
        return status(state_dir)
    if state is not None:
        print("cleaning up after an earlier run whose supervisor is gone")
        _stop_servers(state.servers)
    _remove_state(state_dir, keep_log=False)
    state_dir.mkdir(parents=True, exist_ok=True)
    log_path = state_dir / "supervisor.log"
    with log_path.open("ab") as log_file:
        supervisor = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--dir", str(state_dir),
             "_supervise"],
            stdin=subprocess.DEVNULL, stdout=log_file, stderr=subprocess.STDOUT,
            start_new_session=True,  # no controlling terminal: Ctrl-C and hang-ups pass it by
        )
    print("starting PostgreSQL, ClickHouse and Kafka (the first start fetches Kafka's jars)")
    try:
        return _wait_until_up(state_dir, supervisor, log_path)
    except KeyboardInterrupt:
        print("interrupted: stopping what was started")
        supervisor.terminate()
        supervisor.wait(DOWN_TIMEOUT_S)
        return 130


def _wait_until_up(state_dir: Path, supervisor: subprocess.Popen[bytes], log_path: Path) -> int:
    deadline = time.monotonic() + UP_TIMEOUT_S
    while time.monotonic() < deadline:
        if (state_dir / "state.json").exists():
            status(state_dir)
            print(f"\nsource {state_dir / 'env'}    # then run the services; see README.md")
            return 0
        if supervisor.poll() is not None:
            tail = log_path.read_text(errors="replace").splitlines()[-40:]
            print("the infrastructure did not start:\n" + "\n".join(tail), file=sys.stderr)
            return 1
        time.sleep(0.2)
    supervisor.terminate()
    supervisor.wait(DOWN_TIMEOUT_S)
    print(f"not ready after {UP_TIMEOUT_S:.0f}s; see {log_path}", file=sys.stderr)
    return 1


def down(state_dir: Path) -> int:
    state = load_state(state_dir)
    if state is None:
        print("not running")
        return 0
    if state.supervisor.running():
        os.kill(state.supervisor.pid, signal.SIGTERM)
        if not _wait_for_exit([state.supervisor], DOWN_TIMEOUT_S):
            print("the supervisor did not stop in time; stopping the servers directly")
    _stop_servers(state.servers)
    _remove_state(state_dir, keep_log=False)
    print("stopped")
    return 0


def _stop_servers(servers: list[ProcessRecord]) -> None:
    """Stop servers whose supervisor is gone: their own stop signal, then SIGKILL."""
    running = [server for server in servers if server.running()]
    for server in running:
        os.kill(server.pid, server.stop_signal)
    if _wait_for_exit(running, DOWN_TIMEOUT_S / 2):
        return
    for server in running:
        if server.running():
            os.kill(server.pid, signal.SIGKILL)
    _wait_for_exit(running, KILL_WAIT_S)


def _wait_for_exit(records: list[ProcessRecord], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while any(record.running() for record in records):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.2)
    return True


def status(state_dir: Path) -> int:
    """Print what runs; exit 0 only when the supervisor and every server run."""
    state = load_state(state_dir)
    if state is None:
        print("not running")
        return 1
    print(f"infrastructure in {state_dir}, started {state.started_at}")
    everything = [state.supervisor, *state.servers]
    for record in everything:
        condition = "running" if record.running() else "STOPPED"
        print(f"  {record.name:<11} pid {record.pid:<8} {condition:<8} {record.endpoint}")
    return 0 if all(record.running() for record in everything) else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/infra.py", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR,
                        help="where state, env, logs and the servers' data live (.infra)")
    parser.add_argument("command", choices=["up", "down", "status", "_supervise"])
    args = parser.parse_args(argv)
    state_dir: Path = args.dir.resolve()
    commands = {"up": up, "down": down, "status": status, "_supervise": supervise}
    try:
        return commands[args.command](state_dir)
    except InfraStateError as exc:
        print(f"{exc}; inspect {state_dir} and remove it by hand", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
