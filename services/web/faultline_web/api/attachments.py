"""Sentry-compatible event attachment endpoints: list an event's attachments, read one's
metadata, and download its bytes (``?download``, as in Sentry).

An attachment's item: ``{id, event_id, type, name, mimetype, size, dateCreated, headers,
sha1}`` as Sentry's EventAttachment serializer shapes it (``sha1`` is null: no checksum
is stored). Attachment bytes are client input: a download is always ``Content-Disposition:
attachment`` with ``nosniff`` and a sandboxing CSP, and any type a browser could execute
(HTML, SVG, JavaScript...) is served as ``application/octet-stream``.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from faultline_core.blobstore.base import BlobStoreError
from faultline_web.attachments_store import StoredAttachment, event_attachments, get_attachment
from faultline_web.deps import NOT_FOUND, ProjectDep, Web, parse_uuid_id
from faultline_web.serializers import iso8601

router = APIRouter(prefix="/api/0", tags=["attachments"])

OCTET_STREAM = "application/octet-stream"
# Types a browser shows without running anything; everything else downloads as bytes.
SAFE_CONTENT_TYPES = frozenset({
    "application/octet-stream", "application/x-dmp", "application/json", "application/zip",
    "application/gzip", "application/x-gzip", "application/x-tar", "application/x-ndjson",
    "text/plain", "text/csv", "image/png", "image/jpeg", "image/gif", "image/webp",
    "image/bmp",
})


def attachment_json(attachment: StoredAttachment) -> dict[str, Any]:
    """One attachment in Sentry's EventAttachment shape."""
    return {
        "id": attachment.attachment_id,
        "event_id": attachment.event_id,
        "type": attachment.attachment_type,
        "name": attachment.name,
        "mimetype": attachment.content_type,
        "size": attachment.size,
        "dateCreated": iso8601(attachment.created_at),
        "headers": {"Content-Type": attachment.content_type},
        "sha1": None,
    }


def download_content_type(content_type: str) -> str:
    """The type to send: the stored one when inert, else ``application/octet-stream``."""
    return content_type if content_type in SAFE_CONTENT_TYPES else OCTET_STREAM


def content_disposition(name: str) -> str:
    """``attachment`` with an ASCII fallback name and the exact name (RFC 6266/5987)."""
    fallback = "".join(
        ch if " " <= ch <= "~" and ch not in '"\\;' else "_" for ch in name
    ).strip() or "attachment"
    exact = quote(name, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"


@router.get("/projects/{org_slug}/{project_slug}/events/{event_id}/attachments/")
async def list_attachments(event_id: str, project: ProjectDep, web: Web) -> list[dict[str, Any]]:
    """The event's attachments, oldest first (empty when it has none)."""
    found = await event_attachments(web.pool, project.id, parse_uuid_id(event_id))
    return [attachment_json(attachment) for attachment in found]


@router.get("/projects/{org_slug}/{project_slug}/events/{event_id}/attachments/{attachment_id}/")
async def attachment_detail(
    request: Request, event_id: str, attachment_id: str, project: ProjectDep, web: Web
) -> Response:
    """One attachment's metadata, or with ``?download`` its bytes."""
    attachment = await get_attachment(
        web.pool, project.id, parse_uuid_id(event_id), parse_uuid_id(attachment_id)
    )
    if attachment is None:
        raise HTTPException(404, NOT_FOUND)
    if "download" not in request.query_params:
        return JSONResponse(attachment_json(attachment))
    try:
        data = await web.blobs.get(attachment.blob_key)
    except BlobStoreError as exc:
        raise HTTPException(503, "attachment storage is unavailable") from exc
    if data is None:
        raise HTTPException(404, "The attachment's file is no longer stored")
    return Response(data, media_type=download_content_type(attachment.content_type), headers={
        "Content-Disposition": content_disposition(attachment.name),
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "sandbox; default-src 'none'",
        "Cache-Control": "private, no-store",
    })
