"""Normalisers for an event's surroundings: request, contexts, breadcrumbs, tags, SDK
info and fingerprint (pure). Same conventions as :mod:`normalize_interfaces`."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Final

from faultline_core.normalize_body import parse_body
from faultline_core.normalize_interfaces import LEVELS, as_values, normalize_level
from faultline_core.normalize_values import (
    ErrorLog,
    JsonDict,
    cookie_pairs,
    iso_timestamp,
    mapping,
    pair_list,
    parse_timestamp,
    query_pairs,
    string,
    string_list,
    to_text,
    truncate,
)
from faultline_core.useragent import parse_browser, parse_os

MAX_TAG_LENGTH: Final = 200
_MAX_URL: Final = 2048
_MAX_SHORT: Final = 256
_MAX_BREADCRUMBS: Final = 100
_MAX_BREADCRUMB_MESSAGE: Final = 8192


def _title_case_header(name: str) -> str:
    # Services send the same few dozen header names with every event: cache those (only
    # short names, so hostile ones cannot fill the cache with megabytes).
    return _title_case_cached(name) if len(name) <= 64 else _title_case(name)


def _title_case(name: str) -> str:
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


_title_case_cached = lru_cache(maxsize=1024)(_title_case)


def _split_url(request: JsonDict, raw: JsonDict) -> None:
    """Move a query string / fragment embedded in ``url`` into their own fields."""
    url = request.get("url")
    if not url:
        return
    url, _, fragment = url.partition("#")
    url, has_query, query = url.partition("?")
    request["url"] = url
    if fragment and not raw.get("fragment"):
        request["fragment"] = fragment
    if has_query and raw.get("query_string") in (None, "", [], {}):
        request["query_string"] = query_pairs(query, "request.url", ErrorLog())


def _joined_header_lists(headers: object) -> object:
    """sentry-php sends PSR-7 headers (``{"Accept": ["a", "b"]}``); Relay joins a list of
    values with "," into one header value."""
    if not isinstance(headers, dict):
        return headers
    for value in headers.values():
        if type(value) is list:
            break
    else:
        return headers  # nothing to join: no copy
    return {key: ",".join(to_text(v) for v in value if v is not None)
            if isinstance(value, list) else value for key, value in headers.items()}


def normalize_request(raw: object, errors: ErrorLog) -> JsonDict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.invalid("request", raw)
        return None
    request: JsonDict = {}
    method = string(raw.get("method"), "request.method", errors, 32)
    if method:
        request["method"] = method.upper()
    for key, path in (("url", "request.url"), ("fragment", "request.fragment")):
        text = string(raw.get(key), path, errors, _MAX_URL)
        if text:
            request[key] = text
    query = query_pairs(raw.get("query_string"), "request.query_string", errors)
    if query:
        request["query_string"] = query
    _split_url(request, raw)
    headers = pair_list(_joined_header_lists(raw.get("headers")), "request.headers", errors)
    if headers:
        request["headers"] = [[_title_case_header(k), v] for k, v in headers]
    cookies = cookie_pairs(raw.get("cookies"), "request.cookies", errors)
    cookie_header = header_value(request, "Cookie")
    # SDKs often scrub the header to "[Filtered]"; only a real Cookie header parses.
    if cookies is None and cookie_header and "=" in cookie_header:
        cookies = cookie_pairs(cookie_header, "request.headers.Cookie", errors)
    if cookies:
        request["cookies"] = cookies
    if raw.get("data") is not None:
        # String bodies (JSON or form) are parsed into structured data, as Relay does.
        request["data"], inferred = parse_body(raw["data"], header_value(request, "Content-Type"))
        if inferred:
            request["inferred_content_type"] = inferred
    env = mapping(raw.get("env"), "request.env", errors)
    if env:
        request["env"] = env
    return request or None


def header_value(request: JsonDict | None, name: str) -> str | None:
    """A request header's value by (case-insensitive) name."""
    if not request:
        return None
    wanted = name.lower()
    for key, value in request.get("headers") or ():
        if key.lower() == wanted:
            return str(value)
    return None


def normalize_contexts(raw: object, user_agent: str | None, errors: ErrorLog) -> JsonDict:
    """Contexts keyed by name, each an object with a ``type``; browser and OS contexts
    are derived from the request's User-Agent when the SDK did not send them."""
    contexts: JsonDict = {}
    if isinstance(raw, dict):
        for key, value in raw.items():
            if isinstance(value, dict):
                contexts[key] = {"type": key, **value} if "type" not in value else value
            elif value is not None:
                errors.invalid(f"contexts.{key}", value)
    elif raw is not None:
        errors.invalid("contexts", raw)
    if user_agent:
        _derive_from_user_agent(contexts, user_agent)
    return contexts


def _derive_from_user_agent(contexts: JsonDict, user_agent: str) -> None:
    if "browser" not in contexts:
        browser = parse_browser(user_agent)
        if browser:
            contexts["browser"] = {"type": "browser", "name": browser.name}
            if browser.version:
                contexts["browser"]["version"] = browser.version
    # A server SDK's `os` context describes the server; the UA describes the client.
    os_key = "client_os" if "os" in contexts else "os"
    if os_key not in contexts:
        os_info = parse_os(user_agent)
        if os_info:
            contexts[os_key] = {"type": "os", "name": os_info.name}
            if os_info.version:
                contexts[os_key]["version"] = os_info.version


def _crumb_path(index: int) -> str:
    return f"breadcrumbs.values.{index}"


def normalize_breadcrumb(raw: object, index: int, errors: ErrorLog) -> JsonDict | None:
    """One breadcrumb; its location (``breadcrumbs.values.<index>``) is formatted only for
    an error."""
    if not isinstance(raw, dict):
        errors.invalid(_crumb_path(index), raw)
        return None
    crumb: JsonDict = {}
    if raw.get("timestamp") is not None:
        seconds = parse_timestamp(raw["timestamp"])
        if seconds is None:
            errors.invalid(f"{_crumb_path(index)}.timestamp", raw["timestamp"])
        else:
            crumb["timestamp"] = iso_timestamp(seconds)
    crumb_type = raw.get("type")
    if type(crumb_type) is not str or not crumb_type or len(crumb_type) > _MAX_SHORT:
        crumb_type = string(crumb_type, f"{_crumb_path(index)}.type", errors,
                            _MAX_SHORT) or "default"
    crumb["type"] = crumb_type
    category = raw.get("category")
    if type(category) is not str or len(category) > _MAX_SHORT:
        category = string(category, f"{_crumb_path(index)}.category", errors, _MAX_SHORT)
    if category:
        crumb["category"] = category
    message = raw.get("message")
    if message is not None:
        crumb["message"] = truncate(to_text(message), _MAX_BREADCRUMB_MESSAGE)
    level = raw.get("level")
    crumb["level"] = level if level in LEVELS else normalize_level(
        level, f"{_crumb_path(index)}.level", errors, "info")
    data = raw.get("data")
    if data is not None and type(data) is not dict:
        data = mapping(data, f"{_crumb_path(index)}.data", errors)
    if data:
        crumb["data"] = data
    return crumb


def normalize_breadcrumbs(raw: object, errors: ErrorLog) -> JsonDict | None:
    values = as_values(raw, "breadcrumbs", errors)
    if not values:
        return None
    start = max(0, len(values) - _MAX_BREADCRUMBS)  # the most recent ones matter
    kept = []
    for i, value in enumerate(values[start:], start):
        crumb = normalize_breadcrumb(value, i, errors)
        if crumb is not None:
            kept.append(crumb)
    return {"values": kept} if kept else None


def normalize_tags(raw: object, errors: ErrorLog) -> list[list[str]]:
    """Tags as ``[[key, value], …]``; keys and values capped at 200 characters, the
    first occurrence of a key wins."""
    pairs = pair_list(raw, "tags", errors, MAX_TAG_LENGTH) or []
    seen: set[str] = set()
    tags: list[list[str]] = []
    for key, value in pairs:
        key = key.strip()
        if key and key not in seen:
            seen.add(key)
            tags.append([key, value])
    return tags


def normalize_sdk(raw: object, errors: ErrorLog) -> JsonDict | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        errors.invalid("sdk", raw)
        return None
    sdk: JsonDict = {}
    for key in ("name", "version"):
        text = string(raw.get(key), f"sdk.{key}", errors, _MAX_SHORT)
        if text:
            sdk[key] = text
    integrations = string_list(raw.get("integrations"), "sdk.integrations", errors, _MAX_SHORT)
    if integrations:
        sdk["integrations"] = integrations
    packages = raw.get("packages")
    if isinstance(packages, list):
        sdk["packages"] = [p for p in packages if isinstance(p, dict)]
    elif packages is not None:
        errors.invalid("sdk.packages", packages)
    return sdk or None


def normalize_fingerprint(raw: object, errors: ErrorLog) -> list[str] | None:
    """A list of strings; other scalars are stringified, a bare string is wrapped."""
    if raw is None:
        return None
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        errors.invalid("fingerprint", raw)
        return None
    parts: list[str] = []
    for i, item in enumerate(raw):
        if item is None or isinstance(item, dict | list):
            errors.invalid(f"fingerprint.{i}", item)
            continue
        parts.append(truncate(to_text(item), 1024))
    return parts or None


def normalize_string_map(raw: object, path: str, errors: ErrorLog) -> dict[str, str] | None:
    """``modules``: package name → version, both strings."""
    value = mapping(raw, path, errors)
    if value is None:
        return None
    for item in value.values():
        if type(item) is not str:
            return {k: to_text(v) for k, v in value.items() if v is not None}
    return value  # already all strings (sentry-python's modules): nothing to convert


def user_agent_of(request: JsonDict | None) -> str | None:
    return header_value(request, "User-Agent")


def env_remote_addr(request: JsonDict | None) -> Any:
    env = (request or {}).get("env") or {}
    return env.get("REMOTE_ADDR")
