"""Non-event items through the real processor: dispatch, idempotency and dead letters.

Transactions are the simplest item (counted as hourly ``accepted`` outcomes), so they
stand in for every handler here; each handler's own semantics are tested next to it.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from faultline_core.messages import IngestMessage
from faultline_core.storage.postgres.outcomes import hour_bucket
from tests.unit.processor.conftest import Pipeline


def transaction_message(project_id: int, item_id: str, received_at: float,
                        payload: bytes | None = None) -> bytes:
    body = payload if payload is not None else json.dumps(
        {"type": "transaction", "transaction": "/checkout", "event_id": uuid.uuid4().hex}
    ).encode()
    return IngestMessage(
        project_id=project_id, event_id=item_id, item_type="transaction",
        received_at=received_at, client_ip=None, payload=body, item_id=item_id,
    ).encode()


async def accepted_transactions(pipeline: Pipeline) -> list[dict[str, Any]]:
    return await pipeline.rows(
        "SELECT bucket, quantity FROM outcomes WHERE project_id = %s"
        " AND outcome = 'accepted' AND category = 'transaction' ORDER BY bucket",
        pipeline.project_id,
    )


async def test_transactions_are_counted_once_per_item_even_when_redelivered(
    pipeline: Pipeline,
) -> None:
    now = time.time()
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    for item_id in (first, second, first):  # the third is a redelivery of the first
        await pipeline.publish_raw(transaction_message(pipeline.project_id, item_id, now))
    await pipeline.process_all()
    # A second consumer group replays the whole topic, as a crash before the commit would.
    await pipeline.process_all(pipeline.settings(consumer_group="replay"))

    assert await accepted_transactions(pipeline) == [
        {"bucket": hour_bucket(now), "quantity": 2}
    ]
    assert await pipeline.dead_letters() == []


async def test_transactions_land_in_the_hour_they_were_received(pipeline: Pipeline) -> None:
    now = time.time()
    await pipeline.publish_raw(transaction_message(pipeline.project_id, uuid.uuid4().hex, now))
    await pipeline.publish_raw(
        transaction_message(pipeline.project_id, uuid.uuid4().hex, now - 7200)
    )
    await pipeline.process_all()

    rows = await accepted_transactions(pipeline)
    assert [(row["bucket"], row["quantity"]) for row in rows] == [
        (hour_bucket(now - 7200), 1), (hour_bucket(now), 1)
    ]


async def test_bad_items_are_dead_lettered_and_do_not_stop_the_rest(pipeline: Pipeline) -> None:
    now = time.time()
    await pipeline.publish_raw(
        transaction_message(pipeline.project_id, uuid.uuid4().hex, now, b"[not an object]")
    )
    await pipeline.publish_raw(transaction_message(pipeline.project_id, "not-hex", now))
    await pipeline.publish_raw(transaction_message(pipeline.project_id, uuid.uuid4().hex, now))
    await pipeline.process_all()

    reasons = sorted(letter["reason"] for letter in await pipeline.dead_letters())
    assert reasons == ["invalid_header", "invalid_item"]
    assert [row["quantity"] for row in await accepted_transactions(pipeline)] == [1]
