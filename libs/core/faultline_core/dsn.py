"""DSN and ``X-Sentry-Auth`` parsing (pure).

A DSN is ``{scheme}://{public_key}[:{secret}]@{host}[:{port}]{path}/{project_id}``; every
part is a string, including the project id. The secret is deprecated and optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

_AUTH_SCHEME = "sentry"
_DSN_SCHEMES = frozenset({"http", "https"})


def parse_sentry_auth(header: str) -> dict[str, str]:
    """Parse ``Sentry sentry_version=7, sentry_client=x/1.0, sentry_key=abc, …``.

    The ``Sentry`` prefix is optional and whitespace around parts is ignored. Keys are
    returned as sent (``sentry_key``, ``sentry_version``…); a value wrapped in double
    quotes is unwrapped. Parts without ``=`` are ignored. Raises ``ValueError`` when
    the header holds no ``key=value`` pair at all.
    """
    text = header.strip()
    words = text.split(None, 1)
    if words and words[0].lower() == _AUTH_SCHEME:
        text = words[1] if len(words) > 1 else ""
    pairs: dict[str, str] = {}
    for part in text.split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or not key:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        pairs[key] = value
    if not pairs:
        raise ValueError("X-Sentry-Auth header has no key=value pairs")
    return pairs


@dataclass(frozen=True)
class Dsn:
    scheme: str
    public_key: str
    secret_key: str | None
    host: str
    port: int | None
    path: str
    """The prefix before the project id: ``""`` or e.g. ``"/sentry"`` (no trailing /)."""
    project_id: str

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"

    def endpoint_url(self, endpoint: str) -> str:
        """The ingest URL an SDK posts to, e.g. ``endpoint_url("envelope")``."""
        return f"{self.scheme}://{self.netloc}{self.path}/api/{self.project_id}/{endpoint}/"

    def __str__(self) -> str:
        auth = quote(self.public_key, safe="")
        if self.secret_key is not None:
            auth += ":" + quote(self.secret_key, safe="")
        return f"{self.scheme}://{auth}@{self.netloc}{self.path}/{self.project_id}"


def parse_dsn(dsn: str) -> Dsn:
    """Parse a DSN string; raises ``ValueError`` saying which part is wrong."""
    try:
        parts = urlsplit(dsn.strip())
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid DSN: {exc}") from exc
    if parts.scheme not in _DSN_SCHEMES:
        raise ValueError(f"invalid DSN: scheme must be http or https, not {parts.scheme!r}")
    if not parts.username:
        raise ValueError("invalid DSN: missing public key")
    if not parts.hostname:
        raise ValueError("invalid DSN: missing host")
    prefix, _, project_id = parts.path.rstrip("/").rpartition("/")
    if not project_id:
        raise ValueError("invalid DSN: missing project id")
    return Dsn(
        scheme=parts.scheme,
        public_key=unquote(parts.username),
        secret_key=unquote(parts.password) if parts.password else None,
        host=parts.hostname,
        port=port,
        path=prefix,
        project_id=project_id,
    )
