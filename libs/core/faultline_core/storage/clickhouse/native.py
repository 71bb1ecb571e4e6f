"""The ClickHouse-server adapter, over the native protocol with clickhouse-driver.

A driver ``Client`` is one connection and not thread-safe, so the adapter keeps a small
pool: each blocking call runs in a worker thread holding one client. Settings changed with
``SET`` are remembered by the adapter and sent with every later statement, which gives the
same session semantics as chDB even though statements may use different pooled clients.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from clickhouse_driver import Client
from clickhouse_driver import errors as driver_errors
from clickhouse_driver.defines import DBMS_MIN_REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS
from clickhouse_driver.settings.available import settings as driver_settings

from faultline_core.settings import ClickHouseSettings
from faultline_core.storage.clickhouse.base import Row
from faultline_core.storage.clickhouse.normalize import ClickHouseError, check_rows, converter_for
from faultline_core.storage.clickhouse.sql import Identifier, render

POOL_SIZE = 4
CONNECT_TIMEOUT_S = 5.0
_SET_STATEMENT = re.compile(r"^\s*SET\s+(?P<assignments>.+?)\s*;?\s*$", re.IGNORECASE | re.DOTALL)
_ASSIGNMENT = re.compile(
    r"^\s*(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>-?\d+(?:\.\d+)?|'(?:[^'\\]|\\.)*')\s*$"
)
_DRIVER_FAILURES = (driver_errors.Error, OSError, EOFError)


def parse_set_statement(sql: str) -> dict[str, Any] | None:
    """``{"name": value}`` for ``SET name = value[, ...]``; ``None`` if ``sql`` is not a SET."""
    match = _SET_STATEMENT.match(sql)
    if match is None:
        return None
    settings: dict[str, Any] = {}
    for assignment in match.group("assignments").split(","):
        parsed = _ASSIGNMENT.match(assignment)
        if parsed is None:
            raise ClickHouseError(f"unsupported SET assignment: {assignment.strip()!r}")
        value = parsed.group("value")
        if value.startswith("'"):
            settings[parsed.group("name")] = re.sub(r"\\(.)", r"\1", value[1:-1])
        else:
            settings[parsed.group("name")] = float(value) if "." in value else int(value)
    return settings


class _ClientPool:
    """At most ``size`` driver clients, each used by one thread at a time."""

    def __init__(self, settings: ClickHouseSettings, database: str, size: int) -> None:
        self._settings = settings
        self._database = database
        self._slots = threading.BoundedSemaphore(size)
        self._idle: list[Client] = []
        self._lock = threading.Lock()

    def _new_client(self) -> Client:
        return Client(
            host=self._settings.host,
            port=self._settings.port,
            database=self._database,
            user=self._settings.user,
            password=self._settings.password.get_secret_value(),
            connect_timeout=CONNECT_TIMEOUT_S,
        )

    @contextmanager
    def client(self) -> Iterator[Client]:
        with self._slots:
            with self._lock:
                client = self._idle.pop() if self._idle else None
            if client is None:
                client = self._new_client()
            try:
                yield client
            finally:
                with self._lock:
                    self._idle.append(client)

    def close(self) -> None:
        with self._lock:
            clients, self._idle = self._idle, []
        for client in clients:
            client.disconnect()


class NativeClickHouse:
    """A :class:`~faultline_core.storage.clickhouse.base.ClickHouse` on a ClickHouse server.

    Create it with :meth:`connect`.
    """

    engine = "native"

    def __init__(self, pool: _ClientPool, database: str, timezone: tzinfo) -> None:
        self._pool = pool
        self.database = database
        self._server_timezone = timezone
        self._session_settings: dict[str, Any] = {}
        self._closed = False

    @classmethod
    async def connect(cls, settings: ClickHouseSettings) -> NativeClickHouse:
        """Connect to ``settings.database`` on the server, creating the database if missing."""
        database = Identifier(settings.database)
        if "." in settings.database:
            raise ValueError(f"not a valid database name: {settings.database!r}")
        return await asyncio.to_thread(cls._connect_blocking, settings, database)

    @classmethod
    def _connect_blocking(
        cls, settings: ClickHouseSettings, database: Identifier
    ) -> NativeClickHouse:
        bootstrap = _ClientPool(settings, "default", 1)
        try:
            with bootstrap.client() as client:
                _call(client.execute, f"CREATE DATABASE IF NOT EXISTS {database.sql()}")
                rows = _call(client.execute, "SELECT timezone()")
        finally:
            bootstrap.close()
        return cls(_ClientPool(settings, database.name, POOL_SIZE), database.name,
                   _zone(str(rows[0][0])))

    def _check_open(self) -> None:
        if self._closed:
            raise ClickHouseError("this ClickHouse connection is closed")

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        self._check_open()
        rendered = render(sql, params)
        new_settings = parse_set_statement(rendered)
        if new_settings is not None:
            # The server validates the SET itself; then it is remembered for every client.
            await asyncio.to_thread(self._apply_set, rendered, new_settings)
            return
        await asyncio.to_thread(self._run, rendered)

    def _apply_set(self, statement: str, new_settings: Mapping[str, Any]) -> None:
        with self._pool.client() as client:
            _call(client.execute, statement, settings=self._session_settings)
            revision = client.connection.server_info.used_revision
        if revision < DBMS_MIN_REVISION_WITH_SETTINGS_SERIALIZED_AS_STRINGS:
            # Older servers (18.x) take only the settings the driver knows the types of;
            # it would silently drop any other one from later statements.
            unknown = sorted(set(new_settings) - set(driver_settings))
            if unknown:
                raise ClickHouseError(f"clickhouse-driver cannot send {unknown} to this server")
        self._session_settings.update(new_settings)

    async def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        self._check_open()
        rendered = render(sql, params)
        rows, columns = await asyncio.to_thread(self._run, rendered)
        return self._normalise(rows, columns)

    async def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        self._check_open()
        if not rows:
            return
        check_rows(columns, rows)
        column_sql = ", ".join(Identifier(column).sql() for column in columns)
        statement = f"INSERT INTO {Identifier(table).sql()} ({column_sql}) VALUES"
        await asyncio.to_thread(self._run, statement, [tuple(row) for row in rows])

    async def close(self) -> None:
        self._closed = True
        await asyncio.to_thread(self._pool.close)

    def _run(
        self, sql: str, data: list[tuple[Any, ...]] | None = None,
        extra_settings: Mapping[str, Any] | None = None,
    ) -> Any:
        settings = {**self._session_settings, **(extra_settings or {})}
        with self._pool.client() as client:
            if data is not None:
                return _call(client.execute, sql, data, settings=settings)
            return _call(client.execute, sql, with_column_types=True, settings=settings)

    def _normalise(self, rows: list[tuple[Any, ...]], columns: list[tuple[str, str]]) -> list[Row]:
        names = [name for name, _ in columns]
        converters = [converter_for(type_name, self._server_timezone) for _, type_name in columns]
        return [
            {name: conv(value) for name, conv, value in zip(names, converters, row, strict=True)}
            for row in rows
        ]


def _call(function: Any, *args: Any, **kwargs: Any) -> Any:
    try:
        return function(*args, **kwargs)
    except _DRIVER_FAILURES as exc:
        # Server errors from 18.x carry a long stack trace; the first part says it all.
        raise ClickHouseError(str(exc).split("Stack trace:")[0].strip()) from exc


def _zone(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC
