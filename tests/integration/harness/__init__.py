"""Start and stop the real infrastructure (ClickHouse, PostgreSQL, Kafka) for tests."""
