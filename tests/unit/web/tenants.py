"""Tenants of their own for the web tests that change state: new projects and members in
the seeded organizations, created the way the product creates them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg.rows import dict_row

from faultline_core.storage.postgres import tenancy
from tests.unit.web.conftest import Seeded


@asynccontextmanager
async def transaction(seeded: Seeded) -> AsyncIterator[tenancy.Conn]:
    """A connection to the seeded database inside one committed transaction."""
    connect = psycopg.AsyncConnection.connect(seeded.pg_dsn, row_factory=dict_row)
    async with await connect as conn, conn.transaction():
        yield conn


async def organization_id(conn: tenancy.Conn, org: str) -> int:
    cur = await conn.execute("SELECT id FROM organizations WHERE slug = %s", (org,))
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def new_project(conn: tenancy.Conn, org: str, prefix: str) -> tuple[int, str]:
    """A new project in ``org`` under a unique ``prefix-…`` slug: (id, slug)."""
    slug = f"{prefix}-{uuid.uuid4().hex[:8]}"
    return await tenancy.create_project(conn, await organization_id(conn, org), slug, slug), slug


async def member_token(seeded: Seeded, role: str, org: str = "acme") -> str:
    """The API token of a new user with ``role`` in ``org``."""
    async with transaction(seeded) as conn:
        user = await tenancy.create_user(
            conn, f"{role}-{uuid.uuid4().hex[:8]}@{org}.test", "pw",
            await organization_id(conn, org), role=role,
        )
        return await tenancy.create_api_token(conn, user)
