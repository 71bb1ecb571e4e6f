"""Client-sent timestamps in items (sessions, client reports): ISO 8601 strings or numbers."""

from __future__ import annotations

import math
from datetime import UTC, datetime

# Longer strings are not timestamps; refusing them early keeps parsing cheap.
_MAX_TEXT = 64
# The stores take 1970..2105; anything outside cannot be a real client clock.
_EARLIEST = datetime(1970, 1, 2, tzinfo=UTC).timestamp()
_LATEST = datetime(2105, 12, 31, tzinfo=UTC).timestamp()


def parse_timestamp(value: object) -> float | None:
    """Epoch seconds from an RFC 3339 string or a UNIX timestamp; None when unusable.

    A string without a zone is read as UTC, as Sentry does.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        if isinstance(value, int) and abs(value) > _LATEST:  # float() could overflow
            return None
        seconds = float(value)
    elif isinstance(value, str) and len(value) <= _MAX_TEXT:
        try:
            moment = datetime.fromisoformat(value.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
            seconds = moment.timestamp()
        except (ValueError, OverflowError):
            return None
    else:
        return None
    if not math.isfinite(seconds) or not _EARLIEST <= seconds <= _LATEST:
        return None
    return seconds


def count_value(value: object, limit: int) -> int:
    """A client-sent count as a non-negative int clamped to ``limit``; 0 when not a count."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if isinstance(value, float) and (not math.isfinite(value) or value != int(value)):
        return 0
    return max(0, min(int(value), limit))
