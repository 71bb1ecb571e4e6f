"""The blob-store port: put, get and delete opaque bytes under a key.

Keys are built by :func:`blob_key` from ids the relay controls, never from client input,
so an adapter may map them onto paths directly.
"""

from __future__ import annotations

import re
from typing import Protocol

_KEY_PART = re.compile(r"[0-9a-f]{1,64}|[0-9]{1,20}")


class BlobStoreError(OSError):
    """The store could not complete an operation (disk full, permissions, network)."""


class BlobStore(Protocol):
    """Durable storage of attachment bytes. Every method is safe to call concurrently."""

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` durably (on return it survives a crash)."""
        ...

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or ``None`` if there are none."""
        ...

    async def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        ...


def blob_key(project_id: int, event_id: str, attachment_id: str) -> str:
    """The key of one attachment: ``{project}/{event_id}/{attachment_id}``."""
    parts = (str(project_id), event_id, attachment_id)
    if not all(_KEY_PART.fullmatch(part) for part in parts):
        raise ValueError(f"unsafe blob key parts: {parts!r}")
    return "/".join(parts)


def is_valid_key(key: str) -> bool:
    """Whether ``key`` has the shape :func:`blob_key` builds (and so is path-safe)."""
    parts = key.split("/")
    return len(parts) == 3 and all(_KEY_PART.fullmatch(part) for part in parts)
