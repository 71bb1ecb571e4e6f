"""PostgreSQL reads of attachment metadata (the ``attachments`` table).

The processor writes one row per attachment item; the bytes are in the blob store under
``blob_key``. Every query is scoped by project id, so a caller that checked access to the
project cannot reach another tenant's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faultline_core.storage.postgres.pool import Pool

# An event rarely has more than a handful; the cap keeps one response bounded.
MAX_PER_EVENT = 1000
_COLUMNS = (
    "attachment_id::text AS attachment_id, event_id::text AS event_id, name, content_type,"
    " attachment_type, size, blob_key, created_at"
)


@dataclass(frozen=True)
class StoredAttachment:
    attachment_id: str
    """32 lowercase hex."""
    event_id: str
    """32 lowercase hex."""
    name: str
    content_type: str
    attachment_type: str
    size: int
    blob_key: str
    created_at: datetime


def _attachment(row: dict[str, Any]) -> StoredAttachment:
    return StoredAttachment(
        attachment_id=str(row["attachment_id"]).replace("-", ""),
        event_id=str(row["event_id"]).replace("-", ""),
        name=row["name"],
        content_type=row["content_type"],
        attachment_type=row["attachment_type"],
        size=int(row["size"]),
        blob_key=row["blob_key"],
        created_at=row["created_at"],
    )


async def event_attachments(
    pool: Pool, project_id: int, event_id: str, limit: int = MAX_PER_EVENT
) -> list[StoredAttachment]:
    """The event's attachments in the order they arrived. ``event_id``: 32 hex."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_COLUMNS} FROM attachments WHERE project_id = %s AND event_id = %s"
            " ORDER BY created_at, attachment_id LIMIT %s",
            (project_id, event_id, limit),
        )
        return [_attachment(row) for row in await cur.fetchall()]


async def get_attachment(
    pool: Pool, project_id: int, event_id: str, attachment_id: str
) -> StoredAttachment | None:
    """One attachment of the project's event, or ``None``. Ids: 32 hex."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            f"SELECT {_COLUMNS} FROM attachments"
            " WHERE project_id = %s AND event_id = %s AND attachment_id = %s",
            (project_id, event_id, attachment_id),
        )
        row = await cur.fetchone()
    return _attachment(row) if row is not None else None
