"""PostgreSQL reads for project statistics: release health sessions and outcomes.

Every read takes the project ids the caller has already checked access to; nothing here
reads across projects it was not given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from faultline_core.storage.postgres.pool import Pool
from faultline_core.storage.postgres.tenancy import Project


@dataclass(frozen=True)
class Organization:
    id: int
    slug: str
    projects: tuple[Project, ...]
    """All the organization's projects, by slug."""


@dataclass(frozen=True)
class SessionRow:
    """One hour of one release and environment (see ``release_sessions``)."""

    project_id: int
    release: str
    environment: str
    bucket: datetime
    started: int
    errored: int
    """Unhealthy sessions, crashed and abnormal ones included."""
    crashed: int
    abnormal: int


@dataclass(frozen=True)
class OutcomeRow:
    project_id: int
    bucket: datetime
    outcome: str
    category: str
    reason: str
    quantity: int


async def load_organization(pool: Pool, slug: str) -> Organization | None:
    """The organization and its projects; None when no organization has that slug."""
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT id, slug FROM organizations WHERE slug = %s", (slug,))
        org = await cur.fetchone()
        if org is None:
            return None
        cur = await conn.execute(
            "SELECT id, organization_id, %s::text AS organization_slug, slug, name, platform"
            " FROM projects WHERE organization_id = %s ORDER BY slug",
            (org["slug"], org["id"]),
        )
        projects = tuple(Project(**row) for row in await cur.fetchall())
    return Organization(int(org["id"]), str(org["slug"]), projects)


async def session_rows(
    pool: Pool, project_ids: Sequence[int], start: datetime, end: datetime
) -> list[SessionRow]:
    """The hourly session counters of ``project_ids`` with ``start <= bucket < end``."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT project_id, release, environment, bucket, started, errored, crashed,"
            " abnormal FROM release_sessions WHERE project_id = ANY(%s)"
            " AND bucket >= %s AND bucket < %s",
            (list(project_ids), start, end),
        )
        return [SessionRow(**row) for row in await cur.fetchall()]


async def outcome_rows(
    pool: Pool, project_ids: Sequence[int], start: datetime, end: datetime
) -> list[OutcomeRow]:
    """Hourly outcomes of ``project_ids`` with ``start <= bucket < end``.

    Accepted errors are not in ``outcomes``: each processed event has a row in
    ``processed_events`` instead, so they are counted from there, in the hour of the
    event's timestamp, as outcome ``accepted``, category ``error``.
    """
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT project_id, bucket, outcome, category, reason, quantity FROM outcomes"
            " WHERE project_id = ANY(%(projects)s) AND bucket >= %(start)s"
            " AND bucket < %(end)s"
            " UNION ALL"
            " SELECT project_id, date_trunc('hour', timestamp AT TIME ZONE 'UTC')"
            "  AT TIME ZONE 'UTC', 'accepted', 'error', '', count(*)"
            " FROM processed_events WHERE project_id = ANY(%(projects)s)"
            " AND timestamp >= %(start)s AND timestamp < %(end)s GROUP BY 1, 2",
            {"projects": list(project_ids), "start": start, "end": end},
        )
        return [OutcomeRow(**row) for row in await cur.fetchall()]
