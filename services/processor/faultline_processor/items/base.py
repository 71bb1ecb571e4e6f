"""The port every non-event item type implements: parse (pure), then write (I/O).

An envelope item other than an event (a transaction, a session, a log batch, a user
report, an attachment reference...) reaches the processor as an
:class:`~faultline_core.messages.IngestMessage`. Its handler parses it in the worker
thread, like events are normalised, and writes a batch of parsed items after the batch's
events. Writing must be idempotent: a batch is retried until it succeeds, and a crash
before the commit redelivers it. :func:`faultline_processor.items.claims.claim_new`
gives PostgreSQL writers a dedupe key; ClickHouse writers rely on ReplacingMergeTree.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from faultline_core.bus.base import BusMessage
from faultline_core.messages import IngestMessage
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.postgres.pool import Pool


class InvalidItem(ValueError):
    """The item cannot be stored; the message says why (it goes to the DLQ)."""


@dataclass(frozen=True)
class PreparedItem:
    """A parsed non-event item and the bus message it came from."""

    message: BusMessage
    ingest: IngestMessage
    parsed: object
    """Whatever the item's handler ``parse`` returned; only that handler reads it."""

    @property
    def project_id(self) -> int:
        return self.ingest.project_id

    @property
    def item_id(self) -> str:
        return self.ingest.item_id


@dataclass(frozen=True)
class ItemSinks:
    """The stores item handlers write to."""

    pool: Pool
    clickhouse: ClickHouse


class ItemHandler(Protocol):
    """Parses and writes the items of one or more envelope item types."""

    @property
    def item_types(self) -> frozenset[str]:
        """The bus item types this handler takes (``session``, ``sessions``...)."""
        ...

    def parse(self, ingest: IngestMessage) -> object:
        """Validate and convert the payload (pure; runs in a worker thread).

        Raises :class:`InvalidItem` when the item cannot be stored at all; a malformed
        optional field should be dropped instead, as the event normaliser does.
        """
        ...

    async def write(self, sinks: ItemSinks, items: Sequence[PreparedItem]) -> None:
        """Store a batch of this handler's items, idempotently; raise to have it retried."""
        ...
