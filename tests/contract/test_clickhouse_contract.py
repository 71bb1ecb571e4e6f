"""The ClickHouse contract: chDB and the 18.16 server behave the same for our SQL.

Every test in this module runs against both adapters (see ``conftest.py``); the last
group runs the same statements on both at once and compares the Python values.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections import Counter
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from faultline_core.migrations.clickhouse_migrate import migrate_clickhouse, migration_files
from faultline_core.settings import ClickHouseSettings
from faultline_core.storage.clickhouse.base import ClickHouse, Row
from faultline_core.storage.clickhouse.chdb import insert_statements, process_session
from faultline_core.storage.clickhouse.errors_table import ERRORS_COLUMNS, errors_row
from faultline_core.storage.clickhouse.factory import chdb_data_path
from faultline_core.storage.clickhouse.normalize import ClickHouseError
from tests.contract.clickhouse_events import (
    BASE_TIME,
    expected_stored,
    insert_events,
    make_event,
    varied_events,
)
from tests.contract.conftest import OpenDatabase

HOSTILE_STRINGS = [
    "'",
    "\\",
    "\\'",
    "'; DROP TABLE errors; --",
    "') OR 1=1 --",
    "%(project)s",
    "%%",
    "100%",
    "line\nbreak\r\nand\ttab",
    "nul\x00byte",
    "`backtick` \"double\"",
    "ünïcødé ✓ 🐛",
    "{p:String}",
    "\\x41\\n",
    "?",
]



# --- migrations ------------------------------------------------------------------------


async def test_migrations_apply_once_and_rerun_as_noop(open_database: OpenDatabase) -> None:
    ch = await open_database()
    versions = [path.stem for path in migration_files()]
    assert await migrate_clickhouse(ch) == versions
    assert await migrate_clickhouse(ch) == []
    tables = await ch.query(
        "SELECT name FROM system.tables WHERE database = currentDatabase() ORDER BY name"
    )
    assert [row["name"] for row in tables] == ["errors", "logs", "schema_migrations"]
    recorded = await ch.query("SELECT version FROM schema_migrations FINAL ORDER BY version")
    assert [row["version"] for row in recorded] == versions


async def test_concurrent_migrations_leave_one_schema(open_database: OpenDatabase) -> None:
    ch = await open_database()
    results = await asyncio.gather(migrate_clickhouse(ch), migrate_clickhouse(ch))
    assert all(set(result) <= {path.stem for path in migration_files()} for result in results)
    assert await migrate_clickhouse(ch) == []
    count = await ch.query("SELECT count() AS n FROM errors")
    assert count == [{"n": 0}]


# --- round trips -----------------------------------------------------------------------


async def test_every_errors_column_round_trips(ch: ClickHouse) -> None:
    event = make_event(3)
    row = errors_row(event, group_id=2**63 + 5, primary_hash="ab" * 16, retention_days=30)
    await ch.insert("errors", ERRORS_COLUMNS, [row])
    stored = await ch.query("SELECT * FROM errors FINAL")
    assert stored == [expected_stored(row)]
    got = stored[0]
    assert got["group_id"] == 2**63 + 5
    assert got["timestamp"] == datetime(2024, 3, 4, 10, 15, 30, tzinfo=UTC)
    assert got["timestamp_ms"] == 250
    assert got["event_id"] == event.event_id
    assert (got["http_method"], got["http_url"]) == ("POST", "https://example.com/items/3")
    assert (got["browser_name"], got["os"], got["runtime"]) == ("Chrome", "Linux", "CPython 3.11")
    assert (got["exception_type"], got["handled"]) == ("ValueError", 0)
    assert got["exception_frames.filename"] == ["app/main.py", "/usr/lib/python3/json/decoder.py"]
    assert got["exception_frames.lineno"] == [10, 337]
    assert got["exception_frames.in_app"] == [1, 0]
    assert json.loads(got["data"]) == event.data


async def test_parameter_types_render_as_their_clickhouse_values(ch: ClickHouse) -> None:
    params: dict[str, Any] = {
        "i": -42, "big": 2**64 - 1, "f": 1.25, "yes": True, "none": None,
        "when": datetime(2024, 1, 2, 5, 4, 5, tzinfo=timezone(timedelta(hours=2))),
        "day": date(2024, 2, 29), "words": ["a", "b'c"], "nums": [1, 2, 3],
    }
    rows = await ch.query(
        "SELECT %(i)s AS i, toUInt64(%(big)s) AS big, %(f)s AS f, %(yes)s AS yes,"
        " isNull(%(none)s) AS none, toDateTime(%(when)s) AS when, toDate(%(day)s) AS day,"
        " %(words)s AS words, %(nums)s AS nums, 'a%%b' AS percent",
        params,
    )
    assert rows == [{
        "i": -42, "big": 2**64 - 1, "f": 1.25, "yes": 1, "none": 1,
        "when": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "day": date(2024, 2, 29),
        "words": ["a", "b'c"], "nums": [1, 2, 3], "percent": "a%b",
    }]


@pytest.mark.parametrize("hostile", HOSTILE_STRINGS)
async def test_hostile_strings_stay_inside_their_literal(ch: ClickHouse, hostile: str) -> None:
    assert await ch.query("SELECT %(s)s AS s, length(%(s)s) AS n", {"s": hostile}) == [
        {"s": hostile, "n": len(hostile.encode())}
    ]
    await insert_events(ch, [make_event(1, tags=(("note", hostile),))])
    found = await ch.query(
        "SELECT tags.value AS tag_values FROM errors WHERE has(tags.value, %(s)s)"
        " AND project_id = %(project)s", {"s": hostile, "project": 1},
    )
    assert found == [{"tag_values": [hostile]}]
    assert await ch.query("SELECT count() AS n FROM errors") == [{"n": 1}]


# --- the query shapes the product uses -------------------------------------------------


async def test_tag_breakdown_with_array_join_and_limit_by(ch: ClickHouse) -> None:
    browsers = ["Chrome"] * 4 + ["Firefox"] * 3 + ["Safari"] * 2 + ["Edge"]
    oses = ["Linux"] * 5 + ["Windows"] * 3 + ["macOS"] * 2
    events = [
        make_event(i, tags=(("browser.name", b), ("os.name", o)))
        for i, (b, o) in enumerate(zip(browsers, oses, strict=True))
    ]
    await insert_events(ch, events + [make_event(99, project_id=2)])
    rows = await ch.query(
        "SELECT tags.key AS key, tags.value AS value, count() AS n"
        " FROM errors FINAL ARRAY JOIN tags"
        " WHERE project_id = %(project)s"
        " GROUP BY key, value ORDER BY key, n DESC, value LIMIT %(top)s BY key",
        {"project": 1, "top": 2},
    )
    expected: list[Row] = []
    for key, values in (("browser.name", browsers), ("os.name", oses)):
        top = sorted(Counter(values).items(), key=lambda kv: (-kv[1], kv[0]))[:2]
        expected += [{"key": key, "value": v, "n": n} for v, n in top]
    assert rows == expected


async def test_hourly_volume_with_to_start_of_hour(ch: ClickHouse) -> None:
    offsets_min = [0, 5, 50, 61, 130, 135, 139, 300]
    start = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)
    events = [
        make_event(i, timestamp=start + timedelta(minutes=m)) for i, m in enumerate(offsets_min)
    ]
    await insert_events(ch, events)
    rows = await ch.query(
        "SELECT toStartOfHour(timestamp) AS hour, count() AS n FROM errors FINAL"
        " WHERE project_id = %(project)s AND timestamp >= toDateTime(%(since)s)"
        " AND timestamp < toDateTime(%(until)s) GROUP BY hour ORDER BY hour",
        {"project": 1, "since": start, "until": start + timedelta(hours=4)},
    )
    counts = Counter(
        e.timestamp.replace(minute=0, second=0, microsecond=0)
        for e in events if e.timestamp < start + timedelta(hours=4)
    )
    assert rows == [{"hour": hour, "n": n} for hour, n in sorted(counts.items())]


async def test_final_collapses_a_redelivered_event(ch: ClickHouse) -> None:
    event, other = make_event(1), make_event(2)
    await insert_events(ch, [event, other])
    await insert_events(ch, [event])
    rows = await ch.query(
        "SELECT event_id, count() AS n FROM errors FINAL WHERE project_id = %(project)s"
        " GROUP BY event_id ORDER BY event_id", {"project": 1},
    )
    assert rows == [{"event_id": event.event_id, "n": 1}, {"event_id": other.event_id, "n": 1}]


async def test_event_lookup_by_uuid_parameter(ch: ClickHouse) -> None:
    # ClickHouse 18.16 parses only the dashed form of a UUID literal: pass uuid.UUID values.
    events = [make_event(i) for i in range(3)]
    await insert_events(ch, events)
    rows = await ch.query(
        "SELECT event_id, title FROM errors FINAL WHERE project_id = %(p)s AND event_id = %(id)s",
        {"p": 1, "id": uuid.UUID(events[1].event_id)},
    )
    assert rows == [{"event_id": events[1].event_id, "title": events[1].title}]


async def test_to_datetime_filters_use_utc_instants(ch: ClickHouse) -> None:
    times = [BASE_TIME + timedelta(minutes=10 * i) for i in range(6)]
    await insert_events(ch, [make_event(i, timestamp=t) for i, t in enumerate(times)])
    # The same instant written in another zone must select the same rows.
    since = (BASE_TIME.replace(microsecond=0) + timedelta(minutes=20)).astimezone(
        timezone(timedelta(hours=-5))
    )
    rows = await ch.query(
        "SELECT timestamp FROM errors FINAL WHERE project_id = %(project)s"
        " AND timestamp >= toDateTime(%(since)s) ORDER BY timestamp",
        {"project": 1, "since": since},
    )
    assert [row["timestamp"] for row in rows] == [
        t.replace(microsecond=0) for t in times if t.replace(microsecond=0) >= since
    ]
    # Naming the zone makes the filter independent of the server's own time zone.
    explicit = await ch.query(
        "SELECT timestamp FROM errors FINAL WHERE project_id = %(project)s"
        " AND timestamp >= toDateTime(%(since)s, 'UTC') ORDER BY timestamp",
        {"project": 1, "since": since},
    )
    assert explicit == rows


async def test_concurrent_statements_on_one_adapter(ch: ClickHouse) -> None:
    await asyncio.gather(*(insert_events(ch, [make_event(i)]) for i in range(8)))
    counts = await asyncio.gather(
        *(ch.query("SELECT count() AS n FROM errors WHERE project_id = %(p)s", {"p": 1})
          for _ in range(8))
    )
    assert counts == [[{"n": 8}]] * 8


async def test_large_insert_lands_completely(ch: ClickHouse) -> None:
    # Several megabytes: the chDB adapter splits this into more than one statement.
    events = [make_event(i) for i in range(2500)]
    rows = [errors_row(event, 7, "7" * 32) for event in events]
    assert len(list(insert_statements("errors", ERRORS_COLUMNS, rows))) > 1
    await ch.insert("errors", ERRORS_COLUMNS, rows)
    stored = await ch.query("SELECT count() AS n, uniqExact(event_id) AS ids FROM errors")
    assert stored == [{"n": 2500, "ids": 2500}]


async def test_ragged_rows_are_rejected_before_writing(ch: ClickHouse) -> None:
    good = errors_row(make_event(1), 1, "0" * 32)
    with pytest.raises(ValueError, match="values for"):
        await ch.insert("errors", ERRORS_COLUMNS, [good, good[:-1]])
    assert await ch.query("SELECT count() AS n FROM errors") == [{"n": 0}]


async def test_set_applies_to_later_statements_of_the_adapter(ch: ClickHouse) -> None:
    await ch.execute("SET max_threads = 1, max_block_size = 4321")
    rows = await asyncio.gather(*(
        ch.query("SELECT name, value FROM system.settings"
                 " WHERE name IN ('max_threads', 'max_block_size') ORDER BY name")
        for _ in range(3)
    ))
    assert all(
        [(r["name"], r["value"]) for r in result]
        == [("max_block_size", "4321"), ("max_threads", "1")]
        for result in rows
    )
    with pytest.raises(ClickHouseError):
        await ch.execute("SET no_such_setting_anywhere = 1")


async def test_bad_sql_raises_clickhouse_error(ch: ClickHouse) -> None:
    with pytest.raises(ClickHouseError):
        await ch.query("SELECT no_such_column FROM errors")
    with pytest.raises(ClickHouseError):
        await ch.execute("ALTER TABLE no_such_table ADD COLUMN x UInt8")
    with pytest.raises(KeyError, match="missing_param"):
        await ch.query("SELECT %(missing_param)s")
    assert await ch.query("SELECT 1 AS one") == [{"one": 1}]


async def test_closed_adapter_refuses_statements(open_database: OpenDatabase) -> None:
    ch = await open_database()
    await ch.close()
    with pytest.raises(ClickHouseError, match="closed"):
        await ch.query("SELECT 1")


async def test_databases_on_one_engine_stay_apart(open_database: OpenDatabase) -> None:
    first, second = await open_database(), await open_database()
    await migrate_clickhouse(first)
    await migrate_clickhouse(second)
    await insert_events(first, [make_event(1), make_event(2)])
    await insert_events(second, [make_event(3)])
    await insert_events(first, [make_event(4)])
    assert await first.query("SELECT count() AS n FROM errors") == [{"n": 3}]
    assert await second.query("SELECT count() AS n FROM errors") == [{"n": 1}]


# --- both adapters side by side --------------------------------------------------------

SHARED_QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("SELECT * FROM errors FINAL WHERE project_id = %(p)s ORDER BY event_id", {"p": 1}),
    (
        "SELECT group_id, count() AS n, uniq(user_key) AS users, min(timestamp) AS first_seen,"
        " max(timestamp) AS last_seen, countIf(handled = 0) AS unhandled,"
        " argMax(title, timestamp) AS latest_title, arraySort(groupArray(event_id)) AS ids"
        " FROM errors FINAL PREWHERE project_id = %(p)s"
        " WHERE timestamp >= toDateTime(%(since)s) GROUP BY group_id ORDER BY group_id",
        {"p": 1, "since": BASE_TIME - timedelta(days=1)},
    ),
    (
        "SELECT level, count() AS n FROM errors WHERE project_id = %(p)s"
        " GROUP BY level WITH TOTALS ORDER BY level",
        {"p": 1},
    ),
    (
        "SELECT tags.key AS key, tags.value AS value, count() AS n FROM errors FINAL"
        " ARRAY JOIN tags WHERE project_id = %(p)s AND tags.key IN ('level', 'browser.name')"
        " GROUP BY key, value ORDER BY key, n DESC, value LIMIT 1 BY key",
        {"p": 1},
    ),
    (
        "SELECT toStartOfHour(timestamp) AS hour, toStartOfDay(timestamp) AS day,"
        " toMonday(timestamp) AS week, count() AS n FROM errors"
        " WHERE project_id = %(p)s AND event_id IN"
        " (SELECT event_id FROM errors WHERE level = %(level)s)"
        " GROUP BY hour, day, week ORDER BY hour",
        {"p": 1, "level": "warning"},
    ),
    (
        "SELECT toFloat32(0.1) AS f32, inf AS infinite, toDecimal32(1.5, 2) AS dec,"
        " (1, 'a') AS pair, [[1, 2], [3]] AS nested, NULL AS nothing, toNullable(3) AS maybe,"
        " toFixedString('ab', 4) AS fixed, toUUID(%(uuid)s) AS id, toDate(%(day)s) AS day,"
        " CAST('b' AS Enum8('a' = 1, 'b' = 2)) AS choice, -toInt64(%(big)s) AS negative",
        {"uuid": uuid.UUID(int=2**100 + 7), "day": date(2024, 2, 29), "big": 2**62},
    ),
]


async def test_both_adapters_return_identical_values(
    clickhouse_chdb: ClickHouse, clickhouse_native: ClickHouse
) -> None:
    events = varied_events()
    for ch in (clickhouse_chdb, clickhouse_native):
        for group_id, chunk in ((1, events[:4]), (2, events[4:])):
            await insert_events(ch, chunk, group_id=group_id)
        await insert_events(ch, [make_event(50, project_id=2)])
    for sql, params in SHARED_QUERIES:
        from_chdb = await clickhouse_chdb.query(sql, params)
        from_native = await clickhouse_native.query(sql, params)
        assert from_chdb, sql
        assert from_chdb == from_native, sql
        for a, b in zip(from_chdb, from_native, strict=True):
            assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in b.items()}, sql


# --- adapter specifics -----------------------------------------------------------------


async def test_chdb_engine_refuses_a_second_directory(
    clickhouse_chdb: ClickHouse, chdb_path: Path, tmp_path: Path
) -> None:
    assert process_session(chdb_path) is process_session(chdb_path)
    with pytest.raises(ClickHouseError, match="already open"):
        process_session(tmp_path / "elsewhere")
    assert await clickhouse_chdb.query("SELECT 1 AS one") == [{"one": 1}]


def test_chdb_data_path_comes_from_settings_then_data_dir(tmp_path: Path) -> None:
    explicit = ClickHouseSettings(chdb_path=tmp_path / "ch")
    assert chdb_data_path(explicit, tmp_path / "data") == tmp_path / "ch"
    assert chdb_data_path(ClickHouseSettings(), tmp_path) == tmp_path / "clickhouse"
    with pytest.raises(ValueError, match="data directory"):
        chdb_data_path(ClickHouseSettings(), None)
