"""Fixtures for the web gateway: a seeded PostgreSQL database, the real query service
running as a separate process on seeded chDB data, and the web app in front of them.

Everything expensive is session-scoped: one database, one query-service process, one
app. Tests that change state use issues of their own (see ``dataset.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import psycopg
import pytest
import pytest_asyncio
from fastapi import FastAPI
from grpc_health.v1 import health_pb2, health_pb2_grpc
from psycopg.rows import dict_row
from pydantic import SecretStr

from faultline_core.migrations.postgres_migrate import migrate_postgres
from faultline_core.pgserver import PostgresServer
from faultline_core.ports import free_port
from faultline_core.settings import AppSettings, PostgresSettings, WebSettings
from faultline_core.storage.postgres import tenancy
from faultline_web.app import create_app
from tests.unit.web import dataset

REPO = Path(__file__).resolve().parents[3]
CH_DATABASE = "faultline"
START_TIMEOUT_S = 60.0
SECRET_KEY = "web-test-secret-key"


@dataclass(frozen=True)
class Seeded:
    """Ids and credentials of the seeded tenants."""

    pg_dsn: str
    projects: dict[str, int]
    issues: dict[str, int]
    tokens: dict[str, str]
    superuser_token: str

    def issue(self, key: str) -> int:
        return self.issues[key]



async def _seed_tenants(conn: tenancy.Conn) -> tuple[dict[str, int], dict[str, str], str]:
    acme = await tenancy.create_organization(conn, "acme", "Acme")
    globex = await tenancy.create_organization(conn, "globex", "Globex")
    orgs = {"acme": acme, "globex": globex}
    projects = {
        slug: await tenancy.create_project(conn, orgs[org], slug, slug.title(), "python")
        for slug, org in dataset.PROJECT_ORGS.items()
    }
    alice = await tenancy.create_user(conn, dataset.ALICE_EMAIL, dataset.ALICE_PASSWORD, acme)
    bob = await tenancy.create_user(conn, dataset.BOB_EMAIL, dataset.BOB_PASSWORD, globex)
    root = await tenancy.create_user(conn, "root@ops.test", "root-password", globex,
                                     is_superuser=True)
    tokens = {
        "alice": await tenancy.create_api_token(conn, alice),
        "bob": await tenancy.create_api_token(conn, bob),
    }
    return projects, tokens, await tenancy.create_api_token(conn, root)


async def _seed_issues(conn: tenancy.Conn, projects: dict[str, int]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for spec in dataset.ISSUES:
        cur = await conn.execute(
            "INSERT INTO issues (project_id, title, culprit, level, type, metadata, platform,"
            " first_seen, last_seen, times_seen, status)"
            " VALUES (%s, %s, %s, %s, 'error', %s, 'python', %s, %s, %s, %s) RETURNING id",
            (projects[spec.project], spec.title, spec.culprit, spec.level,
             json.dumps({"type": spec.title.split(":")[0], "value": spec.title}),
             spec.first_seen, spec.last_seen, spec.count, spec.status),
        )
        row = await cur.fetchone()
        assert row is not None
        ids[spec.key] = int(row["id"])
    return ids


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def seeded(pg_server: PostgresServer) -> AsyncIterator[Seeded]:
    """A migrated database of its own (the query process needs one fixed DSN)."""
    name = f"web_{os.getpid()}"
    async with await psycopg.AsyncConnection.connect(pg_server.dsn(), autocommit=True) as admin:
        await admin.execute(f"CREATE DATABASE {name}")
    dsn = pg_server.dsn(name)
    await migrate_postgres(dsn)
    connect = psycopg.AsyncConnection.connect(dsn, row_factory=dict_row)
    async with await connect as conn, conn.transaction():
        projects, tokens, root_token = await _seed_tenants(conn)
        issue_ids = await _seed_issues(conn, projects)
    yield Seeded(dsn, projects, issue_ids, tokens, root_token)
    async with await psycopg.AsyncConnection.connect(pg_server.dsn(), autocommit=True) as admin:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def _child_env(extra: dict[str, str]) -> dict[str, str]:
    paths = [str(REPO / part) for part in ("libs/core", "services/query", ".")]
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths), **extra}


def _seed_clickhouse(chdb_path: Path, seeded: Seeded) -> None:
    events = [
        {"project_id": seeded.projects[spec.project], "group_id": seeded.issue(spec.key),
         "event_id": event.event_id, "received_at": event.timestamp.timestamp(),
         "payload": event.payload}
        for spec in dataset.ISSUES for event in spec.events
    ]
    spec = {"chdb_path": str(chdb_path), "database": CH_DATABASE, "events": events}
    subprocess.run(
        [sys.executable, str(Path(__file__).with_name("seed_events.py"))],
        input=json.dumps(spec).encode(), env=_child_env({}), check=True,
        stdout=subprocess.DEVNULL, timeout=START_TIMEOUT_S,
    )


def _wait_serving(address: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    with grpc.insecure_channel(address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        while True:
            if process.poll() is not None:
                raise RuntimeError("the query service exited during start-up")
            try:
                reply = health.Check(health_pb2.HealthCheckRequest(), timeout=1)
                if reply.status == health_pb2.HealthCheckResponse.SERVING:
                    return
            except grpc.RpcError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the query service never became healthy")
            time.sleep(0.1)


@pytest.fixture(scope="session")
def query_address(seeded: Seeded) -> Iterator[str]:
    """The real query service (``python -m faultline_query``) on seeded chDB data."""
    workdir = Path(tempfile.mkdtemp(prefix="faultline-web-query-"))
    chdb_path = workdir / "chdb"
    _seed_clickhouse(chdb_path, seeded)
    port = free_port()
    env = _child_env({
        "FAULTLINE_PG_DSN": seeded.pg_dsn,
        "FAULTLINE_CLICKHOUSE_BACKEND": "chdb",
        "FAULTLINE_CLICKHOUSE_CHDB_PATH": str(chdb_path),
        "FAULTLINE_CLICKHOUSE_DATABASE": CH_DATABASE,
        "FAULTLINE_QUERY_HOST": "127.0.0.1",
        "FAULTLINE_QUERY_PORT": str(port),
        "FAULTLINE_QUERY_METRICS_PORT": str(free_port()),
        "FAULTLINE_DATA_DIR": str(workdir),
    })
    process = subprocess.Popen(
        [sys.executable, "-m", "faultline_query"], env=env, cwd=workdir,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        _wait_serving(f"127.0.0.1:{port}", process)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(workdir, ignore_errors=True)


def make_app(seeded: Seeded, query: str) -> FastAPI:
    return create_app(
        WebSettings(query_address=query, public_url="http://faultline.test"),
        AppSettings(secret_key=SecretStr(SECRET_KEY)),
        PostgresSettings(dsn=SecretStr(seeded.pg_dsn), pool_min_size=1, pool_max_size=4),
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def web_app(seeded: Seeded, query_address: str) -> AsyncIterator[FastAPI]:
    """The web gateway with its lifespan running (pool and channel open)."""
    app = make_app(seeded, query_address)
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture(loop_scope="session")
async def client(web_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A fresh client (no cookies) per test."""
    transport = httpx.ASGITransport(app=web_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://faultline.test") as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
