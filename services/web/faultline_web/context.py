"""The resources the web gateway's handlers share, stored on ``app.state.web``."""

from __future__ import annotations

from dataclasses import dataclass, field

from faultline_core.blobstore.base import BlobStore
from faultline_core.blobstore.factory import build_blob_store
from faultline_core.settings import AppSettings, BlobStoreSettings, PostgresSettings, WebSettings
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_web.query_client import QueryClient
from faultline_web.sessions import SessionSigner


@dataclass
class WebContext:
    """What the routers need. The all-in-one may build one around its own pool."""

    settings: WebSettings
    app: AppSettings
    pool: Pool
    query: QueryClient
    blobs: BlobStore
    """Attachment bytes, for downloads."""
    owns_pool: bool = False
    signer: SessionSigner = field(init=False)

    def __post_init__(self) -> None:
        self.signer = SessionSigner(self.app.secret_key.get_secret_value())

    @classmethod
    async def open(
        cls,
        settings: WebSettings,
        app_settings: AppSettings,
        pg: PostgresSettings,
        blob_settings: BlobStoreSettings,
    ) -> WebContext:
        """Open a PostgreSQL pool and a channel to the query service."""
        pool = await open_pool(pg, name="faultline-web")
        query = QueryClient.connect(settings.query_address)
        blobs = build_blob_store(blob_settings, app_settings)
        return cls(settings, app_settings, pool, query, blobs, owns_pool=True)

    async def close(self) -> None:
        """Close the channel, and the pool when this context opened it."""
        await self.query.close()
        if self.owns_pool:
            await self.pool.close()
