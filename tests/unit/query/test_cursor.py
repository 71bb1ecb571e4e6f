"""The opaque issue-list cursor: round trips, and refusal of anything forged or foreign."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from faultline_query.issues import Cursor, InvalidCursor, IssueSortKey


def _forge(payload: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        Cursor(IssueSortKey.LAST_SEEN, datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=UTC), 42),
        Cursor(
            IssueSortKey.FIRST_SEEN,
            datetime(2025, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=-3))),
            1,
        ),
        Cursor(IssueSortKey.TIMES_SEEN, 2**62, 2**63 - 1),
        Cursor(IssueSortKey.TIMES_SEEN, 0, 7),
    ],
)
def test_round_trip(cursor: Cursor) -> None:
    text = cursor.encode()
    assert text.isascii() and "=" not in text
    assert Cursor.decode(text) == cursor


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not base64 !!",
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
        _forge([1, 2]),
        _forge({"s": "last_seen", "v": "2025-01-02T03:04:05+00:00"}),
        _forge({"s": "title", "v": "x", "id": 1}),
        _forge({"s": "last_seen", "v": "yesterday", "id": 1}),
        _forge({"s": "last_seen", "v": "2025-01-02T03:04:05", "id": 1}),
        _forge({"s": "last_seen", "v": 5, "id": 1}),
        _forge({"s": "times_seen", "v": "5", "id": 1}),
        _forge({"s": "times_seen", "v": 2**63, "id": 1}),
        _forge({"s": "times_seen", "v": -1, "id": 1}),
        _forge({"s": "times_seen", "v": 5, "id": 0}),
        _forge({"s": "times_seen", "v": 5, "id": True}),
        _forge({"s": "times_seen", "v": 5, "id": 1.5}),
    ],
)
def test_forged_cursors_are_refused(text: str) -> None:
    with pytest.raises(InvalidCursor):
        Cursor.decode(text)
