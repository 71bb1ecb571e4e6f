"""Write test events into a chDB data directory, run as its own process.

chDB lets only one process open a data directory, and the query service under test must
open it next, so the web tests seed ClickHouse from this short-lived child process:

    python seed_events.py < spec.json

The spec is ``{"chdb_path", "database", "events": [{"project_id", "group_id",
"event_id", "received_at", "payload"}]}``. Each payload goes through the real
normaliser and the real ``errors`` row builder, exactly as the processor stores it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from faultline_core.migrations.clickhouse_migrate import migrate_clickhouse
from faultline_core.normalize import normalize_event
from faultline_core.storage.clickhouse.chdb import ChdbClickHouse, close_process_session
from faultline_core.storage.clickhouse.errors_table import ERRORS_COLUMNS, errors_row


async def seed(spec: dict[str, Any]) -> int:
    clickhouse = await ChdbClickHouse.open(Path(spec["chdb_path"]), spec["database"])
    try:
        await migrate_clickhouse(clickhouse)
        rows = []
        for item in spec["events"]:
            event = normalize_event(
                item["project_id"], item["event_id"], item["payload"], item["received_at"],
                "203.0.113.7",
            )
            primary_hash = hashlib.md5(str(item["group_id"]).encode()).hexdigest()
            rows.append(errors_row(event, item["group_id"], primary_hash))
        await clickhouse.insert("errors", ERRORS_COLUMNS, rows)
    finally:
        await clickhouse.close()
        close_process_session()
    return len(rows)


if __name__ == "__main__":
    count = asyncio.run(seed(json.load(sys.stdin)))
    print(f"seeded {count} events")
