"""The event ledger and the counters derived from it: exact, and idempotent under replay."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

from pydantic import SecretStr

from faultline_core.settings import PostgresSettings
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_processor.issue_store import EventRecord, record_events
from tests.unit.processor.conftest import Pipeline, python_error
from tests.unit.processor.lifecycle_helpers import T0, event, issue, new_issue, rows

MINUTE = timedelta(minutes=1)

# What every counter must equal: the same figures recomputed from the ledger alone.
RECOMPUTED_USERS = """
SELECT i.id, i.times_seen, i.users_seen,
       (SELECT count(*) FROM processed_events p WHERE p.issue_id = i.id) AS ledger_times,
       (SELECT count(DISTINCT user_key) FROM processed_events p WHERE p.issue_id = i.id)
           AS ledger_users,
       (SELECT count(*) FROM issue_users u WHERE u.issue_id = i.id) AS user_rows
FROM issues i ORDER BY i.id
"""
STORED_ENVIRONMENTS = """
SELECT issue_id, environment AS name, first_seen, last_seen, times_seen
FROM issue_environments ORDER BY 1, 2
"""
RECOMPUTED_ENVIRONMENTS = """
SELECT issue_id, environment AS name, min(timestamp) AS first_seen,
       max(timestamp) AS last_seen, count(*) AS times_seen
FROM processed_events WHERE environment IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2
"""


async def assert_matches_ledger(pool: Pool) -> None:
    for row in await rows(pool, RECOMPUTED_USERS):
        assert row["times_seen"] == row["ledger_times"]
        assert row["users_seen"] == row["ledger_users"] == row["user_rows"]
    for table in ("release", "environment"):
        stored = await rows(pool, STORED_ENVIRONMENTS.replace("environment", table))
        recomputed = await rows(pool, RECOMPUTED_ENVIRONMENTS.replace("environment", table))
        assert stored == recomputed
    assert await rows(pool, "SELECT project_id, release, first_seen FROM project_releases"
                            " ORDER BY 1, 2") == await rows(
        pool, "SELECT project_id, release, min(received) AS first_seen FROM processed_events"
              " WHERE release IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2")


async def test_ledger_rows_carry_what_the_counters_are_made_of(
    pool: Pool, project_id: int
) -> None:
    issue_id = await new_issue(pool, project_id)
    full = event(project_id, issue_id, T0, user="id:42", environment="production",
                 release="shop@1.0.0", received=T0 + MINUTE)
    bare = event(project_id, issue_id, T0)

    await record_events(pool, [full, bare])

    ledger = await rows(pool, "SELECT event_id, issue_id, primary_hash, user_key, environment,"
                              " release, received FROM processed_events ORDER BY received")
    assert [(r["event_id"].hex, r["issue_id"], r["primary_hash"], r["user_key"],
             r["environment"], r["release"], r["received"]) for r in ledger] == [
        (bare.event_id, issue_id, "a" * 32, None, None, None, T0),
        (full.event_id, issue_id, "a" * 32, "id:42", "production", "shop@1.0.0", T0 + MINUTE),
    ]


async def test_counters_are_exact_and_idempotent(pool: Pool, project_id: int) -> None:
    issue_id = await new_issue(pool, project_id)
    events = [
        event(project_id, issue_id, T0 + 3 * MINUTE, user="id:1", environment="production",
              release="shop@1.0.0", received=T0 + 5 * MINUTE),
        event(project_id, issue_id, T0 + MINUTE, user="id:1", environment="production",
              release="shop@1.1.0", received=T0 + 6 * MINUTE),
        event(project_id, issue_id, T0 + 2 * MINUTE, user="email:a@example.com",
              environment="staging", release="shop@1.0.0", received=T0 + 4 * MINUTE),
        event(project_id, issue_id, T0, user="", environment="", release=""),
    ]

    await record_events(pool, events[:2])
    await record_events(pool, events)  # redelivered, with new events
    await record_events(pool, list(reversed(events)))

    row = await issue(pool, issue_id)
    assert (row["times_seen"], row["users_seen"]) == (4, 2)
    users = await rows(pool, "SELECT user_key FROM issue_users ORDER BY 1")
    assert [u["user_key"] for u in users] == ["email:a@example.com", "id:1"]
    envs = await rows(pool, "SELECT environment, first_seen, last_seen, times_seen"
                            " FROM issue_environments ORDER BY 1")
    assert [tuple(e.values()) for e in envs] == [
        ("production", T0 + MINUTE, T0 + 3 * MINUTE, 2),
        ("staging", T0 + 2 * MINUTE, T0 + 2 * MINUTE, 1),
    ]
    releases = await rows(pool, "SELECT release, first_seen, last_seen, times_seen"
                                " FROM issue_releases ORDER BY 1")
    assert [tuple(r.values()) for r in releases] == [
        ("shop@1.0.0", T0 + 2 * MINUTE, T0 + 3 * MINUTE, 2),
        ("shop@1.1.0", T0 + MINUTE, T0 + MINUTE, 1),
    ]
    # a release first appears when the relay first received one of its events, even when
    # that event is counted later than another one of the same release
    first = await rows(pool, "SELECT release, first_seen FROM project_releases ORDER BY 1")
    assert [tuple(r.values()) for r in first] == [
        ("shop@1.0.0", T0 + 4 * MINUTE), ("shop@1.1.0", T0 + 6 * MINUTE)
    ]
    await assert_matches_ledger(pool)


async def test_users_are_counted_per_issue(pool: Pool, project_id: int) -> None:
    one, two = await new_issue(pool, project_id, "a" * 32), await new_issue(
        pool, project_id, "b" * 32
    )

    await record_events(pool, [event(project_id, issue_id, T0, user="id:1")
                               for issue_id in (one, two, one)])

    assert [(await issue(pool, i))["users_seen"] for i in (one, two)] == [1, 1]
    await assert_matches_ledger(pool)


async def test_events_of_a_deleted_issue_are_ledgered_but_not_counted(
    pool: Pool, project_id: int
) -> None:
    gone, kept = await new_issue(pool, project_id, "a" * 32), await new_issue(
        pool, project_id, "b" * 32
    )
    async with pool.connection() as conn:
        await conn.execute("DELETE FROM issues WHERE id = %s", (gone,))

    result = await record_events(pool, [
        event(project_id, i, T0, user="id:1", environment="prod", release="r1")
        for i in (gone, kept)
    ])

    assert len(result.new) == 2
    assert (await issue(pool, kept))["users_seen"] == 1
    assert [r["issue_id"] for r in await rows(pool, "SELECT issue_id FROM issue_users")] == [kept]


def random_events(project_id: int, issue_ids: list[int], n: int, seed: int) -> list[EventRecord]:
    rng = random.Random(seed)
    return [
        event(project_id, rng.choice(issue_ids), T0 + rng.randrange(600) * MINUTE,
              user=rng.choice(["", "id:1", "id:2", "email:x@example.com", "ip:10.0.0.7"]),
              environment=rng.choice(["", "production", "staging"]),
              release=rng.choice(["", "shop@1.0.0", "shop@1.1.0", "3f2a9c1"]),
              received=T0 + rng.randrange(600) * MINUTE)
        for _ in range(n)
    ]


async def test_concurrent_batches_on_the_same_issues_stay_exact(
    pg_dsn: str, pool: Pool, project_id: int
) -> None:
    other = await open_pool(PostgresSettings(dsn=SecretStr(pg_dsn), pool_min_size=1,
                                             pool_max_size=4))
    issue_ids = [await new_issue(pool, project_id, c * 32) for c in "abc"]
    events = random_events(project_id, issue_ids, 400, seed=5)
    # overlapping batches, each delivered twice, from two processors at once
    batches = [events[i:i + 60] for i in range(0, len(events), 40)]
    try:
        await asyncio.gather(*(record_events(pool if n % 2 else other, batch)
                               for n, batch in enumerate(batches + batches)))
    finally:
        await other.close()

    assert sum([(await issue(pool, i))["times_seen"] for i in issue_ids]) == 400
    await assert_matches_ledger(pool)


async def test_the_pipeline_ledgers_clickhouses_user_key(pipeline: Pipeline) -> None:
    payloads: list[dict[str, Any]] = [python_error() for _ in range(3)]
    payloads[0]["user"] = {"id": "42", "email": "a@example.com"}
    payloads[1]["user"] = {"email": "b@example.com", "ip_address": "10.1.2.3"}
    payloads[2]["environment"] = "staging"
    for payload in payloads:
        await pipeline.publish(payload)

    await pipeline.process_all()

    [stored] = await pipeline.issues()
    assert (stored["times_seen"], stored["users_seen"]) == (3, 2)
    ledger = await rows(pipeline.pool, "SELECT event_id, user_key, environment, release,"
                                       " primary_hash FROM processed_events")
    clickhouse = await pipeline.clickhouse.query(
        "SELECT event_id, user_key, environment, release, primary_hash FROM errors FINAL"
        " WHERE project_id = %(project)s", {"project": pipeline.project_id})
    assert sorted((r["event_id"].hex, r["user_key"] or "", r["environment"], r["release"],
                   r["primary_hash"]) for r in ledger) == sorted(
        (str(r["event_id"]).replace("-", ""), r["user_key"], r["environment"], r["release"],
         r["primary_hash"]) for r in clickhouse)
    assert {r["user_key"] for r in ledger} == {"id:42", "email:b@example.com", None}
