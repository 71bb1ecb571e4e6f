"""Seeding helpers for the lifecycle tests: issues with grouphashes, ledger rows in
PostgreSQL and the matching raw events in ClickHouse, as the processor writes them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faultline_core.event import NormalizedEvent, UserInfo
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.clickhouse.errors_table import ERRORS_COLUMNS, errors_row
from faultline_core.storage.postgres.pool import Pool
from tests.unit.query.conftest import insert_issue, make_event


def hash_of(label: str) -> str:
    return hashlib.md5(label.encode()).hexdigest()


@dataclass(frozen=True)
class Seeded:
    issue_id: int
    events: list[NormalizedEvent]


async def seed_issue(
    pool: Pool, clickhouse: ClickHouse, project_id: int, hash_label: str,
    events: list[tuple[datetime, str, str, str]],
) -> Seeded:
    """An issue with one grouphash and one event per ``(timestamp, user, env, release)``,
    counted in the ledger and stored in ClickHouse with that primary hash."""
    primary = hash_of(hash_label)
    issue = await insert_issue(pool, project_id, first_seen=min(e[0] for e in events),
                               last_seen=max(e[0] for e in events), times_seen=len(events))
    made = [make_event(project_id, ts, user=UserInfo(id=user), tags=[("environment", env)])
            for ts, user, env, _ in events]
    async with pool.connection() as conn:
        await conn.execute(
            "INSERT INTO grouphashes (project_id, hash, issue_id) VALUES (%s, %s, %s)",
            (project_id, primary, issue),
        )
        for event, (ts, user, env, release) in zip(made, events, strict=True):
            await conn.execute(
                "INSERT INTO processed_events (project_id, event_id, issue_id, timestamp,"
                " primary_hash, user_key, environment, release, received)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (project_id, event.event_id, issue, ts, primary, user, env, release, ts),
            )
    rows = [errors_row(event, issue, primary) for event in made]
    await clickhouse.insert("errors", ERRORS_COLUMNS, rows)
    return Seeded(issue, made)


async def fetch(pool: Pool, sql: str, *params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql, params)
        return list(await cur.fetchall())


async def counters(pool: Pool, issue_id: int) -> dict[str, Any]:
    """The stored counters of an issue, and the same counters recomputed by hand from
    the ledger (``expected_*``)."""
    issue = (await fetch(pool, "SELECT times_seen, users_seen, first_seen, last_seen"
                               " FROM issues WHERE id = %s", issue_id))[0]
    ledger = await fetch(pool, "SELECT timestamp, user_key, environment, release"
                               " FROM processed_events WHERE issue_id = %s", issue_id)
    envs = await fetch(pool, "SELECT environment, times_seen FROM issue_environments"
                             " WHERE issue_id = %s", issue_id)
    rels = await fetch(pool, "SELECT release, times_seen FROM issue_releases"
                             " WHERE issue_id = %s", issue_id)
    return {
        "stored": (issue["times_seen"], issue["users_seen"], issue["first_seen"],
                   issue["last_seen"], {r["environment"]: r["times_seen"] for r in envs},
                   {r["release"]: r["times_seen"] for r in rels}),
        "expected": (
            len(ledger), len({r["user_key"] for r in ledger}),
            min(r["timestamp"] for r in ledger), max(r["timestamp"] for r in ledger),
            _tally(r["environment"] for r in ledger), _tally(r["release"] for r in ledger),
        ),
    }


def _tally(values: Any) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return counts
