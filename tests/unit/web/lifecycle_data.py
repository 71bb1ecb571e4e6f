"""Issues of their own for the lifecycle tests: rows, grouphashes and ledger rows in the
seeded database, written the way the processor writes them."""

from __future__ import annotations

import hashlib
import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from tests.unit.web.conftest import Seeded

_labels = itertools.count(1)
BASE = datetime(2025, 6, 1, 12, tzinfo=UTC)


def hash_of(label: str) -> str:
    return hashlib.md5(label.encode()).hexdigest()


async def query(seeded: Seeded, sql: str, *params: Any) -> list[dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(
        seeded.pg_dsn, row_factory=dict_row, autocommit=True
    ) as conn:
        cur = await conn.execute(sql, params)
        return list(await cur.fetchall()) if cur.description else []


async def make_issue(seeded: Seeded, project: str, users: list[str]) -> tuple[int, str]:
    """An issue of ``project`` with one event per user (an hour apart) under a fresh hash."""
    label = f"lifecycle-{next(_labels)}-{uuid.uuid4().hex}"
    primary = hash_of(label)
    project_id = seeded.projects[project]
    first, last = BASE, BASE + timedelta(hours=len(users) - 1)
    rows = await query(
        seeded,
        "INSERT INTO issues (project_id, title, first_seen, last_seen, times_seen)"
        " VALUES (%s, %s, %s, %s, %s) RETURNING id",
        project_id, f"Error {label}", first, last, len(users),
    )
    issue = int(rows[0]["id"])
    await query(seeded, "INSERT INTO grouphashes (project_id, hash, issue_id)"
                        " VALUES (%s, %s, %s)", project_id, primary, issue)
    for index, user in enumerate(users):
        await query(
            seeded,
            "INSERT INTO processed_events (project_id, event_id, issue_id, timestamp,"
            " primary_hash, user_key, environment, release, received)"
            " VALUES (%s, %s, %s, %s, %s, %s, 'production', '1.0', %s)",
            project_id, uuid.uuid4(), issue, first + timedelta(hours=index), primary, user,
            first,
        )
    return issue, primary


async def add_release(seeded: Seeded, project: str, release: str) -> None:
    await query(seeded, "INSERT INTO project_releases (project_id, release) VALUES (%s, %s)"
                        " ON CONFLICT DO NOTHING", seeded.projects[project], release)
