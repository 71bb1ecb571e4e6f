"""Realistic events for the ClickHouse contract suite, and helpers to store them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from faultline_core.event import NormalizedEvent, UserInfo
from faultline_core.storage.clickhouse.base import ClickHouse, Row
from faultline_core.storage.clickhouse.errors_table import ERRORS_COLUMNS, errors_row

BASE_TIME = datetime(2024, 3, 4, 10, 15, 30, 250_000, tzinfo=UTC)


def event_data(index: int) -> dict[str, Any]:
    """The event body: SDK, request, a chained exception with frames, and extra data."""
    return {
        "event_id": f"{index:032x}",
        "sdk": {"name": "sentry.python", "version": "2.19.0"},
        "request": {"method": "post", "url": f"https://example.com/items/{index}"},
        "exception": {"values": [
            {"type": "KeyError", "value": "'id'", "stacktrace": {"frames": []}},
            {
                "type": "ValueError",
                "value": f"bad value {index}",
                "mechanism": {"type": "generic", "handled": False},
                "stacktrace": {"frames": [
                    {"filename": "app/main.py", "function": "handle", "module": "app.main",
                     "lineno": 10, "in_app": True},
                    {"abs_path": "/usr/lib/python3/json/decoder.py", "function": "decode",
                     "module": "json.decoder", "lineno": 337, "in_app": False},
                ]},
            },
        ]},
        "extra": {"nested": {"list": [1, 2.5, None, "x"]}},
    }


def make_event(
    index: int = 0,
    *,
    project_id: int = 1,
    timestamp: datetime = BASE_TIME,
    tags: tuple[tuple[str, str], ...] = (),
    level: str = "error",
) -> NormalizedEvent:
    """A realistic event with every stored field set; ``index`` makes it distinct."""
    event_tags = tags or (
        ("browser", "Chrome 120"), ("browser.name", "Chrome"), ("os", "Linux"),
        ("os.name", "Linux"), ("runtime", "CPython 3.11"), ("level", "error"),
    )
    return NormalizedEvent(
        project_id=project_id,
        event_id=f"{index:032x}",
        timestamp=timestamp,
        received=timestamp + timedelta(seconds=2),
        platform="python",
        level=level,
        environment="production",
        release="app@1.2.3",
        dist="7",
        logger="app.views",
        transaction="/items/{id}",
        server_name="web-1",
        title=f"ValueError: bad value {index}",
        culprit="app.main in handle",
        message=f"bad value {index}",
        user=UserInfo(id=f"u{index}", username="ann", email="ann@example.com",
                      ip_address="10.0.0.1"),
        tags=event_tags,
        contexts=(("browser.name", "Chrome"), ("os.version", "6.1")),
        data=event_data(index),
    )


async def insert_events(
    ch: ClickHouse, events: list[NormalizedEvent], group_id: int = 7
) -> None:
    rows = [errors_row(event, group_id, f"{group_id:032x}") for event in events]
    await ch.insert("errors", ERRORS_COLUMNS, rows)


def expected_stored(row: tuple[Any, ...]) -> Row:
    """What reading ``row`` back should give: DateTime loses sub-second precision."""
    expected = dict(zip(ERRORS_COLUMNS, row, strict=True))
    for column in ("timestamp", "received"):
        expected[column] = expected[column].replace(microsecond=0)
    return expected


def varied_events() -> list[NormalizedEvent]:
    levels = ["error", "warning", "error", "fatal", "warning", "error"]
    events = []
    for i, level in enumerate(levels):
        event = make_event(
            i, timestamp=BASE_TIME + timedelta(minutes=37 * i), level=level,
            tags=(("level", level), ("browser.name", ["Chrome", "Firefox"][i % 2])),
        )
        events.append(event)
    return events
