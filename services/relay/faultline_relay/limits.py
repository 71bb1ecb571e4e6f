"""Per-DSN-key rate limiting: fixed windows of ``rate_limit_window`` seconds, in-process.

Each relay process enforces the key's limit on its own, so with N relay replicas a key can
get up to N times its limit; that is the usual trade-off for keeping the hot path free of
shared state.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from faultline_core.storage.postgres.tenancy import ProjectKey
from faultline_relay.errors import Outcome, RelayError


@dataclass
class _Window:
    start: float
    length_s: int
    used: int

    @property
    def end(self) -> float:
        return self.start + self.length_s


def rate_limited(retry_after_s: int) -> RelayError:
    """The 429 that tells SDKs to back off for every category of this key."""
    return RelayError(
        429,
        "DSN key rate limit exceeded",
        Outcome.RATE_LIMITED,
        {"Retry-After": str(retry_after_s), "X-Sentry-Rate-Limits": f"{retry_after_s}::key"},
    )


class RateLimiter:
    """Counts accepted events per DSN key in the key's current window."""

    def __init__(
        self, clock: Callable[[], float] = time.monotonic, max_tracked_keys: int = 100_000
    ) -> None:
        self._clock = clock
        self._max_tracked_keys = max_tracked_keys
        self._windows: dict[str, _Window] = {}

    @staticmethod
    def _limit(key: ProjectKey) -> tuple[int, int] | None:
        count, window = key.rate_limit_count, key.rate_limit_window
        if count is None or window is None or window <= 0:
            return None
        return max(count, 0), window

    def _current(self, public_key: str, window_s: int, now: float) -> _Window:
        start = math.floor(now / window_s) * window_s
        window = self._windows.get(public_key)
        if window is None or window.start != start or window.length_s != window_s:
            if window is None and len(self._windows) >= self._max_tracked_keys:
                self._prune(now)
            window = _Window(start, window_s, 0)
            self._windows[public_key] = window
        return window

    def _prune(self, now: float) -> None:
        # Windows that have ended hold nothing that still counts.
        stale = [k for k, w in self._windows.items() if w.end <= now]
        for public_key in stale or list(self._windows)[: len(self._windows) // 2]:
            del self._windows[public_key]

    def retry_after(self, key: ProjectKey) -> int | None:
        """Seconds until the key may send again if its window is used up, else ``None``."""
        return self._admit(key, 0)

    def try_consume(self, key: ProjectKey, quantity: int) -> int | None:
        """Count ``quantity`` events if they all fit; else return the seconds to wait."""
        return self._admit(key, quantity)

    def _admit(self, key: ProjectKey, quantity: int) -> int | None:
        limit = self._limit(key)
        if limit is None:
            return None
        count, window_s = limit
        now = self._clock()
        window = self._current(key.public_key, window_s, now)
        # A zero-quantity probe is refused only once the window is full.
        needed = max(quantity, 1)
        if window.used + needed > count:
            return max(1, math.ceil(window.end - now))
        window.used += quantity
        return None
