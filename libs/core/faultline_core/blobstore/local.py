"""The default blob store: one file per blob under a local directory.

Writes go to a temporary file that is fsynced and then renamed into place, so a reader
never sees a partial blob and a blob acknowledged by :meth:`put` survives a crash. In
distributed mode every relay and web replica must see the same directory (a shared
volume); otherwise use an object-store adapter.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from pathlib import Path

from faultline_core.blobstore.base import BlobStoreError, is_valid_key


class LocalDirectoryBlobStore:
    """A :class:`~faultline_core.blobstore.base.BlobStore` on a local directory."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _path(self, key: str) -> Path:
        if not is_valid_key(key):
            raise ValueError(f"invalid blob key {key!r}")
        return self._root / key

    async def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        try:
            await asyncio.to_thread(_write_durably, path, data)
        except OSError as exc:
            raise BlobStoreError(f"cannot store blob: {exc.strerror or exc}") from exc

    async def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BlobStoreError(f"cannot read blob: {exc.strerror or exc}") from exc

    async def delete(self, key: str) -> None:
        path = self._path(key)
        with contextlib.suppress(FileNotFoundError):
            await asyncio.to_thread(path.unlink)


def _write_durably(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(temporary, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
    # The rename is durable only once the directory entry is on disk too.
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
