"""The SQL of issue search (pure): a parsed :class:`IssueSearch` as a PostgreSQL page query,
plus the ClickHouse pre-filters for what only events know.

Issue attributes (status, level, counters, dates, title, culprit) and the per-issue
environment and release tables live in PostgreSQL. Tags, user fields and event messages
live only in ClickHouse's ``errors`` table, so each such term first selects the distinct
``primary_hash`` of the matching events (one bounded query per term), and the PostgreSQL
query keeps the issues those hashes belong to now, through ``grouphashes`` (which stays
right after merges and unmerges, unlike the event's stored ``group_id``).

Event terms are event-level, as in Sentry: ``browser:Chrome`` keeps issues with an event
tagged so. A negated event term excludes the issues that have such an event. All
positive tag and user terms are combined into one event filter (one event must carry
them all); each free-text term and each negated term has its own.

Every value is a bound parameter; column names and operators come from fixed tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from faultline_core.issue_search import (
    DateTerm,
    EventTerm,
    FieldTerm,
    IssueSearch,
    NumberTerm,
    StatusTerm,
    Term,
    TextTerm,
)

# The issue columns are the ones faultline_query.issues reads, so rows become the same Issue.
from faultline_query.issues import _COLUMNS as _ISSUE_COLUMNS
from faultline_query.issues import Cursor, IssueSortKey
from faultline_query.sql import Query

MAX_MATCHED_HASHES = 10_000
"""Distinct grouping hashes one event pre-filter may return before the search is refused."""

_NUMBER_OPERATORS = {">": ">", ">=": ">=", "<": "<", "<=": "<=", "=": "="}
_DATE_COLUMNS = {"first_seen": "first_seen", "last_seen": "last_seen"}
_FIELD_TABLES = {"environment": ("issue_environments", "environment"),
                 "release": ("issue_releases", "release")}
_SORT_COLUMNS = {key: key.value for key in IssueSortKey}


class SearchTooBroad(ValueError):
    """An event pre-filter matched more than :data:`MAX_MATCHED_HASHES` hashes."""


@dataclass(frozen=True)
class Prefilter:
    """One ClickHouse query; its hashes stand for the terms in ``terms``."""

    name: str
    terms: tuple[Term, ...]
    query: Query


@dataclass(frozen=True)
class PageRequest:
    """Everything but the search that shapes a page."""

    project_id: int
    sort: IssueSortKey
    status: str | None
    limit: int
    cursor: Cursor | None
    now: datetime


def _event_condition(term: EventTerm, index: int, params: dict[str, Any]) -> str:
    names = []
    for position, value in enumerate(term.values):
        params[f"v{index}_{position}"] = value
        names.append(f"%(v{index}_{position})s")
    if term.column is not None:
        # The column name comes from USER_COLUMNS, never from the request.
        return f"{term.column} IN ({', '.join(names)})"
    params[f"k{index}"] = term.key
    values = " OR ".join(f"v = {name}" for name in names)
    return (f"arrayExists((k, v) -> k = %(k{index})s AND ({values}),"
            " tags.key, tags.value)")


def _hash_query(project_id: int, condition: str, params: dict[str, Any]) -> Query:
    params["project_id"] = project_id
    params["hash_limit"] = MAX_MATCHED_HASHES + 1
    sql = (
        "SELECT DISTINCT primary_hash AS hash FROM errors FINAL"
        f" WHERE project_id = %(project_id)s AND deleted = 0 AND {condition}"
        " LIMIT %(hash_limit)s"
    )
    return sql, params


def clickhouse_prefilters(project_id: int, search: IssueSearch) -> list[Prefilter]:
    """The ClickHouse queries ``search`` needs (column ``hash``), in a stable order."""
    filters: list[Prefilter] = []
    positive = [term for term in search.of_type(EventTerm) if not term.negated]
    if positive:
        params: dict[str, Any] = {}
        condition = " AND ".join(
            _event_condition(term, index, params) for index, term in enumerate(positive))
        filters.append(Prefilter("events", tuple(positive),
                                 _hash_query(project_id, condition, params)))
    for index, term in enumerate(search.of_type(EventTerm)):
        if term.negated:
            params = {}
            condition = _event_condition(EventTerm(term.key, term.values, term.column), 0,
                                         params)
            filters.append(Prefilter(f"not_{index}", (term,),
                                     _hash_query(project_id, condition, params)))
    for index, text in enumerate(search.of_type(TextTerm)):
        params = {"text": text.text}
        filters.append(Prefilter(
            f"text_{index}", (text,),
            _hash_query(project_id, "positionCaseInsensitiveUTF8(message, %(text)s) > 0",
                        params)))
    return filters


def check_hashes(hashes: Sequence[str]) -> None:
    """Refuse a pre-filter whose result was cut off by its limit."""
    if len(hashes) > MAX_MATCHED_HASHES:
        raise SearchTooBroad(
            "the search matches events of too many issues; add more terms to narrow it")


class _Builder:
    """Accumulates the conditions and positional parameters of the page query."""

    def __init__(self, page: PageRequest, hashes: Mapping[Term, Sequence[str]]) -> None:
        self.page = page
        self.hashes = hashes
        self.conditions = ["project_id = %s", "times_seen > 0"]
        self.params: list[Any] = [page.project_id]

    def add(self, condition: str, *params: Any, negated: bool = False) -> None:
        self.conditions.append(f"NOT ({condition})" if negated else condition)
        self.params.extend(params)

    def issues_of(self, term: Term) -> tuple[str, list[Any]]:
        """The condition "the issue owns one of the hashes matched for ``term``"."""
        return ("id IN (SELECT issue_id FROM grouphashes WHERE project_id = %s"
                " AND hash = ANY(%s))", [self.page.project_id, list(self.hashes[term])])

    def term(self, term: Term) -> None:
        if isinstance(term, StatusTerm):
            self.status(term)
        elif isinstance(term, FieldTerm):
            self.field(term)
        elif isinstance(term, NumberTerm):
            operator = _NUMBER_OPERATORS[term.operator]
            self.add(f"times_seen {operator} %s", term.value, negated=term.negated)
        elif isinstance(term, DateTerm):
            self.date(term)
        elif isinstance(term, TextTerm):
            self.text(term)
        elif term.negated:
            condition, params = self.issues_of(term)
            self.add(condition, *params, negated=True)

    def status(self, term: StatusTerm) -> None:
        if term.status == "assigned":
            self.add("assignee_id IS NOT NULL", negated=term.negated)
        elif term.status == "unassigned":
            self.add("assignee_id IS NULL", negated=term.negated)
        else:
            self.add("status = %s", term.status, negated=term.negated)

    def field(self, term: FieldTerm) -> None:
        values = list(term.values)
        if term.field == "level":
            self.add("level = ANY(%s)", values, negated=term.negated)
            return
        table, column = _FIELD_TABLES[term.field]
        match = f"t.{column} = ANY(%s)"
        params: list[Any] = [values]
        if term.field == "release" and "latest" in term.values:
            match = (f"({match} OR t.release = (SELECT release FROM project_releases"
                     " WHERE project_id = %s ORDER BY first_seen DESC, release DESC LIMIT 1))")
            params.append(self.page.project_id)
        self.add(f"EXISTS (SELECT 1 FROM {table} t WHERE t.issue_id = issues.id AND {match})",
                 *params, negated=term.negated)

    def date(self, term: DateTerm) -> None:
        column = _DATE_COLUMNS[term.field]
        parts: list[str] = []
        params: list[Any] = []
        if term.lower is not None:
            parts.append(f"{column} {'>=' if term.lower_inclusive else '>'} %s")
            params.append(term.lower.resolve(self.page.now))
        if term.upper is not None:
            parts.append(f"{column} {'<=' if term.upper_inclusive else '<'} %s")
            params.append(term.upper.resolve(self.page.now))
        self.add(" AND ".join(parts), *params, negated=term.negated)

    def text(self, term: TextTerm) -> None:
        pattern = "%" + _like_escape(term.text) + "%"
        in_events, params = self.issues_of(term)
        self.add(f"(title ILIKE %s OR culprit ILIKE %s OR {in_events})",
                 pattern, pattern, *params, negated=term.negated)


def _like_escape(text: str) -> str:
    """``text`` as a literal inside a LIKE pattern (backslash is PostgreSQL's escape)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def issue_page_sql(
    search: IssueSearch, page: PageRequest, hashes: Mapping[Term, Sequence[str]]
) -> tuple[str, list[Any]]:
    """The page query: ``page.limit + 1`` issues (to tell whether another page follows),
    sorted by the sort column then id, both descending. ``hashes`` holds the matched
    hashes of every event and text term. Columns: the issue's, plus ``sort_value``."""
    builder = _Builder(page, hashes)
    if page.status is not None:
        builder.add("status = %s", page.status)
    positive = [term for term in search.of_type(EventTerm) if not term.negated]
    if positive:
        condition, params = builder.issues_of(positive[0])
        builder.add(condition, *params)
    for term in search.terms:
        if not (isinstance(term, EventTerm) and not term.negated):
            builder.term(term)
    column = _SORT_COLUMNS[page.sort]
    if page.cursor is not None:
        builder.add(f"({column}, id) < (%s, %s)", page.cursor.value, page.cursor.issue_id)
    builder.params.append(page.limit + 1)
    sql = (
        f"SELECT {_ISSUE_COLUMNS}, {column} AS sort_value FROM issues"
        f" WHERE {' AND '.join(builder.conditions)}"
        f" ORDER BY {column} DESC, id DESC LIMIT %s"
    )
    return sql, builder.params


def prefilter_hashes(
    prefilters: Sequence[Prefilter], results: Sequence[Sequence[str]]
) -> dict[Term, Sequence[str]]:
    """Each term's matched hashes, from the pre-filters' results in the same order."""
    hashes: dict[Term, Sequence[str]] = {}
    for prefilter, found in zip(prefilters, results, strict=True):
        check_hashes(found)
        for term in prefilter.terms:
            hashes[term] = found
    return hashes
