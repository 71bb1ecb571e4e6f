"""``log`` items: structured log lines, stored in ClickHouse's ``logs`` table and counted.

Write order: the rows go to ClickHouse first, then one PostgreSQL transaction claims the
items and adds their outcomes. A crash between the two redelivers the batch: the rows are
written again with the same sorting keys (they collapse, see
:mod:`faultline_core.storage.clickhouse.logs_table`) and the claim makes sure the
outcomes are counted once.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from faultline_core.messages import IngestMessage
from faultline_core.storage.clickhouse.logs_table import (
    LOGS_COLUMNS,
    InvalidLogPayload,
    LogBatch,
    parse_log_item,
)
from faultline_core.storage.postgres.outcomes import OutcomeKey, add_outcomes, hour_bucket
from faultline_processor.items.base import InvalidItem, ItemSinks, PreparedItem
from faultline_processor.items.claims import claim_new

LOG_CATEGORY = "log_item"
"""Sentry's data category for log lines (one per line, not per envelope item)."""
INVALID_REASON = "invalid_log"


def _batch(item: PreparedItem) -> LogBatch:
    if not isinstance(item.parsed, LogBatch):  # only this handler's parse made it
        raise TypeError(f"log item {item.item_id} was not parsed by the log handler")
    return item.parsed


def _outcomes(items: Sequence[PreparedItem]) -> Iterator[tuple[OutcomeKey, int]]:
    for item in items:
        batch = _batch(item)
        bucket = hour_bucket(item.ingest.received_at)
        yield OutcomeKey(item.project_id, bucket, "accepted", LOG_CATEGORY), len(batch.rows)
        yield (OutcomeKey(item.project_id, bucket, "invalid", LOG_CATEGORY, INVALID_REASON),
               batch.dropped)


class LogHandler:
    """Parses log batches into ``logs`` rows and stores them idempotently."""

    item_types = frozenset({"log"})

    def parse(self, ingest: IngestMessage) -> object:
        try:
            return parse_log_item(
                ingest.payload, project_id=ingest.project_id, item_id=ingest.item_id,
                received_at=ingest.received_at,
            )
        except InvalidLogPayload as exc:
            raise InvalidItem(str(exc)) from exc

    async def write(self, sinks: ItemSinks, items: Sequence[PreparedItem]) -> None:
        # Every item's rows are (re)written, claimed or not: after a crash between the
        # insert and the commit, ClickHouse may lack rows that PostgreSQL never claimed,
        # and rewriting rows that are already there is harmless.
        rows = [row for item in items for row in _batch(item).rows]
        await sinks.clickhouse.insert("logs", LOGS_COLUMNS, rows)
        async with sinks.pool.connection() as conn, conn.transaction():
            fresh = await claim_new(conn, items)
            await add_outcomes(conn, _outcomes(fresh))
