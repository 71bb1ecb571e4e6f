"""Rate limits and quotas on error events: fixed windows, counted in-process.

Three limits apply to an event, and it is accepted only if all of them have room:

* the DSN key's own limit: ``rate_limit_count`` events per ``rate_limit_window`` seconds
  (scope ``key``, reason ``key_quota``);
* the project's ``quota_per_minute`` and ``quota_per_hour`` over all of its keys (scope
  ``project``, reason ``project_quota``).

Only error events (``event`` items, store and security reports) are charged; sessions,
logs, client reports and the rest pass freely, so the 429 names only the categories
``error;default;security`` and an SDK keeps sending the others.

Each relay process counts on its own, so with N relay replicas a key or project can get up
to N times its limit; that is the usual trade-off for keeping the hot path free of shared
state. Limits arrive with the key lookup, so a change applies once the relay's key cache
entry expires (``FAULTLINE_RELAY_KEY_CACHE_TTL_S``, 30 s by default).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from faultline_core.storage.postgres.tenancy import ProjectKey
from faultline_relay.errors import Outcome, RelayError

# The data categories an exhausted event quota closes (as Sentry names them).
LIMITED_CATEGORIES = "error;default;security"
OUTCOME_CATEGORY = "error"
KEY_QUOTA = "key_quota"
PROJECT_QUOTA = "project_quota"


@dataclass(frozen=True)
class Quota:
    """One limit that applies to a key: ``count`` events per ``window_s`` seconds."""

    scope: str
    """``key`` or ``project``: the scope SDKs read in ``X-Sentry-Rate-Limits``."""
    scope_id: str
    count: int
    window_s: int
    reason: str


@dataclass(frozen=True)
class Exhausted:
    """A quota without room, and the seconds until its window ends."""

    quota: Quota
    retry_after_s: int


@dataclass(frozen=True)
class Refusal:
    """Why events were refused: every exhausted quota (at least one)."""

    exhausted: tuple[Exhausted, ...]

    @property
    def retry_after_s(self) -> int:
        """When the refused events could be admitted: once every exhausted window ended."""
        return max(item.retry_after_s for item in self.exhausted)

    @property
    def reason(self) -> str:
        """The reason of the quota that stays exhausted longest (the outcome's reason)."""
        return max(self.exhausted, key=lambda item: item.retry_after_s).quota.reason

    def error(self) -> RelayError:
        """The 429 SDKs back off on (for the error categories only)."""
        return rate_limited(self)


def rate_limits_header(refusal: Refusal) -> str:
    """``X-Sentry-Rate-Limits``: ``<seconds>:<categories>:<scope>:<reason>`` per exhausted
    quota, the longest last: SDKs that keep the last entry per category then wait longest."""
    ordered = sorted(refusal.exhausted, key=lambda item: item.retry_after_s)
    return ", ".join(
        f"{item.retry_after_s}:{LIMITED_CATEGORIES}:{item.quota.scope}:{item.quota.reason}"
        for item in ordered
    )


def rate_limited(refusal: Refusal) -> RelayError:
    """The 429 with ``Retry-After`` and ``X-Sentry-Rate-Limits``."""
    scopes = sorted({item.quota.scope for item in refusal.exhausted})
    return RelayError(
        429,
        f"{' and '.join(scopes)} quota exceeded for error events",
        Outcome.RATE_LIMITED,
        {
            "Retry-After": str(refusal.retry_after_s),
            "X-Sentry-Rate-Limits": rate_limits_header(refusal),
        },
    )


def quotas_for(key: ProjectKey) -> list[Quota]:
    """The limits that apply to events sent with ``key`` (none: unlimited)."""
    quotas: list[Quota] = []
    count, window = key.rate_limit_count, key.rate_limit_window
    if count is not None and window is not None and window > 0:
        quotas.append(Quota("key", key.public_key, max(count, 0), window, KEY_QUOTA))
    project = str(key.project_id)
    for count, window in ((key.quota_per_minute, 60), (key.quota_per_hour, 3600)):
        if count is not None:
            quotas.append(Quota("project", project, max(count, 0), window, PROJECT_QUOTA))
    return quotas


@dataclass
class _Window:
    start: float
    length_s: int
    used: int

    @property
    def end(self) -> float:
        return self.start + self.length_s


_WindowId = tuple[str, str, int]


class RateLimiter:
    """Counts accepted events per quota in the quota's current fixed window.

    Windows are aligned to multiples of their length. At most ``max_windows`` are kept:
    past that, ended windows are dropped first, then the oldest half (which forgets their
    counts: a brief leniency rather than unbounded memory).
    """

    def __init__(
        self, clock: Callable[[], float] = time.time, max_windows: int = 100_000
    ) -> None:
        self._clock = clock
        self._max_windows = max_windows
        self._windows: dict[_WindowId, _Window] = {}

    def __len__(self) -> int:
        return len(self._windows)

    def _current(self, quota: Quota, now: float) -> _Window:
        window_id = (quota.scope, quota.scope_id, quota.window_s)
        start = math.floor(now / quota.window_s) * quota.window_s
        window = self._windows.get(window_id)
        if window is None or window.start != start:
            if window is None and len(self._windows) >= self._max_windows:
                self._prune(now)
            window = _Window(start, quota.window_s, 0)
            self._windows[window_id] = window
        return window

    def _prune(self, now: float) -> None:
        # Windows that have ended hold nothing that still counts.
        stale = [k for k, w in self._windows.items() if w.end <= now]
        for window_id in stale or list(self._windows)[: max(1, len(self._windows) // 2)]:
            del self._windows[window_id]

    def retry_after(self, key: ProjectKey) -> Refusal | None:
        """A probe: the refusal if some quota has no room for even one event, else None."""
        return self._admit(key, 0)

    def try_consume(self, key: ProjectKey, quantity: int) -> Refusal | None:
        """Charge ``quantity`` events to every quota if all have room; else the refusal
        (and nothing is charged)."""
        return self._admit(key, quantity)

    def _admit(self, key: ProjectKey, quantity: int) -> Refusal | None:
        quotas = quotas_for(key)
        if not quotas:
            return None
        now = self._clock()
        windows = [(quota, self._current(quota, now)) for quota in quotas]
        # A zero-quantity probe is refused only once a window is full.
        needed = max(quantity, 1)
        exhausted = tuple(
            Exhausted(quota, max(1, math.ceil(window.end - now)))
            for quota, window in windows
            if window.used + needed > quota.count
        )
        if exhausted:
            return Refusal(exhausted)
        for _, window in windows:
            window.used += quantity
        return None
