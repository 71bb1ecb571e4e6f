"""The query service: gRPC read access to issues (PostgreSQL) and raw events (ClickHouse)."""
