"""Putting accepted items on the bus: charge the rate limits, store attachment bytes,
publish each item durably. Shared by every ingestion path (HTTP endpoints and UDP)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Any

from faultline_core.blobstore.base import BlobStoreError, blob_key
from faultline_core.bus.base import BusUnavailable
from faultline_core.messages import IngestMessage
from faultline_core.storage.postgres.tenancy import ProjectKey
from faultline_relay.context import RelayContext
from faultline_relay.errors import unavailable
from faultline_relay.ingest import IngestItem, IngestLimits
from faultline_relay.metrics import ITEMS, PUBLISH_SECONDS, item_type_label

log = logging.getLogger(__name__)

BUS_RETRY_AFTER_S = 5
# The adapter enforces BusSettings.publish_timeout_s itself; this outer bound only
# catches an adapter that hangs, so a client never waits forever.
_PUBLISH_TIMEOUT_MARGIN_S = 1.0


def ingest_limits(relay: RelayContext) -> IngestLimits:
    return IngestLimits(relay.settings.max_event_bytes, relay.settings.max_attachment_bytes)


async def publish_items(
    relay: RelayContext, key: ProjectKey, items: list[IngestItem], ip: str | None
) -> None:
    """Charge the rate limits, store attachment bytes, then put every item on the bus,
    durably.

    Raises the 429 or 503 :class:`RelayError` a caller renders (HTTP) or counts (UDP).
    """
    events = sum(1 for item in items if item.is_event)
    if events:
        relay.charge_events(key, events)
    # Blobs first: once an attachment's reference is on the bus its bytes must exist.
    references = [await _store_blob(relay, key, item) for item in items]
    received_at = time.time()
    partition_key = str(key.project_id).encode()
    timeout_s = relay.bus.publish_timeout_s + _PUBLISH_TIMEOUT_MARGIN_S
    for item, meta in zip(items, references, strict=True):
        message = IngestMessage(
            key.project_id, item.event_id, item.item_type, received_at, ip, item.payload,
            item.item_id, meta,
        )
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout_s):
                await relay.producer.publish(
                    relay.bus.events_topic, partition_key, message.encode()
                )
        except (BusUnavailable, TimeoutError) as exc:
            relay.record_publish(succeeded=False)
            log.warning("event bus unavailable: %s", exc or type(exc).__name__)
            raise unavailable("event bus unavailable, retry later", BUS_RETRY_AFTER_S) from exc
        relay.record_publish(succeeded=True)
        PUBLISH_SECONDS.labels(relay.bus.backend).observe(time.perf_counter() - started)
        ITEMS.labels(item_type_label(item.item_type), "published").inc()


async def _store_blob(
    relay: RelayContext, key: ProjectKey, item: IngestItem
) -> Mapping[str, Any]:
    """Put an attachment's bytes in the blob store; its message meta gains the blob key."""
    if item.blob is None:
        return item.meta
    blob = blob_key(key.project_id, item.event_id, item.item_id)
    try:
        await relay.blobs.put(blob, item.blob)
    except BlobStoreError as exc:
        log.warning("blob store unavailable: %s", exc)
        raise unavailable("attachment storage unavailable, retry later",
                          BUS_RETRY_AFTER_S) from exc
    return {**item.meta, "blob_key": blob}
