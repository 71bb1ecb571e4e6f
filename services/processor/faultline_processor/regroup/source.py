"""Reading a project's raw events back from ClickHouse's ``errors`` table, in pages.

A regroup reads every event of a project once. Paging by ``(received, event_id)`` would
make each page scan and sort the whole project (``received`` is not in the sorting key),
so pages follow the table's own sorting key instead: a first query counts the events per
(day, primary hash), consecutive groups are packed into pages of about ``page_size``
events, and each page selects its day and primary-hash range, which the primary index
narrows to the page's granules. A (day, hash) group larger than a page is split further
by a hash of the event id. The order in which issues are formed (the events' receive
order) is restored afterwards by :mod:`faultline_processor.regroup.shadow`.

All SQL runs unchanged on ClickHouse 18.16 and chDB; readers use ``FINAL`` and skip
deleted rows, like every other reader of ``errors``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faultline_core.storage.clickhouse.base import ClickHouse

COLUMNS = "event_id, received, timestamp, primary_hash, level, title, culprit, data"
MAX_IDS_PER_QUERY = 2_000


@dataclass(frozen=True)
class SourceEvent:
    """One stored event as a regroup needs it."""

    event_id: str
    received: datetime
    timestamp: datetime
    old_hash: str
    """The primary hash it was grouped with when it was stored."""
    level: str
    title: str
    culprit: str
    data: str
    """The normalised event as JSON (``errors.data``)."""


@dataclass(frozen=True)
class Page:
    """Events of one day whose primary hash is in ``[low, high]`` (and, when a group is
    split, whose event-id hash is ``part`` modulo ``parts``)."""

    day: datetime
    low: str
    high: str
    events: int
    parts: int = 1
    part: int = 0


def _filters(since: datetime | None) -> str:
    return "project_id = %(project)s AND deleted = 0" + (
        " AND received >= %(since)s" if since is not None else ""
    )


async def plan_pages(
    clickhouse: ClickHouse, project_id: int, since: datetime | None, page_size: int
) -> list[Page]:
    """Pages covering every live event of the project (received since ``since``)."""
    rows = await clickhouse.query(
        "SELECT toStartOfDay(timestamp) AS day, primary_hash AS hash, count() AS n"
        f" FROM errors FINAL WHERE {_filters(since)}"
        " GROUP BY day, hash ORDER BY day, hash",
        {"project": project_id, "since": since},
    )
    pages: list[Page] = []
    current: list[dict[str, Any]] = []
    size = 0
    for row in rows:
        n = int(row["n"])
        if current and (current[0]["day"] != row["day"] or size + n > page_size):
            pages.append(_page(current, size))
            current, size = [], 0
        if n > page_size:
            parts = -(-n // page_size)
            pages.extend(Page(row["day"], row["hash"], row["hash"], -(-n // parts), parts, i)
                         for i in range(parts))
            continue
        current.append(row)
        size += n
    if current:
        pages.append(_page(current, size))
    return pages


def _page(groups: list[dict[str, Any]], size: int) -> Page:
    return Page(groups[0]["day"], groups[0]["hash"], groups[-1]["hash"], size)


async def read_page(
    clickhouse: ClickHouse, project_id: int, since: datetime | None, page: Page
) -> list[SourceEvent]:
    """The events of one page."""
    split = (" AND cityHash64(toString(event_id)) %% %(parts)s = %(part)s"
             if page.parts > 1 else "")
    rows = await clickhouse.query(
        f"SELECT {COLUMNS} FROM errors FINAL WHERE {_filters(since)}"
        " AND toStartOfDay(timestamp) = %(day)s"
        " AND primary_hash >= %(low)s AND primary_hash <= %(high)s" + split,
        {"project": project_id, "since": since, "day": page.day, "low": page.low,
         "high": page.high, "parts": page.parts, "part": page.part},
    )
    return [_event(row) for row in rows]


async def read_by_ids(
    clickhouse: ClickHouse, project_id: int, event_ids: Sequence[str]
) -> AsyncIterator[list[SourceEvent]]:
    """The live events among ``event_ids`` (32-hex), in chunks; missing ones are absent."""
    for start in range(0, len(event_ids), MAX_IDS_PER_QUERY):
        chunk = list(event_ids[start:start + MAX_IDS_PER_QUERY])
        rows = await clickhouse.query(
            f"SELECT {COLUMNS} FROM errors FINAL WHERE project_id = %(project)s"
            " AND deleted = 0 AND has(%(ids)s, toString(event_id))",
            {"project": project_id, "ids": [_uuid(e) for e in chunk]},
        )
        yield [_event(row) for row in rows]


def _uuid(hex32: str) -> str:
    h = hex32.replace("-", "")
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _event(row: dict[str, Any]) -> SourceEvent:
    return SourceEvent(
        event_id=str(row["event_id"]).replace("-", ""), received=row["received"],
        timestamp=row["timestamp"], old_hash=str(row["primary_hash"]).rstrip("\0"),
        level=str(row["level"]), title=str(row["title"]), culprit=str(row["culprit"]),
        data=str(row["data"]),
    )
