"""Shared fixtures. Real engines only: PostgreSQL servers, chDB and ClickHouse servers."""

from __future__ import annotations

from tests.kafka_fixtures import kafka_bootstrap
from tests.pg_fixtures import pg_dsn, pg_server

__all__ = ["kafka_bootstrap", "pg_dsn", "pg_server"]

# --- ClickHouse fixtures (below) ---
from tests.clickhouse_fixtures import (  # noqa: E402
    chdb_path,
    clickhouse,
    clickhouse_chdb,
    clickhouse_native,
    clickhouse_server,
)

__all__ += ["chdb_path", "clickhouse", "clickhouse_chdb", "clickhouse_native", "clickhouse_server"]
# --- end of ClickHouse fixtures ---
