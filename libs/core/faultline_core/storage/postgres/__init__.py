"""PostgreSQL access: the connection pool and the repositories built on it."""
