"""Idempotency for item writers: claim each item id once, in the writer's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from faultline_core.storage.postgres.tenancy import Conn
from faultline_processor.items.base import PreparedItem

ItemT = TypeVar("ItemT", bound=PreparedItem)


async def claim_new(conn: Conn, items: Sequence[ItemT]) -> list[ItemT]:
    """The items not processed before, now marked processed (within ``conn``'s transaction).

    Call it inside the transaction that writes the items' rows, so a rollback releases the
    claims with the rows. An item repeated within ``items`` is returned once.
    """
    if not items:
        return []
    cur = await conn.execute(
        "INSERT INTO processed_items (project_id, item_id)"
        " SELECT * FROM unnest(%s::bigint[], %s::uuid[])"
        " ON CONFLICT DO NOTHING RETURNING project_id, item_id::text",
        ([item.project_id for item in items], [item.item_id for item in items]),
    )
    claimed = {(row["project_id"], row["item_id"].replace("-", "")) for row in await cur.fetchall()}
    fresh: list[ItemT] = []
    for item in items:
        key = (item.project_id, item.item_id)
        if key in claimed:
            claimed.discard(key)
            fresh.append(item)
    return fresh
