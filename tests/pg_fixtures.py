"""PostgreSQL fixtures: one real server per test session, a fresh migrated database per test."""

from __future__ import annotations

import asyncio
import itertools
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from faultline_core.migrations.postgres_migrate import migrate_postgres
from faultline_core.pgserver import PostgresServer, find_pg_bin_dir, start_postgres

_TEMPLATE = "faultline_template"
_counter = itertools.count()


def _test_pg_bin_dir() -> Path:
    """Debian's server when installed (what CI installs), else the embedded one."""
    if env := os.environ.get("FAULTLINE_TEST_PG_BIN"):
        return Path(env)
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), reverse=True)
    return debian[0].parent if debian else find_pg_bin_dir()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    workdir = Path(tempfile.mkdtemp(prefix="faultline-pg-"))
    workdir.chmod(0o755)
    server = start_postgres(workdir / "pg", bin_dir=_test_pg_bin_dir())
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {_TEMPLATE}")
        asyncio.run(migrate_postgres(server.dsn(_TEMPLATE)))
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_dsn(pg_server: PostgresServer) -> Iterator[str]:
    """A fresh database with every migration applied; dropped after the test."""
    name = f"t_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}")
    yield pg_server.dsn(name)
    with psycopg.connect(pg_server.dsn(), autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
