"""The gateway's own PostgreSQL reads and writes: users, project lookups, issue status.

Everything that identifies a tenant's object returns the object's project so the caller
can check access before touching it; nothing here lists across organizations except
for a user's own memberships.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from psycopg.rows import DictRow

from faultline_core.storage.postgres.pool import Pool
from faultline_core.storage.postgres.tenancy import Project, TokenUser
from faultline_web.sessions import Session, password_fingerprint

IssueStatusName = Literal["unresolved", "resolved", "ignored"]
ISSUE_STATUSES: dict[str, IssueStatusName] = {
    "unresolved": "unresolved",
    "resolved": "resolved",
    "ignored": "ignored",
}

# PostgreSQL BIGSERIAL ids fit in a signed 64-bit integer; anything else cannot exist.
MAX_ID = 2**63 - 1

_PROJECT_COLUMNS = (
    "p.id, p.organization_id, o.slug AS organization_slug, p.slug, p.name, p.platform"
)


Params = Sequence[Any] | Mapping[str, Any]


async def _fetchone(pool: Pool, sql: str, params: Params) -> DictRow | None:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params)
        return await cur.fetchone()


async def _fetchall(pool: Pool, sql: str, params: Params) -> list[DictRow]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params)
        return await cur.fetchall()


@dataclass(frozen=True)
class LoginUser:
    user_id: int
    password_hash: str


async def find_login_user(pool: Pool, email: str) -> LoginUser | None:
    row = await _fetchone(
        pool, "SELECT id, password_hash FROM users WHERE lower(email) = lower(%s)", (email,)
    )
    return LoginUser(row["id"], row["password_hash"]) if row else None


async def load_session_user(pool: Pool, session: Session) -> TokenUser | None:
    """The session's user with their memberships, unless the password changed since."""
    row = await _fetchone(
        pool,
        "SELECT u.id, u.email, u.is_superuser, u.password_hash,"
        " coalesce(array_agg(m.organization_id)"
        "  FILTER (WHERE m.organization_id IS NOT NULL), '{}') AS orgs"
        " FROM users u LEFT JOIN organization_members m ON m.user_id = u.id"
        " WHERE u.id = %s GROUP BY u.id",
        (session.user_id,),
    )
    if row is None or password_fingerprint(row["password_hash"]) != session.password_fingerprint:
        return None
    return TokenUser(row["id"], row["email"], row["is_superuser"], frozenset(row["orgs"]))


async def issue_project(pool: Pool, issue_id: int) -> Project | None:
    """The project an issue belongs to (None when the issue does not exist)."""
    if not 0 < issue_id <= MAX_ID:
        return None
    row = await _fetchone(
        pool,
        f"SELECT {_PROJECT_COLUMNS} FROM issues i"
        " JOIN projects p ON p.id = i.project_id"
        " JOIN organizations o ON o.id = p.organization_id"
        " WHERE i.id = %s",
        (issue_id,),
    )
    return Project(**row) if row else None


async def accessible_projects(pool: Pool, user: TokenUser) -> list[Project]:
    """The projects ``user`` may see, ordered by organization and project slug."""
    rows = await _fetchall(
        pool,
        f"SELECT {_PROJECT_COLUMNS} FROM projects p"
        " JOIN organizations o ON o.id = p.organization_id"
        " WHERE %s OR p.organization_id = ANY(%s)"
        " ORDER BY o.slug, p.slug",
        (user.is_superuser, list(user.organization_ids)),
    )
    return [Project(**row) for row in rows]
