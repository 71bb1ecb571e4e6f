"""Build the configured blob store."""

from __future__ import annotations

from faultline_core.blobstore.base import BlobStore
from faultline_core.blobstore.local import LocalDirectoryBlobStore
from faultline_core.settings import AppSettings, BlobStoreSettings


def build_blob_store(settings: BlobStoreSettings, app: AppSettings) -> BlobStore:
    """The blob store ``settings`` name (today only the local directory)."""
    return LocalDirectoryBlobStore(settings.directory(app))
