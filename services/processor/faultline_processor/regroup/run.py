"""One regroup run: build the shadow projection online, catch up, then swap (or report).

1. **Build**: every live event of the project (received since ``since``) is read from
   ClickHouse in pages, grouped under the chosen config and the project's rules, and
   staged (``COPY``) with its key; keys become shadow issues in receive order.
2. **Catch up**: events counted meanwhile are found in the ledger (every counted event of
   the project not staged yet), read back by id, grouped and staged; repeated while the
   delta is large.
3. **Swap**: in one transaction holding the project's exclusive regroup lock (the
   processor's write transactions hold it shared), the last delta is staged, the plan is
   made from the current ledger and issues, and the projection replaced. Nothing is
   counted twice or lost: the ledger is the only record of what is counted, it is
   complete under the lock, and every counter is recounted from it.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from psycopg import AsyncConnection

from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.postgres.project_locks import (
    lock_project_exclusive,
    try_lock_regroup_run,
    unlock_regroup_run,
)
from faultline_processor.regroup import staging
from faultline_processor.regroup.grouper import Grouper, GroupingSpec
from faultline_processor.regroup.plan import Plan, make_plan
from faultline_processor.regroup.shadow import Shadow
from faultline_processor.regroup.source import SourceEvent, plan_pages, read_by_ids, read_page
from faultline_processor.regroup.swap import allocate_ids, apply_plan

log = logging.getLogger(__name__)

CATCH_UP_ROUNDS = 5
SMALL_DELTA = 1_000


class RegroupBusy(RuntimeError):
    """Another regroup of the same project holds its run lock."""


@dataclass(frozen=True)
class RegroupOptions:
    project_id: int
    spec: GroupingSpec
    set_config: bool
    """Record ``spec.config`` as the project's grouping config on swap."""
    since: datetime | None = None
    dry_run: bool = False
    page_size: int = 5_000
    workers: int = 0


@dataclass(frozen=True)
class RegroupReport:
    run_id: str
    events_read: int
    issues_before: int
    """Old issues with regrouped events."""
    issues_after: int
    new_ids: int
    retired: int
    splits: int
    merges: int
    moved_events: int
    swapped: bool
    seconds: float
    locked_seconds: float
    """How long the project's ingestion was held up by the swap."""

    def lines(self) -> list[str]:
        verb = (f"swapped in (ingestion paused {self.locked_seconds:.1f}s)" if self.swapped
                else "dry run, nothing changed")
        return [
            f"regroup {self.run_id}: {verb} after {self.seconds:.1f}s",
            f"events regrouped: {self.events_read}",
            f"issues: {self.issues_before} before -> {self.issues_after} after"
            f" ({self.new_ids} new ids, {self.retired} retired and redirected)",
            f"splits: {self.splits} old issues split; merges: {self.merges} new issues"
            " receive several old ones",
            f"events moving to another issue id: {self.moved_events}",
        ]


class _Run:
    def __init__(self, conn: AsyncConnection[Any], clickhouse: ClickHouse,
                 options: RegroupOptions, grouper: Grouper) -> None:
        self.conn, self.clickhouse, self.options, self.grouper = conn, clickhouse, options, grouper
        self.shadow = Shadow()
        self.read = 0

    async def stage(self, events: Sequence[SourceEvent]) -> None:
        grouped = await self.grouper.group([e.data for e in events])
        rows = [
            (e.event_id, self.shadow.observe(e, g) if g is not None else None, e.old_hash)
            for e, g in zip(events, grouped, strict=True)
        ]
        self.read += await staging.copy_events(self.conn, rows)

    async def build(self) -> None:
        o = self.options
        for page in await plan_pages(self.clickhouse, o.project_id, o.since, o.page_size):
            await self.stage(await read_page(self.clickhouse, o.project_id, o.since, page))
        await self.publish_keys()

    async def catch_up(self) -> int:
        """Stage the counted events not staged yet; returns how many there were."""
        missing = await staging.delta(self.conn, self.options.project_id, self.options.since)
        found: set[str] = set()
        async for events in read_by_ids(self.clickhouse, self.options.project_id, missing):
            found.update(e.event_id for e in events)
            await self.stage(events)
        # Counted but not readable (deleted, or not stored): they follow their old issue.
        await staging.copy_events(self.conn, [(e, None, "") for e in missing if e not in found])
        await self.publish_keys()
        return len(missing)

    async def publish_keys(self) -> None:
        self.shadow.assign()
        await staging.replace_keys(self.conn, self.shadow.key_issues())

    async def plan(self) -> Plan:
        # Locked in id order, as every writer of issues locks them (not for a dry run).
        lock = "" if self.options.dry_run else " FOR UPDATE"
        cur = await self.conn.execute(
            f"SELECT id FROM issues WHERE project_id = %s ORDER BY id{lock}",
            (self.options.project_id,))
        live = {int(row["id"]) for row in await cur.fetchall()}
        return make_plan(await staging.moves(self.conn, self.options.project_id), live)


async def regroup(
    conn: AsyncConnection[Any], clickhouse: ClickHouse, options: RegroupOptions
) -> RegroupReport:
    """Regroup one project (``conn``: a dedicated autocommit connection with dict rows)."""
    started = time.monotonic()
    run_id = uuid.uuid4().hex[:12]
    if not await try_lock_regroup_run(conn, options.project_id):
        raise RegroupBusy(f"another regroup of project {options.project_id} is running")
    grouper = Grouper(options.spec, options.workers)
    try:
        await staging.create_tables(conn)
        run = _Run(conn, clickhouse, options, grouper)
        await run.build()
        log.info("regroup %s: built from %d events in %.1fs", run_id, run.read,
                 time.monotonic() - started)
        for _ in range(CATCH_UP_ROUNDS):
            if await run.catch_up() <= SMALL_DELTA:
                break
        locked = time.monotonic()
        async with conn.transaction():
            if not options.dry_run:
                await lock_project_exclusive(conn, options.project_id)
                await run.catch_up()
            plan = await run.plan()
            if not options.dry_run:
                final = await allocate_ids(conn, plan)
                await apply_plan(conn, options.project_id, plan, run.shadow.issues, final,
                                 options.spec.config, run_id)
                if options.set_config:
                    await conn.execute("UPDATE projects SET grouping_config = %s WHERE id = %s",
                                       (options.spec.config, options.project_id))
        locked = time.monotonic() - locked
    finally:
        grouper.close()
        await _drop_tables(conn)
        await unlock_regroup_run(conn, options.project_id)
    return RegroupReport(
        run_id=run_id, events_read=run.read, issues_before=len(plan.target),
        issues_after=len(plan.totals), new_ids=len(plan.fresh), retired=len(plan.retired),
        splits=plan.splits, merges=plan.merges, moved_events=plan.moved_events,
        swapped=not options.dry_run, seconds=time.monotonic() - started,
        locked_seconds=locked if not options.dry_run else 0.0,
    )


async def _drop_tables(conn: AsyncConnection[Any]) -> None:
    if not conn.closed:
        await conn.execute("DROP TABLE IF EXISTS rg_events, rg_keys, rg_final, rg_target")
