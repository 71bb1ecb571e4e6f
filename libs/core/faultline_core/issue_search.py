"""Sentry's issue search syntax, parsed into typed filters (pure: no I/O, no clock).

Grammar (terms are separated by whitespace and all must match)::

    term   := ["!"] key ":" value  |  ["!"] free text word  |  ["!"] '"' quoted phrase '"'
    key    := name (letters, digits, "_", ".", "-")  |  "tags[" tag key "]"
    value  := word  |  '"' text '"'  |  "[" value ("," value)* "]"   (a list: any of them)

Keys: ``is`` (unresolved, resolved, ignored/archived, assigned, unassigned), ``level``,
``environment``, ``release`` (``latest``: the project's newest release), ``times_seen``
(``timesSeen``) with ``>``, ``>=``, ``<``, ``<=`` or an exact number, ``firstSeen``
(``first_seen``, ``age``) and ``lastSeen`` (``last_seen``) with a relative time
(``-24h``: within the last 24 hours, ``+7d``: longer ago than 7 days; units s, m, h, d, w)
or an ISO date or time after an operator (``>2026-01-01``; a bare date means that whole
UTC day), ``user.email``/``user.id``/``user.username``/``user.ip``, ``message`` (same as
free text), ``tags[key]`` and any other key, which names a tag. ``!`` negates a term.
Free text (each word or quoted phrase) is a case-insensitive substring of the issue's
title or culprit or of an event's message; ``!word`` keeps the issues without it.

Everything is bounded (query length, number of terms, value lengths, list sizes), and
any malformed input raises :class:`SearchSyntaxError` with a message safe to show.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal, TypeVar

MAX_QUERY_CHARS = 1000
MAX_TERMS = 30
MAX_EVENT_TERMS = 10
"""Terms answered from ClickHouse (tags, user fields, free text): one query each."""
MAX_VALUE_CHARS = 200
MAX_LIST_VALUES = 20
MAX_NUMBER = 2**63 - 1
MAX_AGO = timedelta(days=3650)

Operator = Literal[">", ">=", "<", "<="]
Status = Literal["unresolved", "resolved", "ignored", "assigned", "unassigned"]
IssueField = Literal["level", "environment", "release"]
DateField = Literal["first_seen", "last_seen"]

STATUS_VALUES: dict[str, Status] = {
    "unresolved": "unresolved", "resolved": "resolved", "ignored": "ignored",
    "archived": "ignored", "assigned": "assigned", "unassigned": "unassigned",
}
LEVELS = ("fatal", "error", "warning", "info", "debug")
# Event attributes with a column of their own in ClickHouse's errors table.
USER_COLUMNS: dict[str, str] = {
    "user.email": "user_email", "user.id": "user_id",
    "user.username": "user_name", "user.ip": "ip_address",
}
_DATE_KEYS: dict[str, DateField] = {
    "firstseen": "first_seen", "first_seen": "first_seen", "age": "first_seen",
    "lastseen": "last_seen", "last_seen": "last_seen",
}
_NUMBER_KEYS = frozenset({"times_seen", "timesseen"})
_KEY = re.compile(r"(!?)(tags\[[^\]\s\"]{1,200}\]|[A-Za-z_][A-Za-z0-9_.\-]{0,199}):")
_RELATIVE = re.compile(r"([+-]?)(\d{1,6})([smhdw])")
_OPERATOR = re.compile(r">=|<=|>|<")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class SearchSyntaxError(ValueError):
    """The search cannot be parsed; the message says why and is safe to show."""


@dataclass(frozen=True)
class StatusTerm:
    status: Status
    negated: bool = False


@dataclass(frozen=True)
class FieldTerm:
    """An issue attribute kept in PostgreSQL equals any of ``values``."""

    field: IssueField
    values: tuple[str, ...]
    negated: bool = False


@dataclass(frozen=True)
class NumberTerm:
    field: Literal["times_seen"]
    operator: Literal[">", ">=", "<", "<=", "="]
    value: int
    negated: bool = False


@dataclass(frozen=True)
class Moment:
    """An absolute time, or a span before the moment the search runs."""

    at: datetime | None = None
    ago: timedelta | None = None

    def resolve(self, now: datetime) -> datetime:
        if self.at is not None:
            return self.at
        return now - (self.ago or timedelta())


@dataclass(frozen=True)
class DateTerm:
    """``lower`` < (or <=) the field < (or <=) ``upper``; either bound may be absent."""

    field: DateField
    lower: Moment | None = None
    lower_inclusive: bool = True
    upper: Moment | None = None
    upper_inclusive: bool = True
    negated: bool = False


@dataclass(frozen=True)
class EventTerm:
    """Some event of the issue has ``key`` (a tag, or a user column) in ``values``."""

    key: str
    values: tuple[str, ...]
    column: str | None = None
    """The errors-table column for user fields; None for a tag."""
    negated: bool = False


@dataclass(frozen=True)
class TextTerm:
    text: str
    negated: bool = False


Term = StatusTerm | FieldTerm | NumberTerm | DateTerm | EventTerm | TextTerm
T = TypeVar("T")


@dataclass(frozen=True)
class IssueSearch:
    """A parsed search: every term must match."""

    terms: tuple[Term, ...] = ()

    def of_type(self, kind: type[T]) -> list[T]:
        """The terms of one kind, in the order they were written."""
        return [term for term in self.terms if isinstance(term, kind)]


def parse_issue_search(query: str) -> IssueSearch:
    """Parse ``query`` (empty: no filter); :class:`SearchSyntaxError` when malformed."""
    if len(query) > MAX_QUERY_CHARS:
        raise SearchSyntaxError(f"the search may be at most {MAX_QUERY_CHARS} characters")
    terms: list[Term] = []
    position = 0
    while True:
        while position < len(query) and query[position].isspace():
            position += 1
        if position >= len(query):
            break
        term, position = _term(query, position)
        terms.append(term)
        if len(terms) > MAX_TERMS:
            raise SearchSyntaxError(f"the search may have at most {MAX_TERMS} terms")
    event_terms = sum(isinstance(term, EventTerm | TextTerm) for term in terms)
    if event_terms > MAX_EVENT_TERMS:
        raise SearchSyntaxError(
            f"at most {MAX_EVENT_TERMS} tag, user and text terms may be combined")
    return IssueSearch(tuple(terms))


def _term(query: str, position: int) -> tuple[Term, int]:
    negated = query.startswith("!", position) and position + 1 < len(query) \
        and not query[position + 1].isspace()
    start = position + 1 if negated else position
    if query[start] == '"':
        text, position = _quoted(query, start)
        return _text(text, negated), position
    match = _KEY.match(query, position)
    if match is None:
        end = _word_end(query, position)
        return _text(query[start:end], negated), end
    negated, key = match.group(1) == "!", match.group(2)
    values, position = _values(query, match.end(), key)
    return _keyed(key, values, negated), position


def _word_end(query: str, position: int) -> int:
    end = position
    while end < len(query) and not query[end].isspace():
        end += 1
    return end


def _quoted(query: str, position: int) -> tuple[str, int]:
    """The text of the quoted string starting at ``position`` (``\\"`` escapes a quote)."""
    chars: list[str] = []
    index = position + 1
    while index < len(query):
        char = query[index]
        if char == "\\" and index + 1 < len(query) and query[index + 1] in '"\\':
            chars.append(query[index + 1])
            index += 2
        elif char == '"':
            return "".join(chars), index + 1
        else:
            chars.append(char)
            index += 1
    raise SearchSyntaxError("a quoted value is missing its closing quote")


def _values(query: str, position: int, key: str) -> tuple[tuple[str, ...], int]:
    if position >= len(query) or query[position].isspace():
        raise SearchSyntaxError(f"{key[:40]}: needs a value")
    if query[position] == '"':
        value, position = _quoted(query, position)
        return (_bounded(value, key),), position
    if query[position] != "[":
        end = _word_end(query, position)
        return (_bounded(query[position:end], key),), end
    close = query.find("]", position)
    if close < 0:
        raise SearchSyntaxError(f"the list of {key[:40]}: is missing its closing ]")
    items = [item.strip().strip('"') for item in query[position + 1:close].split(",")]
    if len(items) > MAX_LIST_VALUES:
        raise SearchSyntaxError(f"a list may hold at most {MAX_LIST_VALUES} values")
    return tuple(_bounded(item, key) for item in items), close + 1


def _bounded(value: str, key: str) -> str:
    if not value:
        raise SearchSyntaxError(f"{key[:40]}: needs a value")
    if len(value) > MAX_VALUE_CHARS:
        raise SearchSyntaxError(f"values may be at most {MAX_VALUE_CHARS} characters")
    return value


def _text(text: str, negated: bool) -> TextTerm:
    if not text:
        raise SearchSyntaxError("a quoted phrase must not be empty")
    return TextTerm(_bounded(text, "text"), negated)


def _keyed(key: str, values: tuple[str, ...], negated: bool) -> Term:
    lowered = key.lower()
    if lowered == "is":
        return StatusTerm(_status(_single(key, values)), negated)
    if lowered == "level":
        unknown = [value for value in values if value.lower() not in LEVELS]
        if unknown:
            raise SearchSyntaxError(f"level must be one of {', '.join(LEVELS)}")
        return FieldTerm("level", tuple(value.lower() for value in values), negated)
    if lowered in ("environment", "release"):
        return FieldTerm("environment" if lowered == "environment" else "release",
                         values, negated)
    if lowered in _NUMBER_KEYS:
        return _number(_single(key, values), negated)
    if lowered in _DATE_KEYS:
        return _date(_DATE_KEYS[lowered], _single(key, values), negated)
    if lowered == "message":
        return _text(_single(key, values), negated)
    if lowered in USER_COLUMNS:
        return EventTerm(lowered, values, USER_COLUMNS[lowered], negated)
    if lowered.startswith("tags["):
        return EventTerm(key[5:-1], values, None, negated)
    return EventTerm(key, values, None, negated)


def _single(key: str, values: tuple[str, ...]) -> str:
    if len(values) != 1:
        raise SearchSyntaxError(f"{key}: takes one value, not a list")
    return values[0]


def _status(value: str) -> Status:
    status = STATUS_VALUES.get(value.lower())
    if status is None:
        raise SearchSyntaxError(f"is: must be one of {', '.join(STATUS_VALUES)}")
    return status


def _split_operator(value: str) -> tuple[Operator | None, str]:
    match = _OPERATOR.match(value)
    if match is None:
        return None, value
    operator: Operator = match.group(0)  # type: ignore[assignment]
    return operator, value[match.end():]


def _number(value: str, negated: bool) -> NumberTerm:
    operator, digits = _split_operator(value)
    if not digits.isascii() or not digits.isdigit() or len(digits) > 19:
        raise SearchSyntaxError("times_seen: needs a whole number, like times_seen:>10")
    number = int(digits)
    if number > MAX_NUMBER:
        raise SearchSyntaxError("times_seen: is out of range")
    return NumberTerm("times_seen", operator or "=", number, negated)


def _date(field: DateField, value: str, negated: bool) -> DateTerm:
    operator, rest = _split_operator(value)
    relative = _RELATIVE.fullmatch(rest)
    if relative is not None:
        if operator is not None:
            raise SearchSyntaxError(
                f"{field}: a relative time takes - (within) or + (older than), not {operator}")
        ago = timedelta(**{_UNITS[relative.group(3)]: int(relative.group(2))})
        if ago > MAX_AGO:
            raise SearchSyntaxError(f"{field}: relative times may reach back 10 years")
        moment = Moment(ago=ago)
        if relative.group(1) == "+":
            return DateTerm(field, upper=moment, negated=negated)
        return DateTerm(field, lower=moment, negated=negated)
    moment, whole_day = _absolute(field, rest)
    if operator is None:
        if not whole_day:
            raise SearchSyntaxError(f"{field}: a date and time needs >, >=, < or <=")
        assert moment.at is not None
        if moment.at.year == datetime.max.year and moment.at.month == 12 \
                and moment.at.day == 31:
            raise SearchSyntaxError(f"{field}: the date is out of range")
        next_day = Moment(at=moment.at + timedelta(days=1))
        return DateTerm(field, moment, True, next_day, False, negated)
    if operator.startswith(">"):
        return DateTerm(field, lower=moment, lower_inclusive=operator == ">=", negated=negated)
    return DateTerm(field, upper=moment, upper_inclusive=operator == "<=", negated=negated)


def _absolute(field: DateField, text: str) -> tuple[Moment, bool]:
    """The moment of an ISO date or date-time (UTC unless an offset is given), and
    whether it was a bare date."""
    try:
        if len(text) == 10:
            day = datetime.strptime(text, "%Y-%m-%d").date()
            return Moment(at=datetime.combine(day, time(), UTC)), True
        parsed = datetime.fromisoformat(text)
    except ValueError as exc:
        raise SearchSyntaxError(
            f"{field}: needs -24h, +7d or an ISO date like >2026-01-01") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return Moment(at=parsed), False
