"""PostgreSQL reads and writes behind the DSN-key and project-quota API.

Every statement is scoped by the project id the caller was already granted access to, so
a key of another project (or tenant) is simply not found.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import sql
from psycopg.rows import DictRow

from faultline_core.storage.postgres.pool import Pool

MANAGER_ROLES = frozenset({"owner", "admin", "manager"})
"""Organization roles that may change keys and quotas (as in Sentry: not ``member``)."""

_KEY_COLUMNS = (
    "public_key, secret_key, label, is_active, rate_limit_count, rate_limit_window, created_at"
)
# The columns an update may set; anything else is a programming error, never user input.
KEY_UPDATE_COLUMNS = frozenset({"label", "is_active", "rate_limit_count", "rate_limit_window"})
QUOTA_COLUMNS = frozenset({"quota_per_minute", "quota_per_hour"})


@dataclass(frozen=True)
class KeyRow:
    """A DSN key of one project."""

    public_key: str
    secret_key: str | None
    label: str
    is_active: bool
    rate_limit_count: int | None
    rate_limit_window: int | None
    created_at: datetime


@dataclass(frozen=True)
class Quotas:
    """A project's error-event quotas; ``None`` is unlimited."""

    per_minute: int | None
    per_hour: int | None


async def member_role(pool: Pool, organization_id: int, user_id: int) -> str | None:
    """The user's role in the organization, or ``None`` if not a member."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT role FROM organization_members WHERE organization_id = %s AND user_id = %s",
            (organization_id, user_id),
        )
        row = await cur.fetchone()
    return str(row["role"]) if row else None


def _key(row: DictRow) -> KeyRow:
    return KeyRow(**row)


async def list_keys(pool: Pool, project_id: int) -> list[KeyRow]:
    """The project's keys, oldest first."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_KEY_COLUMNS} FROM project_keys WHERE project_id = %s ORDER BY id",
            (project_id,),
        )
        rows = await cur.fetchall()
    return [_key(row) for row in rows]


async def get_key(pool: Pool, project_id: int, public_key: str) -> KeyRow | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_KEY_COLUMNS} FROM project_keys"
            " WHERE project_id = %s AND public_key = %s",
            (project_id, public_key),
        )
        row = await cur.fetchone()
    return _key(row) if row else None


async def create_key(
    pool: Pool, project_id: int, label: str, rate_limit: tuple[int, int] | None
) -> KeyRow:
    """A new active key (32 hex public and secret, like Sentry's); ``rate_limit`` is
    ``(count, window_s)`` or ``None``."""
    count, window = rate_limit if rate_limit is not None else (None, None)
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO project_keys (project_id, public_key, secret_key, label,"
            " rate_limit_count, rate_limit_window) VALUES (%s, %s, %s, %s, %s, %s)"
            f" RETURNING {_KEY_COLUMNS}",
            (project_id, secrets.token_hex(16), secrets.token_hex(16), label, count, window),
        )
        row = await cur.fetchone()
    assert row is not None
    return _key(row)


def _assignments(changes: Mapping[str, Any], allowed: frozenset[str]) -> sql.Composed:
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not updatable: {sorted(unknown)}")
    return sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column))
        for column in sorted(changes)
    )


async def update_key(
    pool: Pool, project_id: int, public_key: str, changes: Mapping[str, Any]
) -> KeyRow | None:
    """Set the given columns (of :data:`KEY_UPDATE_COLUMNS`); ``None`` if no such key."""
    if not changes:
        return await get_key(pool, project_id, public_key)
    query = sql.SQL(
        "UPDATE project_keys SET {} WHERE project_id = %(project_id)s"
        " AND public_key = %(public_key)s RETURNING " + _KEY_COLUMNS
    ).format(_assignments(changes, KEY_UPDATE_COLUMNS))
    async with pool.connection() as conn:
        cur = await conn.execute(
            query, {**changes, "project_id": project_id, "public_key": public_key}
        )
        row = await cur.fetchone()
    return _key(row) if row else None


async def get_quotas(pool: Pool, project_id: int) -> Quotas:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT quota_per_minute, quota_per_hour FROM projects WHERE id = %s",
            (project_id,),
        )
        row = await cur.fetchone()
    if row is None:
        return Quotas(None, None)
    return Quotas(row["quota_per_minute"], row["quota_per_hour"])


async def set_quotas(pool: Pool, project_id: int, changes: Mapping[str, int | None]) -> None:
    """Set the given quota columns (of :data:`QUOTA_COLUMNS`)."""
    if not changes:
        return
    query = sql.SQL("UPDATE projects SET {} WHERE id = %(project_id)s").format(
        _assignments(changes, QUOTA_COLUMNS)
    )
    async with pool.connection() as conn:
        await conn.execute(query, {**changes, "project_id": project_id})
