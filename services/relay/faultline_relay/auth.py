"""DSN-key authentication: where SDKs put their key, and a cached key lookup.

An SDK names its DSN key in the ``X-Sentry-Auth`` header, in the ``sentry_key`` query
parameter (browsers, to avoid a CORS preflight) or in the envelope header's ``dsn``. When
several are present they must name the same key. A key authorises exactly one project; a
key used against any other project id is refused without saying whether that project
exists.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import psycopg

from faultline_core.dsn import parse_dsn, parse_sentry_auth
from faultline_core.storage.postgres.tenancy import ProjectKey
from faultline_relay.errors import forbidden, unauthorized, unavailable

log = logging.getLogger(__name__)

# Keys are 32 hex characters in practice; anything outside this shape cannot be a key and
# is refused before it can reach the database or the cache.
_PUBLIC_KEY_RE = re.compile(r"[A-Za-z0-9_.~-]{1,128}")
_MAX_SECRET_LENGTH = 256
# A miss is cached only briefly: long enough to absorb a flood of bad keys, short enough
# that a key created a moment ago starts working quickly.
NEGATIVE_TTL_S = 5.0
DB_RETRY_AFTER_S = 5


@dataclass(frozen=True)
class Credentials:
    """A DSN key as presented by a client; the secret is optional and deprecated."""

    public_key: str
    secret_key: str | None = None


def _credentials(public_key: str | None, secret: str | None, where: str) -> Credentials:
    if not public_key:
        raise unauthorized(f"missing sentry_key in {where}")
    if not _PUBLIC_KEY_RE.fullmatch(public_key):
        raise unauthorized(f"invalid sentry_key in {where}")
    if secret is not None and (not secret or len(secret) > _MAX_SECRET_LENGTH):
        raise unauthorized(f"invalid sentry_secret in {where}")
    return Credentials(public_key, secret)


def credentials_from_header(value: str | None) -> Credentials | None:
    """The key in an ``X-Sentry-Auth`` header value, or ``None`` without the header."""
    if value is None:
        return None
    try:
        pairs = parse_sentry_auth(value)
    except ValueError as exc:
        raise unauthorized("invalid X-Sentry-Auth header") from exc
    return _credentials(pairs.get("sentry_key"), pairs.get("sentry_secret"), "X-Sentry-Auth")


def credentials_from_query(params: Mapping[str, str]) -> Credentials | None:
    """The key in ``?sentry_key=…[&sentry_secret=…]``, or ``None`` if not given."""
    if "sentry_key" not in params and "sentry_secret" not in params:
        return None
    return _credentials(params.get("sentry_key"), params.get("sentry_secret"), "query string")


def credentials_from_dsn(dsn: object) -> Credentials | None:
    """The key in an envelope header's ``dsn``, or ``None`` if the header has none."""
    if dsn is None:
        return None
    if not isinstance(dsn, str):
        raise unauthorized("invalid dsn in envelope header")
    try:
        parsed = parse_dsn(dsn)
    except ValueError as exc:
        raise unauthorized("invalid dsn in envelope header") from exc
    return _credentials(parsed.public_key, parsed.secret_key, "envelope dsn")


def merge_credentials(*found: Credentials | None) -> Credentials | None:
    """One key from all the places a client may have named one; they must agree."""
    present = [credentials for credentials in found if credentials is not None]
    if not present:
        return None
    public_keys = {credentials.public_key for credentials in present}
    secrets = {credentials.secret_key for credentials in present} - {None}
    if len(public_keys) > 1 or len(secrets) > 1:
        raise unauthorized("conflicting DSN keys in the request")
    return Credentials(public_keys.pop(), secrets.pop() if secrets else None)


@dataclass
class _CacheEntry:
    expires_at: float
    key: ProjectKey | None


class KeyCache:
    """A TTL cache in front of the key lookup, so requests do not query the database.

    Misses are cached for at most :data:`NEGATIVE_TTL_S`. Concurrent lookups of the same
    key share one query. The cache holds at most ``max_entries``; the oldest go first.
    """

    def __init__(
        self,
        lookup: Callable[[str], Awaitable[ProjectKey | None]],
        ttl_s: float,
        *,
        max_entries: int = 50_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._ttl_s = ttl_s
        self._negative_ttl_s = min(ttl_s, NEGATIVE_TTL_S)
        self._max_entries = max_entries
        self._clock = clock
        self._entries: dict[str, _CacheEntry] = {}
        self._inflight: dict[str, asyncio.Task[ProjectKey | None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def get(self, public_key: str) -> ProjectKey | None:
        """The key's row (or ``None`` if no such key); lookup errors propagate."""
        entry = self._entries.get(public_key)
        if entry is not None and entry.expires_at > self._clock():
            return entry.key
        task = self._inflight.get(public_key)
        if task is None:
            task = asyncio.create_task(self._load(public_key))
            self._inflight[public_key] = task
            task.add_done_callback(lambda done: self._forget(public_key, done))
        # One cancelled waiter must not cancel the lookup the others are waiting on.
        return await asyncio.shield(task)

    def invalidate(self, public_key: str) -> None:
        self._entries.pop(public_key, None)

    async def _load(self, public_key: str) -> ProjectKey | None:
        key = await self._lookup(public_key)
        ttl = self._ttl_s if key is not None else self._negative_ttl_s
        self._entries.pop(public_key, None)
        while len(self._entries) >= self._max_entries:
            del self._entries[next(iter(self._entries))]
        self._entries[public_key] = _CacheEntry(self._clock() + ttl, key)
        return key

    def _forget(self, public_key: str, done: asyncio.Task[ProjectKey | None]) -> None:
        if self._inflight.get(public_key) is done:
            del self._inflight[public_key]
        if not done.cancelled():
            # Mark the error as seen; every waiter already received it.
            done.exception()


def _is_numeric_id(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 18


async def authenticate(
    keys: KeyCache, credentials: Credentials | None, project_id_text: str
) -> ProjectKey:
    """The active key that authorises ``project_id_text``; otherwise a 401/403/503 error."""
    key = await authenticate_key(keys, credentials)
    if not _is_numeric_id(project_id_text) or int(project_id_text) != key.project_id:
        raise forbidden("DSN key is not valid for this project")
    return key


async def authenticate_key(keys: KeyCache, credentials: Credentials | None) -> ProjectKey:
    """The active key named by ``credentials``, whatever its project; else 401/403/503.

    For transports without a project id in the address (the legacy UDP listener), the
    key alone decides the project.
    """
    if credentials is None:
        raise unauthorized("missing authorization information")
    try:
        key = await keys.get(credentials.public_key)
    except (psycopg.Error, OSError) as exc:
        log.warning("DSN key lookup failed: %s", type(exc).__name__)
        raise unavailable("cannot verify the DSN key right now", DB_RETRY_AFTER_S) from exc
    if key is None:
        raise unauthorized("unknown DSN key")
    if credentials.secret_key is not None and not (
        key.secret_key is not None
        and hmac.compare_digest(credentials.secret_key.encode(), key.secret_key.encode())
    ):
        raise unauthorized("invalid DSN secret")
    if not key.is_active:
        raise forbidden("DSN key is disabled")
    return key

