"""PostgreSQL reads and writes behind the grouping settings and grouping explanations.

Every statement is scoped by a project id the caller was already granted access to.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from psycopg import sql

from faultline_core.storage.postgres.pool import Pool

GROUPING_COLUMNS = frozenset({"grouping_config", "fingerprinting_rules", "grouping_enhancements"})
"""The columns a settings update may set; anything else is a programming error."""


@dataclass(frozen=True)
class ProjectGroupingRow:
    """A project's grouping settings as stored (rules as the text users wrote)."""

    grouping_config: str
    fingerprinting_rules: str
    grouping_enhancements: str


async def get_grouping(pool: Pool, project_id: int) -> ProjectGroupingRow | None:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT grouping_config, fingerprinting_rules, grouping_enhancements"
            " FROM projects WHERE id = %s",
            (project_id,),
        )
        row = await cur.fetchone()
    return ProjectGroupingRow(**row) if row else None


async def set_grouping(pool: Pool, project_id: int, changes: Mapping[str, str]) -> None:
    """Update the given grouping columns of the project (nothing when ``changes`` is empty)."""
    if not changes:
        return
    unknown = set(changes) - GROUPING_COLUMNS
    if unknown:
        raise ValueError(f"not grouping columns: {sorted(unknown)}")
    assignments = sql.SQL(", ").join(
        sql.SQL("{} = {}").format(sql.Identifier(column), sql.Placeholder(column))
        for column in sorted(changes)
    )
    query = sql.SQL("UPDATE projects SET {} WHERE id = {}").format(
        assignments, sql.Placeholder("project_id")
    )
    async with pool.connection() as conn:
        await conn.execute(query, {**changes, "project_id": project_id})


async def issue_grouping_config(pool: Pool, project_id: int, issue_id: int) -> str | None:
    """The config the issue was created with, or ``None`` if it is not in the project."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT grouping_config FROM issues WHERE id = %s AND project_id = %s",
            (issue_id, project_id),
        )
        row = await cur.fetchone()
    return str(row["grouping_config"]) if row else None


async def issue_hashes_among(
    pool: Pool, project_id: int, issue_id: int, hashes: Iterable[str]
) -> set[str]:
    """Those of ``hashes`` that point at the issue: the ones the event was matched on."""
    wanted = sorted(set(hashes))
    if not wanted:
        return set()
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT hash FROM grouphashes"
            " WHERE project_id = %s AND issue_id = %s AND hash = ANY(%s)",
            (project_id, issue_id, wanted),
        )
        rows = await cur.fetchall()
    return {str(row["hash"]) for row in rows}
