"""``transaction`` items: accepted and counted (hourly ``accepted`` outcomes); no tracing
storage yet."""

from __future__ import annotations

from collections.abc import Sequence

from faultline_core.envelope import EnvelopeError, parse_json_object
from faultline_core.messages import IngestMessage
from faultline_core.storage.postgres.outcomes import OutcomeKey, add_outcomes, hour_bucket
from faultline_processor.items.base import InvalidItem, ItemSinks, PreparedItem
from faultline_processor.items.claims import claim_new


class TransactionHandler:
    """Counts each transaction once, in the hour the relay received it."""

    item_types = frozenset({"transaction"})

    def parse(self, ingest: IngestMessage) -> object:
        try:
            parse_json_object(ingest.payload, "transaction")
        except EnvelopeError as exc:
            raise InvalidItem(str(exc)) from exc
        return None

    async def write(self, sinks: ItemSinks, items: Sequence[PreparedItem]) -> None:
        async with sinks.pool.connection() as conn, conn.transaction():
            fresh = await claim_new(conn, items)
            await add_outcomes(conn, (
                (OutcomeKey(item.project_id, hour_bucket(item.ingest.received_at),
                            "accepted", "transaction"), 1)
                for item in fresh
            ))
