"""Apply the ClickHouse schema (``migrations/clickhouse/*.sql``) in version order.

Every statement in a migration is ``IF NOT EXISTS``-style DDL, so re-running one is
harmless: two processes migrating at the same time may both run a file, and both record
it in ``schema_migrations`` (a ReplacingMergeTree, so the duplicate collapses).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from faultline_core.storage.clickhouse.base import ClickHouse

MIGRATIONS_DIR = Path(__file__).parent / "clickhouse"

SCHEMA_MIGRATIONS_DDL = """
CREATE TABLE IF NOT EXISTS schema_migrations
(
    version    String,
    applied_at DateTime('UTC')
)
ENGINE = ReplacingMergeTree()
ORDER BY version
"""

# ClickHouse 18.x keeps LowCardinality behind this flag; later releases reject the flag as
# an unknown setting, so it is only sent to 18.x. 18.x has no per-statement SETTINGS
# clause for CREATE, so it is set for the session (the adapters keep SET per connection).
LOW_CARDINALITY_SETTING = "SET allow_experimental_low_cardinality_type = 1"


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    """The migration files, in the order their names sort (``0001_…``, ``0002_…``)."""
    return sorted(directory.glob("*.sql"))


def split_statements(script: str) -> list[str]:
    """Split a SQL script at ``;`` outside string literals, dropping ``--`` comments."""
    statements: list[str] = []
    current: list[str] = []
    quote: str | None = None
    index = 0
    while index < len(script):
        char = script[index]
        if quote is not None:
            current.append(char)
            if char == "\\" and index + 1 < len(script):
                current.append(script[index + 1])
                index += 1
            elif char == quote:
                quote = None
        elif char in "'`\"":
            quote = char
            current.append(char)
        elif script.startswith("--", index):
            newline = script.find("\n", index)
            index = len(script) if newline == -1 else newline
            continue
        elif char == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(char)
        index += 1
    statements.append("".join(current))
    return [statement.strip() for statement in statements if statement.strip()]


async def is_clickhouse_18(ch: ClickHouse) -> bool:
    rows = await ch.query("SELECT version() AS version")
    return str(rows[0]["version"]).startswith("18.")


async def applied_versions(ch: ClickHouse) -> set[str]:
    rows = await ch.query("SELECT DISTINCT version FROM schema_migrations")
    return {str(row["version"]) for row in rows}


async def migrate_clickhouse(ch: ClickHouse, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations not yet recorded; return the versions this call applied."""
    if await is_clickhouse_18(ch):
        await ch.execute(LOW_CARDINALITY_SETTING)
    await ch.execute(SCHEMA_MIGRATIONS_DDL)
    done = await applied_versions(ch)
    applied: list[str] = []
    for path in migration_files(directory):
        version = path.stem
        if version in done:
            continue
        for statement in split_statements(path.read_text(encoding="utf-8")):
            await ch.execute(statement)
        await ch.insert("schema_migrations", ("version", "applied_at"),
                        [(version, datetime.now(UTC))])
        applied.append(version)
    return applied
