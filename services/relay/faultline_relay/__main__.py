"""``python -m faultline_relay``: the relay as a standalone HTTP service."""

from __future__ import annotations

import logging

import uvicorn
from pydantic_settings import BaseSettings, SettingsConfigDict

from faultline_core.blobstore.factory import build_blob_store
from faultline_core.http_protocol import BoundedHeadHttpToolsProtocol
from faultline_core.settings import (
    AppSettings,
    BlobStoreSettings,
    BusSettings,
    KafkaSettings,
    PostgresSettings,
    RelaySettings,
)
from faultline_relay.app import create_app


class RelayProxySettings(BaseSettings):
    """``FAULTLINE_RELAY_TRUST_FORWARDED_FOR=true`` only behind a proxy that sets the header."""

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_RELAY_")

    trust_forwarded_for: bool = False


def main() -> None:
    app_settings = AppSettings()
    logging.basicConfig(
        level=app_settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    relay = RelaySettings()
    proxy = RelayProxySettings()
    app = create_app(
        relay,
        BusSettings(),
        KafkaSettings(),
        PostgresSettings(),
        build_blob_store(BlobStoreSettings(), app_settings),
        trust_forwarded_for=proxy.trust_forwarded_for,
    )
    # The relay reads X-Forwarded-For itself, only when told to trust it; uvicorn's own
    # proxy handling would otherwise trust it from localhost. Per-request access logs
    # would cost more than the ingestion itself at the target rate; metrics cover it.
    uvicorn.run(
        app, host=relay.host, port=relay.port, proxy_headers=False, access_log=False,
        log_config=None, http=BoundedHeadHttpToolsProtocol,
    )


if __name__ == "__main__":
    main()
