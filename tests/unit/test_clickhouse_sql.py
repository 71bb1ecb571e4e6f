"""Client-side parameter rendering (the engines' view of it is in the contract suite)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from faultline_core.storage.clickhouse.sql import Identifier, literal, render


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "NULL"),
        (True, "1"),
        (False, "0"),
        (-7, "-7"),
        (2**64 - 1, "18446744073709551615"),
        (0.5, "0.5"),
        (float("nan"), "nan"),
        (float("-inf"), "-inf"),
        (Decimal("1.50"), "1.50"),
        ("plain", "'plain'"),
        ("it's", "'it\\'s'"),
        ("back\\slash", "'back\\\\slash'"),
        ("a\nb\tc\x00", "'a\\nb\\tc\\0'"),
        (datetime(2024, 1, 2, 3, 4, 5, 999_999), "'2024-01-02 03:04:05'"),
        (datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=3))),
         "'2024-01-02 00:04:05'"),
        (date(2024, 2, 29), "'2024-02-29'"),
        (uuid.UUID(int=1), "'00000000-0000-0000-0000-000000000001'"),
        ([1, "a", None], "[1, 'a', NULL]"),
        ((["x"], []), "[['x'], []]"),
        (Identifier("tags.key"), "`tags.key`"),
    ],
)
def test_literal_renders_each_type(value: Any, expected: str) -> None:
    assert literal(value) == expected


def test_render_substitutes_placeholders_and_percent_escapes() -> None:
    sql = "SELECT %(a)s, %(b)s FROM t WHERE x LIKE 'a%%' AND y LIKE '%b' AND z = %(a)s"
    assert render(sql, {"a": 1, "b": "q"}) == (
        "SELECT 1, 'q' FROM t WHERE x LIKE 'a%' AND y LIKE '%b' AND z = 1"
    )


def test_rendered_values_are_not_scanned_again() -> None:
    assert render("SELECT %(a)s, %(b)s", {"a": "%(b)s", "b": "%%"}) == "SELECT '%(b)s', '%%'"


def test_missing_parameter_is_a_key_error_naming_it() -> None:
    with pytest.raises(KeyError, match="'project'"):
        render("SELECT %(project)s", {"other": 1})
    with pytest.raises(KeyError, match="'project'"):
        render("SELECT %(project)s", None)


def test_unsupported_values_are_type_errors() -> None:
    with pytest.raises(TypeError, match="dict"):
        literal({"a": 1})
    with pytest.raises(TypeError, match="object"):
        render("SELECT %(a)s", {"a": object()})


@pytest.mark.parametrize("name", ["", "1abc", "a b", "a`b", "a;b", "a.", "errors`; DROP"])
def test_identifier_rejects_anything_but_plain_names(name: str) -> None:
    with pytest.raises(ValueError, match="identifier"):
        Identifier(name)


def test_quote_escapes_leave_no_bare_quote_inside_the_literal() -> None:
    hostile = "'\\'\\\\''; DROP TABLE errors; --"
    body = literal(hostile)[1:-1]
    # Every quote inside the literal is preceded by an odd number of backslashes.
    for index, char in enumerate(body):
        if char == "'":
            run = len(body[:index]) - len(body[:index].rstrip("\\"))
            assert run % 2 == 1
