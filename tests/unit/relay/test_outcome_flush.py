"""The relay's outcome counts: aggregated in memory, flushed to PostgreSQL in the
background, kept (within a bound) when a flush fails."""

from __future__ import annotations

import asyncio

from faultline_core.settings import PostgresSettings
from faultline_core.storage.postgres.outcomes import hour_bucket
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_relay.outcomes import OutcomeRecorder

HOUR = 3600.0 * 500_000


async def _rows(pool: Pool) -> list[tuple[int, float, str, int]]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT project_id, extract(epoch FROM bucket) AS bucket, reason, quantity"
            " FROM outcomes WHERE outcome = 'rate_limited' ORDER BY project_id, bucket, reason"
        )
        rows = await cur.fetchall()
    return [(r["project_id"], float(r["bucket"]), r["reason"], r["quantity"]) for r in rows]


async def test_counts_are_merged_per_hour_and_added_to_the_table(pool: Pool) -> None:
    now = [HOUR + 10]
    recorder = OutcomeRecorder(pool, clock=lambda: now[0])
    recorder.add(7, "rate_limited", "error", "key_quota", 2)
    recorder.add(7, "rate_limited", "error", "key_quota", 3)
    now[0] += 3600
    recorder.add(7, "rate_limited", "error", "project_quota", 1)
    recorder.add(8, "rate_limited", "error", "key_quota", 0)  # nothing to count

    assert await recorder.flush()
    recorder.add(7, "rate_limited", "error", "project_quota", 4)
    assert await recorder.flush()

    assert hour_bucket(HOUR + 10).timestamp() == HOUR
    assert await _rows(pool) == [
        (7, HOUR, "key_quota", 5), (7, HOUR + 3600, "project_quota", 5),
    ]
    assert recorder.pending == {}


async def test_a_failed_flush_keeps_the_counts_for_the_next_one(
    pool: Pool, pg_settings: PostgresSettings
) -> None:
    dead = await open_pool(pg_settings, name="outcomes-dead")
    await dead.close()
    failing = OutcomeRecorder(dead, clock=lambda: HOUR)
    failing.add(7, "rate_limited", "error", "key_quota", 2)

    assert not await failing.flush()
    assert list(failing.pending.values()) == [2]

    failing.add(7, "rate_limited", "error", "key_quota", 1)
    working = OutcomeRecorder(pool, clock=lambda: HOUR)
    for key, quantity in failing.pending.items():
        working.add(key.project_id, key.outcome, key.category, key.reason, quantity)
    assert await working.flush()
    assert await _rows(pool) == [(7, HOUR, "key_quota", 3)]


async def test_waiting_counts_are_bounded(pg_settings: PostgresSettings) -> None:
    dead = await open_pool(pg_settings, name="outcomes-dead")
    await dead.close()
    recorder = OutcomeRecorder(dead, max_pending_keys=2, clock=lambda: HOUR)
    for project_id in range(5):
        recorder.add(project_id, "rate_limited", "error", "key_quota", 1)
    recorder.add(0, "rate_limited", "error", "key_quota", 1)  # a known key still counts

    assert not await recorder.flush()

    assert sorted(recorder.pending.values()) == [1, 2]
    assert recorder.dropped == 3


async def test_the_background_task_flushes_periodically_and_at_stop(pool: Pool) -> None:
    recorder = OutcomeRecorder(pool, interval_s=0.05, clock=lambda: HOUR)
    recorder.start()
    recorder.add(7, "rate_limited", "error", "key_quota", 1)
    for _ in range(100):
        if await _rows(pool):
            break
        await asyncio.sleep(0.02)
    assert await _rows(pool) == [(7, HOUR, "key_quota", 1)]

    recorder.add(7, "rate_limited", "error", "key_quota", 2)
    await recorder.stop()
    assert await _rows(pool) == [(7, HOUR, "key_quota", 3)]
