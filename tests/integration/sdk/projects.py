"""Fresh projects in the running all-in-one, and the real sentry-python SDK reporting to
them: tests that count issues or set per-project state use a project of their own, so the
other SDK tests (and the key cache) never see their data."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg
import sentry_sdk
from psycopg.rows import dict_row

from tests.integration.allinone import AllInOne

ORG = "default"


def aio_pg_dsn(aio: AllInOne) -> str:
    """The all-in-one's embedded PostgreSQL, from what it keeps in its data directory."""
    root = aio.data_dir / "postgres"
    password = (root / "superuser.password").read_text().strip()
    port = (root / "cluster" / "postmaster.pid").read_text().splitlines()[3].strip()
    return f"postgresql://faultline:{password}@127.0.0.1:{port}/faultline"


def aio_query(aio: AllInOne, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    """The rows of one statement run directly on the all-in-one's database."""
    with psycopg.connect(aio_pg_dsn(aio), row_factory=dict_row, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


@dataclass(frozen=True)
class FreshProject:
    """A project of the bootstrap organization no other test uses, and its DSN."""

    project_id: int
    slug: str
    dsn: str


def fresh_project(aio: AllInOne) -> FreshProject:
    """A new project with one key in the bootstrap organization."""
    slug = f"fresh-{uuid.uuid4().hex[:8]}"
    public_key = secrets.token_hex(16)
    with psycopg.connect(aio_pg_dsn(aio), row_factory=dict_row) as conn:
        row = conn.execute(
            "INSERT INTO projects (organization_id, slug, name)"
            " SELECT id, %s, %s FROM organizations WHERE slug = %s RETURNING id",
            (slug, slug, ORG),
        ).fetchone()
        assert row is not None
        conn.execute(
            "INSERT INTO project_keys (project_id, public_key, secret_key) VALUES (%s, %s, %s)",
            (row["id"], public_key, secrets.token_hex(16)),
        )
    host = aio.url.partition("://")[2]
    return FreshProject(int(row["id"]), slug, f"http://{public_key}@{host}/{row['id']}")


def project_issues(aio: AllInOne, slug: str, query: str = "") -> list[dict[str, Any]]:
    """The project's issues matching ``query`` (Sentry's search syntax), first page."""
    response = aio.api(f"/api/0/projects/{ORG}/{slug}/issues/",
                       params={"query": query, "limit": 100})
    assert response.status_code == 200, response.text
    issues: list[dict[str, Any]] = response.json()
    return issues


@contextmanager
def sdk_scope(dsn: str, **options: Any) -> Iterator[sentry_sdk.Scope]:
    """An isolation scope bound to a new SDK client sending with its own HTTP transport.

    On a clean exit the client is flushed (which also sends its pending client report)
    before it is closed, so everything captured in the block has been sent.
    """
    client = sentry_sdk.Client(dsn=dsn, default_integrations=False, **options)
    try:
        with sentry_sdk.isolation_scope() as scope:
            scope.set_client(client)
            yield scope
        client.flush(timeout=20)
    finally:
        client.close(timeout=20)
