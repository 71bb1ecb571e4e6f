"""The ClickHouse interface both adapters implement.

The SQL text is identical for both engines: parameters use ``%(name)s`` placeholders and
are rendered client-side by :func:`faultline_core.storage.clickhouse.sql.render` before
the adapter sends the query. Results come back as dicts with Python values normalised the
same way by both adapters (checked by ``tests/contract/test_clickhouse_contract.py``):

* ``DateTime`` → timezone-aware ``datetime`` in UTC
* ``UUID`` → 32-character lowercase hex ``str`` (no dashes)
* integers → ``int``, floats → ``float``, strings → ``str``, arrays → ``list``
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

Row = dict[str, Any]


class ClickHouse(Protocol):
    """A connection to one ClickHouse database. Methods are safe to call from asyncio."""

    engine: str
    """``"chdb"`` or ``"native"``; migrations use it to pick version-specific settings."""

    async def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> None:
        """Run a statement (DDL, ALTER) that returns no rows."""
        ...

    async def query(self, sql: str, params: Mapping[str, Any] | None = None) -> list[Row]:
        """Run a SELECT and return its rows."""
        ...

    async def insert(
        self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert rows. Nested columns are given as parallel arrays (``tags.key``,
        ``tags.value``). ``DateTime`` values are aware ``datetime``s, ``UUID`` values hex
        strings."""
        ...

    async def close(self) -> None: ...
