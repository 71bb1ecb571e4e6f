"""Benchmark: ``faultline regroup`` of N stored events, v1 to v2, on this machine.

Seeds a private PostgreSQL server and a chDB directory (both under a temporary
directory): templates are built from the golden SDK envelopes in ``tests/fixtures/sdk``
(every SDK's event, with varied exception values, function names, users, environments
and releases: ~5 KB of normalised JSON each), stored once, then copied inside ClickHouse
with fresh event ids and shifted times until there are N events. The ledger and the v1
projection (issues, hashes, counters) are written in bulk, as the processor would have
left them. Then the regroup runs and is timed, and the result is checked (every event
counted once). Run: ``.venv/bin/python scripts/bench_regroup.py [--events N]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from faultline_core.envelope import parse_envelope
from faultline_core.event import NormalizedEvent
from faultline_core.grouping import compute_grouping
from faultline_core.migrations.clickhouse_migrate import migrate_clickhouse
from faultline_core.migrations.postgres_migrate import migrate_postgres
from faultline_core.normalize import normalize_event
from faultline_core.pgserver import start_postgres
from faultline_core.storage.clickhouse import chdb
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.clickhouse.chdb import ChdbClickHouse
from faultline_core.storage.clickhouse.errors_table import ERRORS_COLUMNS, errors_row
from faultline_core.storage.postgres.recount import recount_issues
from faultline_processor.regroup import RegroupOptions, regroup
from faultline_processor.regroup.grouper import GroupingSpec

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "sdk"
TEMPLATE_PROJECT = 999_999
INSERT_ROWS = 2_000
MAX_TEMPLATE_BYTES = 8_000


def fixture_payloads() -> list[dict[str, Any]]:
    """Every SDK fixture's event payload (exceptions first-class: those are what group)."""
    payloads = []
    for path in sorted(FIXTURES.glob("*/*.envelope")):
        for item in parse_envelope(path.read_bytes()).items:
            if item.type == "event":
                payloads.append(json.loads(item.payload))
    return payloads


def vary(payload: dict[str, Any], n: int, at: float) -> dict[str, Any]:
    """A copy with other values: about 40 exception variants per fixture, users, envs."""
    event: dict[str, Any] = json.loads(json.dumps(payload))
    event["event_id"] = f"{n:032x}"
    # All in one week: each ClickHouse partition written costs the engine memory.
    event["timestamp"] = at
    event["user"] = {"id": f"user-{n % 997}", "email": f"user{n % 997}@example.com"}
    event["environment"] = ("production", "staging", "dev")[n % 3]
    event["release"] = f"app@1.{n % 7}.0"
    exception = event.get("exception") or {}
    values = exception if isinstance(exception, list) else exception.get("values") or []
    for value in values:
        value["value"] = f"{value.get('value') or ''} (order {n})"
        frames = (value.get("stacktrace") or {}).get("frames") or []
        if frames:
            frames[-1]["function"] = f"{frames[-1].get('function') or 'f'}_{n % 40}"
            frames[-1]["lineno"] = 10 + n % 300
    return event


def templates(count: int) -> list[NormalizedEvent]:
    payloads = fixture_payloads()
    now = time.time() - 3 * 86400
    events: list[NormalizedEvent] = []
    n = 0
    while len(events) < count:
        raw = json.dumps(vary(payloads[n % len(payloads)], n, now + n)).encode()
        event = normalize_event(TEMPLATE_PROJECT, f"{n:032x}", raw, now + n, "10.0.0.1")
        n += 1
        # The bulkiest fixtures (large local variables) are left out: ~5 KB on average.
        if len(json.dumps(event.data)) <= MAX_TEMPLATE_BYTES:
            events.append(event)
    return events


async def seed_clickhouse(ch: ClickHouse, project_id: int, events: list[NormalizedEvent],
                          total: int) -> None:
    """``total`` rows: the templates over and over, with fresh ids and later times (the
    processor's insert path; an INSERT ... SELECT copy exceeds the embedded engine's
    memory cap)."""
    base = [errors_row(e, 0, compute_grouping(e.data, "v1").hashes[0]) for e in events]
    columns = list(ERRORS_COLUMNS)
    at = {name: columns.index(name)
          for name in ("project_id", "event_id", "timestamp", "received")}
    batch: list[list[Any]] = []
    for n in range(total):
        row = list(base[n % len(base)])
        shift = timedelta(seconds=60 * (n // len(base)))
        row[at["project_id"]] = project_id
        row[at["event_id"]] = uuid.uuid4().hex
        row[at["timestamp"]] += shift
        row[at["received"]] += shift
        batch.append(row)
        if len(batch) == INSERT_ROWS or n == total - 1:
            await ch.insert("errors", ERRORS_COLUMNS, batch)
            batch = []


async def seed_postgres(conn: psycopg.AsyncConnection[Any], ch: ClickHouse,
                        project_id: int, events: list[NormalizedEvent], split: int) -> int:
    """The v1 projection and the ledger, as the processor would have written them; with
    ``split`` > 1 each v1 issue is seeded as that many issues (as if unmerged by hand), so
    the regroup has to merge them back and move most events."""
    issue_of: dict[tuple[str, int], int] = {}
    for event in events:
        hashes = compute_grouping(event.data, "v1").hashes
        if (hashes[0], 0) in issue_of:
            continue
        for part in range(split):
            cur = await conn.execute(
                "INSERT INTO issues (project_id, title, first_seen, last_seen,"
                " grouping_config) VALUES (%s, %s, now(), now(), 'v1') RETURNING id",
                (project_id, event.title))
            row = await cur.fetchone()
            assert row is not None
            issue_of[(hashes[0], part)] = int(row["id"])
        for h in hashes:
            await conn.execute("INSERT INTO grouphashes VALUES (%s, %s, %s)"
                               " ON CONFLICT DO NOTHING", (project_id, h, issue_of[(hashes[0], 0)]))
    rows = await ch.query(
        "SELECT event_id, received, timestamp, primary_hash, user_key, environment, release"
        " FROM errors WHERE project_id = %(p)s", {"p": project_id})
    async with conn.cursor() as cur, cur.copy(
        "COPY processed_events (project_id, event_id, issue_id, timestamp, primary_hash,"
        " user_key, environment, release, received) FROM STDIN") as copy:
        for r in rows:
            part = int(r["event_id"][:8], 16) % split
            await copy.write_row((project_id, r["event_id"], issue_of[(r["primary_hash"], part)],
                                  r["timestamp"], r["primary_hash"], r["user_key"] or None,
                                  r["environment"] or None, r["release"] or None,
                                  r["received"]))
    await recount_issues(conn, project_id, sorted(set(issue_of.values())))
    return len(rows)


async def bench(total: int, distinct: int, workers: int, page_size: int,
                memory_mb: int, split: int) -> None:
    # Seeding writes gigabytes as fast as it can, and the background merges that follow
    # need more than the all-in-one's 400 MB engine budget (the regroup itself does not).
    chdb.ENGINE_SETTINGS["max_server_memory_usage"] = memory_mb * 1_000_000
    chdb.SESSION_SETTINGS["max_memory_usage"] = memory_mb * 1_000_000
    with tempfile.TemporaryDirectory(prefix="bench-regroup-") as tmp:
        server = await asyncio.to_thread(start_postgres, Path(tmp) / "postgres")
        try:
            await migrate_postgres(server.dsn())
            ch = await ChdbClickHouse.open(Path(tmp) / "clickhouse", "bench")
            await migrate_clickhouse(ch)
            conn = await psycopg.AsyncConnection.connect(
                server.dsn(), autocommit=True, row_factory=dict_row)
            async with conn:
                await run(conn, ch, total, distinct, workers, page_size, split)
            await ch.close()
        finally:
            await asyncio.to_thread(server.stop)


async def run(conn: psycopg.AsyncConnection[Any], ch: ClickHouse, total: int,
              distinct: int, workers: int, page_size: int, split: int) -> None:
    cur = await conn.execute("INSERT INTO organizations (slug, name) VALUES ('b', 'B')"
                             " RETURNING id")
    org = await cur.fetchone()
    assert org is not None
    cur = await conn.execute(
        "INSERT INTO projects (organization_id, slug, name, grouping_config)"
        " VALUES (%s, 'p', 'P', 'v1') RETURNING id", (org["id"],))
    project = await cur.fetchone()
    assert project is not None
    project_id = int(project["id"])
    started = time.monotonic()
    events = templates(distinct)
    size = sum(len(json.dumps(e.data)) for e in events) / len(events)
    await seed_clickhouse(ch, project_id, events, total)
    counted = await seed_postgres(conn, ch, project_id, events, split)
    print(f"seeded {counted:,} events (~{size / 1024:.1f} KB of data each) in"
          f" {time.monotonic() - started:.0f}s")
    options = RegroupOptions(project_id, GroupingSpec("v2"), True, page_size=page_size,
                             workers=workers)
    report = await regroup(conn, ch, options)
    print("\n".join(report.lines()))
    print(f"rate: {report.events_read / report.seconds:,.0f} events/s")
    cur = await conn.execute("SELECT sum(times_seen) AS n FROM issues WHERE project_id = %s",
                             (project_id,))
    check = await cur.fetchone()
    assert check is not None and int(check["n"]) == counted, "events lost or double counted"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--templates", type=int, default=2_000)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--page-size", type=int, default=5_000)
    parser.add_argument("--engine-memory-mb", type=int, default=2_000,
                        help="chDB's memory cap for this run")
    parser.add_argument("--old-split", type=int, default=1,
                        help="seed each v1 issue as this many issues (most events move)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    asyncio.run(bench(args.events, args.templates, args.workers, args.page_size,
                      args.engine_memory_mb, max(1, args.old_split)))


if __name__ == "__main__":
    main()
