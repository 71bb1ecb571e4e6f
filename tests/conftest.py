"""Shared fixtures. Real engines only: PostgreSQL servers, chDB and ClickHouse servers."""

from __future__ import annotations

from tests.pg_fixtures import pg_dsn, pg_server

__all__ = ["pg_dsn", "pg_server"]

# --- ClickHouse fixtures (below) ---
