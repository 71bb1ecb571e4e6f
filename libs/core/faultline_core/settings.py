"""Typed settings, one model per dependency.

Each service builds the models it needs in its ``main()`` and passes them down;
nothing reads the environment anywhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_SECRET = "faultline-dev-secret-change-me"


class AppSettings(BaseSettings):
    """Process-wide settings: the deployment environment and the data directory."""

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("data")
    secret_key: SecretStr = SecretStr(DEV_SECRET)
    log_level: str = "INFO"

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> AppSettings:
        if self.environment != "development" and self.secret_key.get_secret_value() == DEV_SECRET:
            raise ValueError("FAULTLINE_SECRET_KEY must be set outside development")
        return self


class PostgresSettings(BaseSettings):
    """Where PostgreSQL lives. ``dsn`` is a libpq connection string or URL."""

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_PG_")

    dsn: SecretStr = SecretStr("postgresql://postgres@127.0.0.1:5432/faultline")
    pool_min_size: int = 1
    pool_max_size: int = 10


class ClickHouseSettings(BaseSettings):
    """Which ClickHouse engine to use: in-process chDB or a server over the native protocol."""

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_CLICKHOUSE_")

    backend: Literal["chdb", "native"] = "chdb"
    host: str = "127.0.0.1"
    port: int = 9000
    database: str = "faultline"
    user: str = "default"
    password: SecretStr = SecretStr("")
    chdb_path: Path | None = None


class KafkaSettings(BaseSettings):
    """Apache Kafka connection, used when the bus backend is ``kafka``."""

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_KAFKA_")

    bootstrap_servers: str = "127.0.0.1:9092"
    client_id: str = "faultline"
    linger_ms: int = 5
    request_timeout_ms: int = 5000
    session_timeout_ms: int = 10000
    heartbeat_interval_ms: int = 3000


class BusSettings(BaseSettings):
    """The event bus: an embedded PostgreSQL log or Kafka."""

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_BUS_")

    backend: Literal["embedded", "kafka"] = "embedded"
    events_topic: str = "ingest-events"
    dlq_topic: str = "ingest-dlq"
    publish_timeout_s: float = 5.0


class RelaySettings(BaseSettings):
    """Ingestion limits and the relay's own HTTP listener."""

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_RELAY_")

    host: str = "127.0.0.1"
    port: int = 3000
    max_compressed_bytes: int = 20 * 1024 * 1024
    max_decompressed_bytes: int = 200 * 1024 * 1024
    max_event_bytes: int = 1024 * 1024
    # One attachment (or minidump); attachments go to the blob store, never on the bus.
    max_attachment_bytes: int = 100 * 1024 * 1024
    key_cache_ttl_s: float = 30.0
    # The legacy Sentry UDP listener (on ``host``) is opt-in: None leaves it off.
    udp_port: int | None = None


class BlobStoreSettings(BaseSettings):
    """Where attachment bytes live. ``local``: a directory, by default ``<data_dir>/blobs``;
    in distributed mode every relay and web replica must mount the same one."""

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_BLOB_")

    backend: Literal["local"] = "local"
    root: Path | None = None

    def directory(self, app: AppSettings) -> Path:
        return self.root if self.root is not None else app.data_dir / "blobs"


class ProcessorSettings(BaseSettings):
    """Consumer batching and backpressure."""

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_PROCESSOR_")

    consumer_group: str = "faultline-processor"
    batch_max_events: int = 500
    batch_max_wait_s: float = 0.2
    max_pending_batches: int = 2
    liveness_file: Path | None = None
    metrics_port: int = 9102


class QuerySettings(BaseSettings):
    """The query service's gRPC listener."""

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_QUERY_")

    host: str = "127.0.0.1"
    port: int = 50051
    metrics_port: int = 9103


class WebSettings(BaseSettings):
    """The web gateway: its HTTP listener and where the query service is."""

    model_config = SettingsConfigDict(env_prefix="FAULTLINE_WEB_")

    host: str = "127.0.0.1"
    port: int = 8000
    query_address: str = "127.0.0.1:50051"
    public_url: str = Field(default="", description="Base URL printed in DSNs; derived when empty")
