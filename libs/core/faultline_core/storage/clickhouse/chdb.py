"""The in-process ClickHouse adapter (chDB).

chDB hosts one embedded engine per process, bound to one data directory. The engine is
opened once (:func:`process_session`) with memory-bounded server settings and kept for the
life of the process; every :class:`ChdbClickHouse` then opens its own light connection to
it, with ``USE <database>`` applied once, so several databases can be used side by side.
chDB connections are thread-safe, so blocking calls simply run in worker threads.
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, cast

from chdb import session as chdb_session

from faultline_core.storage.clickhouse.base import Row
from faultline_core.storage.clickhouse.normalize import ClickHouseError, check_rows, converter_for
from faultline_core.storage.clickhouse.sql import Identifier, format_datetime, render

RESULT_FORMAT = "JSONCompact"
MAX_INSERT_BYTES = 4 * 1024 * 1024

# Engine-wide settings, honoured only by the first connection of the process. They keep
# the embedded engine's caches and pools small: the all-in-one process, engine included,
# has a budget of about 700 MB RSS.
ENGINE_SETTINGS: dict[str, int] = {
    "max_server_memory_usage": 400_000_000,
    "mark_cache_size": 64 * 1024 * 1024,
    "uncompressed_cache_size": 0,
    "index_mark_cache_size": 16 * 1024 * 1024,
    "index_uncompressed_cache_size": 0,
    "primary_index_cache_size": 32 * 1024 * 1024,
    "query_condition_cache_size": 16 * 1024 * 1024,
    "compiled_expression_cache_size": 16 * 1024 * 1024,
    "background_pool_size": 2,
    "background_schedule_pool_size": 4,
}

# Per-connection query settings.
SESSION_SETTINGS: dict[str, int | str] = {
    "max_threads": 2,
    "max_memory_usage": 300_000_000,
    "session_timezone": "UTC",
    "output_format_json_quote_64bit_integers": 0,
    "output_format_json_validate_utf8": 1,
    # nan and inf as strings rather than null, so they survive the trip.
    "output_format_json_quote_denormals": 1,
    # Parallel parsing of inserts buffers several large chunks at once; not worth the memory.
    "input_format_parallel_parsing": 0,
}


class Session(Protocol):
    """The part of ``chdb.session.Session`` used here (chDB ships it untyped)."""

    def query(self, sql: str, fmt: str = ...) -> Any: ...

    def close(self) -> None: ...


def _new_session(connection_string: str) -> Session:
    factory: Any = chdb_session.Session
    return cast(Session, factory(connection_string))


_engine_lock = threading.Lock()
_engine_path: Path | None = None
_engine_session: Session | None = None


def _connection_string(path: Path, settings: Mapping[str, int | str]) -> str:
    query = "&".join(f"{name}={value}" for name, value in settings.items())
    return f"{path}?{query}"


def process_session(path: Path) -> Session:
    """The process's chDB session on ``path``, opened on first use and then reused.

    Raises ``ClickHouseError`` if the process already uses another directory: the
    embedded engine can only be bound to one per process.
    """
    global _engine_path, _engine_session
    resolved = path.resolve()
    with _engine_lock:
        if _engine_session is not None:
            if resolved != _engine_path:
                raise ClickHouseError(
                    f"chDB is already open on {_engine_path} in this process; "
                    f"it cannot also open {resolved}"
                )
            return _engine_session
        resolved.mkdir(parents=True, exist_ok=True)
        settings = {**ENGINE_SETTINGS, **SESSION_SETTINGS}
        try:
            _engine_session = _new_session(_connection_string(resolved, settings))
        except RuntimeError as exc:
            raise ClickHouseError(f"cannot open chDB data directory {resolved}: {exc}") from exc
        _engine_path = resolved
        return _engine_session


def close_process_session() -> None:
    """Close the process-wide session (all adapters must have been closed first)."""
    global _engine_path, _engine_session
    with _engine_lock:
        if _engine_session is not None:
            _engine_session.close()
        _engine_session = None
        _engine_path = None


class ChdbClickHouse:
    """A :class:`~faultline_core.storage.clickhouse.base.ClickHouse` on the embedded engine.

    Create it with :meth:`open`.
    """

    engine = "chdb"

    def __init__(self, session: Session, database: str) -> None:
        self._session: Session | None = session
        self.database = database

    @classmethod
    async def open(cls, path: Path, database: str = "default") -> ChdbClickHouse:
        """Connect to ``database`` (created if missing) in the chDB data at ``path``."""
        db = Identifier(database)
        if "." in database:
            raise ValueError(f"not a valid database name: {database!r}")
        return await asyncio.to_thread(cls._open_blocking, path, db)

    @classmethod
    def _open_blocking(cls, path: Path, database: Identifier) -> ChdbClickHouse:
        root = process_session(path)
        _run(root, f"CREATE DATABASE IF NOT EXISTS {database.sql()}")
        try:
            session = _new_session(_connection_string(path.resolve(), SESSION_SETTINGS))
        except RuntimeError as exc:
            raise ClickHouseError(f"cannot connect to chDB at {path}: {exc}") from exc
        _run(session, f"USE {database.sql()}")
        return cls(session, database.name)

    def _live_session(self) -> Session:
        if self._session is None:
            raise ClickHouseError("this chDB connection is closed")
        return self._session

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        rendered = render(sql, params)
        await asyncio.to_thread(_run, self._live_session(), rendered)

    async def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        rendered = render(sql, params)
        text = await asyncio.to_thread(_run, self._live_session(), rendered, RESULT_FORMAT)
        return parse_result(text)

    async def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        if not rows:
            return
        check_rows(columns, rows)
        session = self._live_session()
        for statement in insert_statements(table, columns, rows):
            await asyncio.to_thread(_run, session, statement)

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await asyncio.to_thread(session.close)


def _run(session: Session, sql: str, fmt: str = "CSV") -> str:
    try:
        result = session.query(sql, fmt)
    except RuntimeError as exc:
        raise ClickHouseError(str(exc)) from exc
    return bytes(result.bytes()).decode("utf-8", errors="replace")


def parse_result(text: str) -> list[Row]:
    """Rows from ``JSONCompact`` output, normalised by type.

    A ``WITH TOTALS`` row is appended last, as clickhouse-driver returns it.
    """
    if not text.strip():
        return []
    document = json.loads(text)
    names = [column["name"] for column in document["meta"]]
    converters = [converter_for(column["type"]) for column in document["meta"]]
    values = list(document["data"])
    if "totals" in document:
        values.append(document["totals"])
    return [
        {name: conv(value) for name, conv, value in zip(names, converters, row, strict=True)}
        for row in values
    ]


def insert_statements(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
) -> Iterator[str]:
    """``INSERT ... FORMAT JSONEachRow`` statements for ``rows``, each at most about
    :data:`MAX_INSERT_BYTES` long: parsing one huge statement costs the engine many times
    its size in memory. A failure part-way leaves the earlier chunks written; our tables
    are ReplacingMergeTrees, so retrying the whole insert does no harm."""
    column_sql = ", ".join(Identifier(column).sql() for column in columns)
    header = f"INSERT INTO {Identifier(table).sql()} ({column_sql}) FORMAT JSONEachRow"
    lines: list[str] = [header]
    size = len(header)
    for row in rows:
        line = json.dumps(dict(zip(columns, row, strict=True)), default=_json_value)
        if size + len(line) > MAX_INSERT_BYTES and len(lines) > 1:
            yield "\n".join(lines)
            lines, size = [header], len(header)
        lines.append(line)
        size += len(line) + 1
    if len(lines) > 1:
        yield "\n".join(lines)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_datetime(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    raise TypeError(f"cannot insert a {type(value).__name__} into ClickHouse")
