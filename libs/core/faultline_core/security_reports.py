"""Browser Content-Security-Policy reports → Sentry-shaped events (pure).

Two body formats reach the ``security`` endpoint:

- the classic ``report-uri`` body (``application/csp-report``): one object
  ``{"csp-report": {"document-uri": …, "effective-directive": …, "blocked-uri": …}}``;
- the Reporting API body (``application/reports+json``, ``report-to``): a JSON array of
  ``{"type": "csp-violation", "body": {"documentURL": …, "effectiveDirective": …}}``;
  reports of other types (deprecation, intervention, …) are not CSP violations and are
  skipped.

The format is recognised by the body's shape, not its ``Content-Type``, because browsers
have disagreed on the media type over the years. Each violation becomes an event whose
title reads like Sentry's ("Blocked 'script' from 'evil.example.com'") and whose
fingerprint is ``["csp", directive, blocked host]``, so one violation groups into one
issue however many pages trigger it. Anything malformed raises
:class:`SecurityReportError`, which the relay turns into a 400.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlsplit

MAX_REPORTS = 100
MAX_FIELD_CHARS = 2048
MAX_TAG_CHARS = 200

# (classic key, Reporting API key, dataclass field): the string fields of a report.
_STRING_FIELDS = (
    ("document-uri", "documentURL", "document_uri"),
    ("effective-directive", "effectiveDirective", "effective_directive"),
    ("violated-directive", "violatedDirective", "violated_directive"),
    ("blocked-uri", "blockedURL", "blocked_uri"),
    ("source-file", "sourceFile", "source_file"),
    ("referrer", "referrer", "referrer"),
    ("original-policy", "originalPolicy", "original_policy"),
    ("disposition", "disposition", "disposition"),
    ("script-sample", "sample", "script_sample"),
)
_INT_FIELDS = (
    ("line-number", "lineNumber", "line_number"),
    ("column-number", "columnNumber", "column_number"),
    ("status-code", "statusCode", "status_code"),
)
# Directive → the noun Sentry's titles use for what was blocked.
_BLOCKED_KIND = {
    "child-src": "child",
    "frame-src": "frame",
    "img-src": "image",
    "media-src": "media",
    "object-src": "object",
    "script-src": "script",
    "style-src": "style",
    "worker-src": "worker",
    "font-src": "font",
    "manifest-src": "manifest",
}
# Directives whose violation is an outgoing request rather than a loaded resource.
_DESTINATION_NOUN = {"connect-src": "connection", "form-action": "form action"}
# blocked-uri keywords browsers send instead of a URL.
_INLINE_KEYWORDS = frozenset({"inline", "eval", "wasm-eval", "trusted-types-policy",
                              "trusted-types-sink"})


class SecurityReportError(ValueError):
    """The body is not a CSP report the endpoint can accept; the message says why."""


@dataclass(frozen=True)
class CspReport:
    """One CSP violation with both formats' field names unified (Sentry's ``csp``
    interface keys)."""

    document_uri: str
    effective_directive: str
    violated_directive: str = ""
    blocked_uri: str = ""
    source_file: str = ""
    referrer: str = ""
    original_policy: str = ""
    disposition: str = ""
    script_sample: str = ""
    line_number: int | None = None
    column_number: int | None = None
    status_code: int | None = None


def _string_field(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SecurityReportError(f"{where}: {key!r} must be a string")
    return value.strip()[:MAX_FIELD_CHARS]


def _int_field(raw: dict[str, Any], key: str, where: str) -> int | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SecurityReportError(f"{where}: {key!r} must be an integer")
    try:
        number = int(value)
    except ValueError as exc:
        raise SecurityReportError(f"{where}: {key!r} must be an integer") from exc
    if not 0 <= number < 2**31:
        raise SecurityReportError(f"{where}: {key!r} is out of range")
    return number


def _directive_name(text: str) -> str:
    """The directive's name alone: old browsers send ``"script-src 'self'"``."""
    return text.split(None, 1)[0].lower() if text.strip() else ""


def parse_report(raw: object, classic: bool, where: str) -> CspReport:
    """One report body (classic or Reporting API keys) as a :class:`CspReport`."""
    if not isinstance(raw, dict):
        raise SecurityReportError(f"{where}: the report must be a JSON object")
    column = 0 if classic else 1
    strings = {names[2]: _string_field(raw, names[column], where) for names in _STRING_FIELDS}
    ints = {names[2]: _int_field(raw, names[column], where) for names in _INT_FIELDS}
    if not strings["document_uri"]:
        raise SecurityReportError(f"{where}: the document URI is missing")
    # Sentry falls back to the violated directive when a browser omits the effective one.
    directive = strings["effective_directive"] or strings["violated_directive"]
    strings["effective_directive"] = _directive_name(directive)
    if not strings["effective_directive"]:
        raise SecurityReportError(f"{where}: the effective directive is missing")
    return CspReport(**strings, **ints)  # type: ignore[arg-type]


def _load_json(body: bytes) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        # ValueError covers bad UTF-8, JSON syntax and over-long integers.
        raise SecurityReportError("the body is not valid JSON") from exc


def _reporting_api_reports(items: list[object]) -> list[CspReport]:
    if not items:
        raise SecurityReportError("the report list is empty")
    if len(items) > MAX_REPORTS:
        raise SecurityReportError(f"more than {MAX_REPORTS} reports in one body")
    reports: list[CspReport] = []
    for index, item in enumerate(items, start=1):
        where = f"report {index}"
        if not isinstance(item, dict):
            raise SecurityReportError(f"{where}: must be a JSON object")
        if item.get("type") != "csp-violation":
            continue
        reports.append(parse_report(item.get("body"), classic=False, where=where))
    return reports


def parse_security_reports(body: bytes) -> list[CspReport]:
    """The CSP violations in a ``security`` request body, in order.

    Raises :class:`SecurityReportError` when the body is not JSON, has neither known
    shape, or a CSP report in it lacks its document URI or directive. Reporting API
    reports of other types are skipped, so the result may be empty.
    """
    data = _load_json(body)
    if isinstance(data, list):
        return _reporting_api_reports(data)
    if isinstance(data, dict) and "csp-report" in data:
        return [parse_report(data["csp-report"], classic=True, where="csp-report")]
    raise SecurityReportError(
        'expected {"csp-report": {...}} or a Reporting API array of reports'
    )


def blocked_source(blocked_uri: str) -> str:
    """What was blocked, as titles and grouping name it: a host (with its port, if any),
    a bare scheme such as ``data`` or ``blob``, a keyword such as ``inline``, or
    ``'self'`` when the browser hid the URI."""
    text = blocked_uri.strip()
    if not text or text.lower() == "self":
        return "'self'"
    if text.lower() in _INLINE_KEYWORDS:
        return text.lower()
    try:
        parts = urlsplit(text)
        host = parts.hostname
        port = parts.port
    except ValueError:
        return text[:MAX_TAG_CHARS]
    if host:
        return f"{host}:{port}" if port else host
    scheme = parts.scheme or text.rstrip(":")
    return scheme.lower()[:MAX_TAG_CHARS]


def _blocked_kind(directive: str) -> str:
    # script-src-elem / script-src-attr read like script-src in titles.
    base = directive.removesuffix("-elem").removesuffix("-attr")
    return _BLOCKED_KIND.get(base, base.removesuffix("-src") or directive)


def violation_message(report: CspReport) -> str:
    """The title Sentry shows, e.g. "Blocked 'script' from 'evil.example.com'"."""
    directive = report.effective_directive
    source = blocked_source(report.blocked_uri)
    kind = _blocked_kind(directive)
    if source == "inline":
        return f"Blocked unsafe inline '{kind}'"
    if source in ("eval", "wasm-eval"):
        return f"Blocked unsafe eval() '{kind}'"
    if directive in _DESTINATION_NOUN:
        return f"Blocked {_DESTINATION_NOUN[directive]} to '{source}'"
    return f"Blocked '{kind}' from '{source}'"


def csp_event(report: CspReport, event_id: str, user_agent: str | None = None) -> dict[str, Any]:
    """The Sentry-shaped event for one violation (``logger: "csp"``, a ``csp`` key)."""
    headers = {"User-Agent": user_agent} if user_agent else {}
    if report.referrer:
        headers["Referer"] = report.referrer
    request: dict[str, Any] = {"url": report.document_uri}
    if headers:
        request["headers"] = headers
    csp = {name: value for name, value in asdict(report).items() if value not in ("", None)}
    source = blocked_source(report.blocked_uri)
    return {
        "event_id": event_id,
        "platform": "other",
        "level": "error",
        "logger": "csp",
        "logentry": {"formatted": violation_message(report)},
        "culprit": report.effective_directive,
        "request": request,
        "tags": {
            "effective-directive": report.effective_directive[:MAX_TAG_CHARS],
            "blocked-uri": (report.blocked_uri or source)[:MAX_TAG_CHARS],
        },
        "fingerprint": ["csp", report.effective_directive, source],
        "csp": csp,
    }
