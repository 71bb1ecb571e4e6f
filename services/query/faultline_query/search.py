"""Issue search: run a parsed search's ClickHouse pre-filters, then its PostgreSQL page query.

The page is keyset-paginated like :func:`faultline_query.issues.list_issues`: the cursor
holds the sort column's value (``users_seen`` for the users sort) and the id of the last
issue, and the next page starts strictly after that pair.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from psycopg.rows import dict_row

from faultline_core.issue_search import IssueSearch, SearchSyntaxError, parse_issue_search
from faultline_core.storage.clickhouse.base import ClickHouse
from faultline_core.storage.postgres.pool import Pool
from faultline_query.issues import (
    MAX_LIMIT,
    STATUSES,
    Cursor,
    InvalidCursor,
    IssuePage,
    _issue,
)
from faultline_query.search_sql import (
    PageRequest,
    Prefilter,
    SearchTooBroad,
    clickhouse_prefilters,
    issue_page_sql,
    prefilter_hashes,
)

__all__ = ["INVALID_SEARCH", "PageRequest", "search_issues", "search_issues_text"]

INVALID_SEARCH: tuple[type[Exception], ...] = (SearchSyntaxError, SearchTooBroad)
"""What a malformed or too broad search raises: the caller's fault, safe to show."""


async def _run_prefilters(
    clickhouse: ClickHouse, prefilters: Sequence[Prefilter]
) -> list[list[str]]:
    results = await asyncio.gather(
        *(clickhouse.query(*prefilter.query) for prefilter in prefilters))
    return [[str(row["hash"]) for row in rows] for rows in results]


def _validate(page: PageRequest) -> None:
    if not 1 <= page.limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}")
    if page.status is not None and page.status not in STATUSES:
        raise ValueError(f"unknown issue status {page.status!r}")
    if page.cursor is not None and page.cursor.sort is not page.sort:
        raise InvalidCursor("cursor belongs to a different sort order")


async def search_issues(
    pool: Pool, clickhouse: ClickHouse, search: IssueSearch, page: PageRequest
) -> IssuePage:
    """One page of the issues of ``page.project_id`` matching ``search`` and ``page.status``.

    Raises ``ValueError`` for a bad limit or status, ``InvalidCursor`` for a cursor of
    another sort, and :class:`~faultline_query.search_sql.SearchTooBroad` when an event
    term matches too many issues to pass on to PostgreSQL.
    """
    _validate(page)
    prefilters = clickhouse_prefilters(page.project_id, search)
    hashes = prefilter_hashes(prefilters, await _run_prefilters(clickhouse, prefilters))
    sql, params = issue_page_sql(search, page, hashes)
    async with pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(sql, params)
        rows = await cur.fetchall()
    sort_values = [row.pop("sort_value") for row in rows]
    issues = [_issue(row) for row in rows[:page.limit]]
    next_cursor = None
    if len(rows) > page.limit:
        next_cursor = Cursor(page.sort, sort_values[page.limit - 1], issues[-1].id)
    return IssuePage(issues, next_cursor)


async def search_issues_text(
    pool: Pool, clickhouse: ClickHouse, query: str, page: PageRequest
) -> IssuePage:
    """:func:`search_issues` for the text of a search (``SearchSyntaxError`` if malformed)."""
    return await search_issues(pool, clickhouse, parse_issue_search(query), page)

