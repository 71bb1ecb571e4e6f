"""Tenants and access: organizations, projects, DSN keys, users and API tokens.

Every lookup that serves a request is keyed so that it cannot cross tenants: a DSN key
resolves to exactly one project; a token resolves to a user whose organization
memberships decide which projects are visible.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from psycopg import AsyncConnection
from psycopg.rows import DictRow

from faultline_core.grouping import LATEST_GROUPING_CONFIG
from faultline_core.passwords import hash_password
from faultline_core.storage.postgres.pool import Pool

Conn = AsyncConnection[DictRow]


@dataclass(frozen=True)
class ProjectKey:
    project_id: int
    organization_id: int
    public_key: str
    secret_key: str | None
    is_active: bool
    rate_limit_count: int | None
    rate_limit_window: int | None
    quota_per_minute: int | None = None
    """The project's error events per minute (every key of the project); None: unlimited."""
    quota_per_hour: int | None = None
    """The project's error events per hour; None: unlimited."""


@dataclass(frozen=True)
class Project:
    id: int
    organization_id: int
    organization_slug: str
    slug: str
    name: str
    platform: str | None


@dataclass(frozen=True)
class TokenUser:
    user_id: int
    email: str
    is_superuser: bool
    organization_ids: frozenset[int]

    def can_access(self, project: Project) -> bool:
        return self.is_superuser or project.organization_id in self.organization_ids


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_PROJECT_SELECT = (
    "SELECT p.id, p.organization_id, o.slug AS organization_slug, p.slug, p.name, p.platform"
    " FROM projects p JOIN organizations o ON o.id = p.organization_id"
)


async def find_project_key(pool: Pool, public_key: str) -> ProjectKey | None:
    """The key with its own rate limit and its project's quotas (what the relay enforces)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT k.project_id, p.organization_id, k.public_key, k.secret_key, k.is_active,"
            " k.rate_limit_count, k.rate_limit_window, p.quota_per_minute, p.quota_per_hour"
            " FROM project_keys k JOIN projects p ON p.id = k.project_id"
            " WHERE k.public_key = %s",
            (public_key,),
        )
        row = await cur.fetchone()
    return ProjectKey(**row) if row else None


async def get_project(pool: Pool, project_id: int) -> Project | None:
    async with pool.connection() as conn:
        cur = await conn.execute(_PROJECT_SELECT + " WHERE p.id = %s", (project_id,))
        row = await cur.fetchone()
    return Project(**row) if row else None


async def get_project_by_slug(
    pool: Pool, org_slug: str, project_slug: str
) -> Project | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            _PROJECT_SELECT + " WHERE o.slug = %s AND p.slug = %s", (org_slug, project_slug)
        )
        row = await cur.fetchone()
    return Project(**row) if row else None


async def authenticate_token(pool: Pool, token: str) -> TokenUser | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT u.id, u.email, u.is_superuser,"
            " coalesce(array_agg(m.organization_id)"
            "  FILTER (WHERE m.organization_id IS NOT NULL), '{}') AS orgs"
            " FROM api_tokens t JOIN users u ON u.id = t.user_id"
            " LEFT JOIN organization_members m ON m.user_id = u.id"
            " WHERE t.token_hash = %s GROUP BY u.id",
            (token_digest(token),),
        )
        row = await cur.fetchone()
    if row is None:
        return None
    return TokenUser(row["id"], row["email"], row["is_superuser"], frozenset(row["orgs"]))


async def create_organization(conn: Conn, slug: str, name: str) -> int:
    cur = await conn.execute(
        "INSERT INTO organizations (slug, name) VALUES (%s, %s) RETURNING id", (slug, name)
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def create_project(
    conn: Conn, organization_id: int, slug: str, name: str, platform: str | None = None
) -> int:
    # New projects group with the latest config; existing ones keep theirs (the column's
    # default, v1, is only for rows that predate per-project configs).
    cur = await conn.execute(
        "INSERT INTO projects (organization_id, slug, name, platform, grouping_config)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (organization_id, slug, name, platform, LATEST_GROUPING_CONFIG),
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row["id"])


async def create_project_key(conn: Conn, project_id: int) -> str:
    """Create an active DSN key; return its public key (32 hex, like Sentry's)."""
    public_key = secrets.token_hex(16)
    await conn.execute(
        "INSERT INTO project_keys (project_id, public_key, secret_key) VALUES (%s, %s, %s)",
        (project_id, public_key, secrets.token_hex(16)),
    )
    return public_key


async def create_user(
    conn: Conn, email: str, password: str, organization_id: int, role: str = "owner",
    is_superuser: bool = False,
) -> int:
    cur = await conn.execute(
        "INSERT INTO users (email, password_hash, is_superuser) VALUES (%s, %s, %s)"
        " RETURNING id",
        (email, hash_password(password), is_superuser),
    )
    row = await cur.fetchone()
    assert row is not None
    user_id = int(row["id"])
    await conn.execute(
        "INSERT INTO organization_members (organization_id, user_id, role) VALUES (%s, %s, %s)",
        (organization_id, user_id, role),
    )
    return user_id


async def create_api_token(conn: Conn, user_id: int) -> str:
    """Create a token and return it; only its digest is stored."""
    token = secrets.token_hex(32)
    await conn.execute(
        "INSERT INTO api_tokens (user_id, token_hash) VALUES (%s, %s)",
        (user_id, token_digest(token)),
    )
    return token
