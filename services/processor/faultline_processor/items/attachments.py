"""``attachment`` items: the metadata row of a file whose bytes the relay already stored.

The relay puts the bytes in the blob store before it publishes the item, so the message
carries only a reference (``meta.blob_key``) and a few header fields. The handler checks
that the reference is one the relay could have built for this very project and event
(a message naming another tenant's blob must never become a downloadable row), cleans the
display fields, and writes one ``attachments`` row per item plus the ``accepted``
outcome. Like Sentry, the ``attachment`` outcome category counts bytes, not files.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from faultline_core.blobstore.base import is_valid_key
from faultline_core.messages import IngestMessage
from faultline_core.storage.postgres.outcomes import OutcomeKey, add_outcomes, hour_bucket
from faultline_processor.items.base import InvalidItem, ItemSinks, PreparedItem
from faultline_processor.items.claims import claim_new

DEFAULT_NAME = "attachment"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
DEFAULT_ATTACHMENT_TYPE = "event.attachment"
MAX_NAME_CHARS = 200
# The largest size a BIGINT column holds; anything above is a corrupt message.
_MAX_SIZE = 2**63 - 1
_HEX32 = re.compile(r"[0-9a-f]{32}")
_TOKEN = r"[A-Za-z0-9!#$&^_.+-]{1,127}"
_CONTENT_TYPE = re.compile(rf"{_TOKEN}/{_TOKEN}")
# Sentry's types look like ``event.attachment``, ``event.minidump``, ``unreal.logs``.
_ATTACHMENT_TYPE = re.compile(r"[a-z][a-z0-9_]{0,31}(\.[a-z0-9_]{1,32}){0,3}")


@dataclass(frozen=True)
class Attachment:
    """One attachment row, ready to insert."""

    event_id: str
    name: str
    content_type: str
    attachment_type: str
    size: int
    blob_key: str


def clean_name(value: object) -> str:
    """A displayable file name: no control or format characters, bounded; else the default."""
    if not isinstance(value, str):
        return DEFAULT_NAME
    kept = "".join(ch for ch in value if unicodedata.category(ch)[0] != "C")
    kept = kept.strip()[:MAX_NAME_CHARS]
    return kept or DEFAULT_NAME


def clean_content_type(value: object) -> str:
    """``type/subtype`` in lower case (parameters dropped), or ``application/octet-stream``."""
    if not isinstance(value, str):
        return DEFAULT_CONTENT_TYPE
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type if _CONTENT_TYPE.fullmatch(media_type) else DEFAULT_CONTENT_TYPE


def clean_attachment_type(value: object) -> str:
    if isinstance(value, str) and _ATTACHMENT_TYPE.fullmatch(value):
        return value
    return DEFAULT_ATTACHMENT_TYPE


def _blob_key(meta: Mapping[str, Any], ingest: IngestMessage) -> str:
    key = meta.get("blob_key")
    if not isinstance(key, str) or not is_valid_key(key):
        raise InvalidItem("attachment has no valid blob_key")
    project, event_id, _ = key.split("/")
    # Only the relay's own key shape for this project and event is acceptable: anything
    # else could point a row (and so a download) at another tenant's bytes.
    if project != str(ingest.project_id) or event_id != ingest.event_id:
        raise InvalidItem("attachment blob_key does not belong to its project and event")
    return key


def _size(meta: Mapping[str, Any]) -> int:
    size = meta.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size <= _MAX_SIZE:
        raise InvalidItem("attachment size must be a non-negative integer")
    return size


def parse_attachment(ingest: IngestMessage) -> Attachment:
    """Validate an attachment message's ``meta``; :class:`InvalidItem` when unusable."""
    if not _HEX32.fullmatch(ingest.event_id):
        raise InvalidItem(f"attachment event id {ingest.event_id!r} is not 32 hex")
    meta = ingest.meta
    return Attachment(
        event_id=ingest.event_id,
        name=clean_name(meta.get("filename")),
        content_type=clean_content_type(meta.get("content_type")),
        attachment_type=clean_attachment_type(meta.get("attachment_type")),
        size=_size(meta),
        blob_key=_blob_key(meta, ingest),
    )


class AttachmentHandler:
    """Records attachment metadata (the bytes are already in the blob store)."""

    item_types = frozenset({"attachment"})

    def parse(self, ingest: IngestMessage) -> object:
        return parse_attachment(ingest)

    async def write(self, sinks: ItemSinks, items: Sequence[PreparedItem]) -> None:
        async with sinks.pool.connection() as conn, conn.transaction():
            fresh = await claim_new(conn, items)
            if not fresh:
                return
            rows = [(item, _parsed(item)) for item in fresh]
            # ON CONFLICT: a row that survived a lost claim (never expected) stays as is.
            await conn.execute(
                "INSERT INTO attachments (project_id, attachment_id, event_id, name,"
                " content_type, attachment_type, size, blob_key)"
                " SELECT * FROM unnest(%s::bigint[], %s::uuid[], %s::uuid[], %s::text[],"
                " %s::text[], %s::text[], %s::bigint[], %s::text[])"
                " ON CONFLICT (project_id, attachment_id) DO NOTHING",
                (
                    [item.project_id for item, _ in rows], [item.item_id for item, _ in rows],
                    [a.event_id for _, a in rows], [a.name for _, a in rows],
                    [a.content_type for _, a in rows], [a.attachment_type for _, a in rows],
                    [a.size for _, a in rows], [a.blob_key for _, a in rows],
                ),
            )
            await add_outcomes(conn, (
                (OutcomeKey(item.project_id, hour_bucket(item.ingest.received_at),
                            "accepted", "attachment"), attachment.size)
                for item, attachment in rows
            ))


def _parsed(item: PreparedItem) -> Attachment:
    parsed = item.parsed
    if not isinstance(parsed, Attachment):
        raise TypeError(f"attachment item {item.item_id} was not parsed by its handler")
    return parsed
