"""The attachments of the event shown on the issue page: name, type, size, download link.

Links point at the JSON API's download endpoint, which takes the session cookie too; they
are built from ids and slugs only, never from attachment names (client input).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from faultline_core.storage.postgres.tenancy import Project
from faultline_web.attachments_store import StoredAttachment, event_attachments
from faultline_web.context import WebContext

# The page lists a few; the API lists them all.
MAX_SHOWN = 50


@dataclass(frozen=True)
class AttachmentRow:
    name: str
    type: str
    content_type: str
    size: str
    url: str


def human_size(size: int) -> str:
    """``512 B``, ``1.5 KiB``, ``20.0 MiB``..."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"  # unreachable: the loop returns at GiB


def download_url(project: Project, attachment: StoredAttachment) -> str:
    org, slug = quote(project.organization_slug, safe=""), quote(project.slug, safe="")
    return (f"/api/0/projects/{org}/{slug}/events/{attachment.event_id}/attachments/"
            f"{attachment.attachment_id}/?download=1")


async def event_attachment_rows(
    web: WebContext, project: Project, event_id: str | None
) -> list[AttachmentRow]:
    """The rows for the shown event (none without an event)."""
    if not event_id:
        return []
    found = await event_attachments(web.pool, project.id, event_id.replace("-", ""), MAX_SHOWN)
    return [
        AttachmentRow(a.name, a.attachment_type, a.content_type, human_size(a.size),
                      download_url(project, a))
        for a in found
    ]
