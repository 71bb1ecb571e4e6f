"""The issue search parser: every term type, negation, quoting, errors and hostile input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faultline_core.issue_search import (
    MAX_QUERY_CHARS,
    MAX_TERMS,
    DateTerm,
    EventTerm,
    FieldTerm,
    IssueSearch,
    Moment,
    NumberTerm,
    SearchSyntaxError,
    StatusTerm,
    TextTerm,
    parse_issue_search,
)
from tests import hypothesis_profiles  # noqa: F401  (loads the profile)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def one(query: str) -> object:
    terms = parse_issue_search(query).terms
    assert len(terms) == 1, terms
    return terms[0]


def test_empty_search_has_no_terms() -> None:
    assert parse_issue_search("") == IssueSearch(())
    assert parse_issue_search("   \t ") == IssueSearch(())


@pytest.mark.parametrize(("query", "status"), [
    ("is:unresolved", "unresolved"), ("is:resolved", "resolved"), ("is:ignored", "ignored"),
    ("is:archived", "ignored"), ("is:assigned", "assigned"), ("is:unassigned", "unassigned"),
    ("IS:Resolved", "resolved"),
])
def test_status_terms(query: str, status: str) -> None:
    assert one(query) == StatusTerm(status)  # type: ignore[arg-type]


def test_negation_of_every_kind() -> None:
    terms = parse_issue_search(
        '!is:resolved !level:error !environment:prod !times_seen:5 !firstSeen:-1h'
        ' !browser:Chrome !user.email:a@b.c !message:boom').terms
    assert all(term.negated for term in terms)
    assert [type(term) for term in terms] == [
        StatusTerm, FieldTerm, FieldTerm, NumberTerm, DateTerm, EventTerm, EventTerm, TextTerm]


def test_fields_and_lists() -> None:
    assert one("level:ERROR") == FieldTerm("level", ("error",))
    assert one("level:[error, fatal]") == FieldTerm("level", ("error", "fatal"))
    assert one("environment:production") == FieldTerm("environment", ("production",))
    assert one('release:"my app@1.0 beta"') == FieldTerm("release", ("my app@1.0 beta",))
    assert one("release:latest") == FieldTerm("release", ("latest",))


@pytest.mark.parametrize(("query", "operator", "value"), [
    ("times_seen:>10", ">", 10), ("timesSeen:>=3", ">=", 3), ("times_seen:<2", "<", 2),
    ("times_seen:<=0", "<=", 0), ("times_seen:7", "=", 7),
])
def test_number_terms(query: str, operator: str, value: int) -> None:
    assert one(query) == NumberTerm("times_seen", operator, value)  # type: ignore[arg-type]


def test_relative_dates() -> None:
    within = one("firstSeen:-24h")
    assert within == DateTerm("first_seen", lower=Moment(ago=timedelta(hours=24)))
    older = one("lastSeen:+7d")
    assert older == DateTerm("last_seen", upper=Moment(ago=timedelta(days=7)))
    assert isinstance(older, DateTerm) and older.upper is not None
    assert older.upper.resolve(NOW) == NOW - timedelta(days=7)
    assert one("age:-30m") == DateTerm("first_seen", lower=Moment(ago=timedelta(minutes=30)))
    assert one("last_seen:-2w") == DateTerm("last_seen", lower=Moment(ago=timedelta(weeks=2)))


def test_absolute_dates() -> None:
    jan1 = datetime(2026, 1, 1, tzinfo=UTC)
    assert one("firstSeen:>2026-01-01") == DateTerm(
        "first_seen", lower=Moment(at=jan1), lower_inclusive=False)
    assert one("lastSeen:<=2026-01-01T10:30:00+02:00") == DateTerm(
        "last_seen", upper=Moment(at=datetime(2026, 1, 1, 8, 30, tzinfo=UTC)))
    assert one("firstSeen:2026-01-01") == DateTerm(
        "first_seen", Moment(at=jan1), True, Moment(at=jan1 + timedelta(days=1)), False)


def test_event_terms() -> None:
    assert one("user.email:a@example.com") == EventTerm(
        "user.email", ("a@example.com",), "user_email")
    assert one("user.id:42") == EventTerm("user.id", ("42",), "user_id")
    # Tag keys hold no whitespace: this is two words of free text.
    assert parse_issue_search("tags[server name]:x").terms == (
        TextTerm("tags[server"), TextTerm("name]:x"))
    assert one("tags[os.name]:Linux") == EventTerm("os.name", ("Linux",))
    assert one('browser:"Chrome 120"') == EventTerm("browser", ("Chrome 120",))
    assert one("custom-key:[a,b]") == EventTerm("custom-key", ("a", "b"))


def test_free_text_words_and_phrases() -> None:
    terms = parse_issue_search('ZeroDivisionError "division by zero" level:error x').terms
    assert terms == (TextTerm("ZeroDivisionError"), TextTerm("division by zero"),
                     FieldTerm("level", ("error",)), TextTerm("x"))
    assert one(r'"say \"hi\""') == TextTerm('say "hi"')
    assert one("message:boom") == TextTerm("boom")
    assert parse_issue_search('!card !"two words" ! !').terms == (
        TextTerm("card", True), TextTerm("two words", True), TextTerm("!"), TextTerm("!"))


@pytest.mark.parametrize(("query", "message"), [
    ("is:bogus", "is: must be one of"),
    ("is:[resolved,ignored]", "takes one value"),
    ("level:loud", "level must be one of"),
    ("times_seen:>ten", "whole number"),
    ("times_seen:99999999999999999999", "whole number"),
    ("firstSeen:yesterday", "ISO date"),
    ("firstSeen:>-24h", "relative time"),
    ("firstSeen:2026-01-01T10:00:00", "needs >"),
    ("firstSeen:-99999w", "10 years"),
    ("browser:", "needs a value"),
    ('browser:""', "needs a value"),
    ('"unclosed', "closing quote"),
    ("browser:[a,b", "closing ]"),
    ("browser:[" + ",".join("x" * 21) + "]", "at most 20 values"),
    ("browser:" + "x" * 201, "at most 200 characters"),
    ('""', "must not be empty"),
])
def test_errors_say_why(query: str, message: str) -> None:
    with pytest.raises(SearchSyntaxError, match=message):
        parse_issue_search(query)


def test_bounds() -> None:
    with pytest.raises(SearchSyntaxError, match="at most 1000 characters"):
        parse_issue_search("a" * (MAX_QUERY_CHARS + 1))
    with pytest.raises(SearchSyntaxError, match=f"at most {MAX_TERMS} terms"):
        parse_issue_search("level:error " * (MAX_TERMS + 1))
    with pytest.raises(SearchSyntaxError, match="tag, user and text terms"):
        parse_issue_search(" ".join(f"k{index}:v" for index in range(11)))
    assert len(parse_issue_search("level:error " * MAX_TERMS).terms) == MAX_TERMS


def test_hostile_input_is_just_text() -> None:
    search = parse_issue_search("'; DROP TABLE issues; -- %_\\ \x00 \u202e")
    assert all(isinstance(term, TextTerm) for term in search.terms)
    assert one("a:b:c") == EventTerm("a", ("b:c",))


@given(st.text(max_size=300))
def test_any_text_parses_or_fails_cleanly(query: str) -> None:
    try:
        search = parse_issue_search(query)
    except SearchSyntaxError as exc:
        assert str(exc)
    else:
        assert len(search.terms) <= MAX_TERMS


_safe = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"),
                           blacklist_characters='"\\[],'),
    min_size=1, max_size=30,
).filter(lambda text: text.strip() == text)
_keys = st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True).filter(
    lambda key: key not in {"is", "level", "environment", "release", "times_seen",
                            "timesseen", "firstseen", "first_seen", "age", "lastseen",
                            "last_seen", "message"})


@given(st.lists(st.tuples(_keys, _safe, st.booleans()), min_size=1, max_size=5))
def test_quoted_tag_terms_round_trip(tags: list[tuple[str, str, bool]]) -> None:
    query = " ".join(f'{"!" if negated else ""}{key}:"{value}"' for key, value, negated in tags)
    assert parse_issue_search(query).terms == tuple(
        EventTerm(key, (value,), None, negated) for key, value, negated in tags)
