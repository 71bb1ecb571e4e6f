"""ClickHouse access: one interface, a chDB adapter and a native-protocol adapter."""
