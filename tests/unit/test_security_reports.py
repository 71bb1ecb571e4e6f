"""CSP reports (classic ``report-uri`` and Reporting API bodies) → Sentry-shaped events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from faultline_core.security_reports import (
    MAX_REPORTS,
    CspReport,
    SecurityReportError,
    blocked_source,
    csp_event,
    parse_security_reports,
    violation_message,
)

# What Chrome posts to a ``report-uri`` (application/csp-report).
CHROME_CLASSIC = {
    "csp-report": {
        "document-uri": "https://shop.example.com/checkout?step=2",
        "referrer": "https://shop.example.com/cart",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "original-policy": "default-src 'self'; script-src 'self'; report-uri /csp",
        "disposition": "enforce",
        "blocked-uri": "https://evil.example.com/inject.js",
        "line-number": 42,
        "column-number": 7,
        "source-file": "https://shop.example.com/static/app.js",
        "status-code": 200,
        "script-sample": "",
    }
}

# What a browser posts to a ``report-to`` endpoint (application/reports+json).
REPORTING_API = [
    {
        "type": "csp-violation",
        "age": 12,
        "url": "https://shop.example.com/checkout",
        "user_agent": "Mozilla/5.0",
        "body": {
            "documentURL": "https://shop.example.com/checkout",
            "referrer": "",
            "blockedURL": "https://tracker.example.net:8443/pixel.gif",
            "effectiveDirective": "img-src",
            "originalPolicy": "default-src 'self'; report-to csp",
            "sourceFile": "https://shop.example.com/static/app.js",
            "sample": "",
            "disposition": "report",
            "statusCode": 200,
            "lineNumber": 10,
            "columnNumber": 3,
        },
    },
    {"type": "deprecation", "age": 1, "url": "https://shop.example.com/",
     "body": {"id": "WebSQL", "message": "deprecated"}},
    {
        "type": "csp-violation",
        "body": {
            "documentURL": "https://shop.example.com/",
            "blockedURL": "inline",
            "effectiveDirective": "style-src-attr",
            "disposition": "enforce",
        },
    },
]


def _body(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_classic_report_fields_are_unified() -> None:
    [report] = parse_security_reports(_body(CHROME_CLASSIC))
    assert report.document_uri == "https://shop.example.com/checkout?step=2"
    assert report.effective_directive == "script-src-elem"
    assert report.blocked_uri == "https://evil.example.com/inject.js"
    assert report.source_file == "https://shop.example.com/static/app.js"
    assert (report.line_number, report.column_number, report.status_code) == (42, 7, 200)
    assert report.disposition == "enforce"


def test_classic_report_becomes_a_sentry_shaped_event() -> None:
    [report] = parse_security_reports(_body(CHROME_CLASSIC))
    event = csp_event(report, "a" * 32, user_agent="Mozilla/5.0 (X11)")
    assert event["event_id"] == "a" * 32
    assert event["logentry"] == {"formatted": "Blocked 'script' from 'evil.example.com'"}
    assert (event["level"], event["logger"], event["platform"]) == ("error", "csp", "other")
    assert event["culprit"] == "script-src-elem"
    assert event["request"] == {
        "url": "https://shop.example.com/checkout?step=2",
        "headers": {"User-Agent": "Mozilla/5.0 (X11)",
                    "Referer": "https://shop.example.com/cart"},
    }
    assert event["tags"] == {"effective-directive": "script-src-elem",
                             "blocked-uri": "https://evil.example.com/inject.js"}
    assert event["fingerprint"] == ["csp", "script-src-elem", "evil.example.com"]
    assert event["csp"]["line_number"] == 42
    assert event["csp"]["effective_directive"] == "script-src-elem"
    # Empty fields are left out rather than stored as blanks.
    assert "script_sample" not in event["csp"]
    json.dumps(event)  # the relay publishes it as JSON


def test_reporting_api_body_yields_only_csp_violations_in_order() -> None:
    reports = parse_security_reports(_body(REPORTING_API))
    assert [r.effective_directive for r in reports] == ["img-src", "style-src-attr"]
    first, second = reports
    assert first.blocked_uri == "https://tracker.example.net:8443/pixel.gif"
    assert (first.line_number, first.column_number) == (10, 3)
    assert violation_message(first) == "Blocked 'image' from 'tracker.example.net:8443'"
    assert violation_message(second) == "Blocked unsafe inline 'style'"
    assert csp_event(second, "b" * 32)["fingerprint"] == ["csp", "style-src-attr", "inline"]


def test_same_violation_on_different_pages_shares_a_fingerprint() -> None:
    other_page = json.loads(json.dumps(CHROME_CLASSIC))
    other_page["csp-report"]["document-uri"] = "https://shop.example.com/account"
    other_page["csp-report"]["blocked-uri"] = "https://evil.example.com/other.js"
    [one] = parse_security_reports(_body(CHROME_CLASSIC))
    [two] = parse_security_reports(_body(other_page))
    assert csp_event(one, "a" * 32)["fingerprint"] == csp_event(two, "b" * 32)["fingerprint"]


def test_violated_directive_stands_in_for_a_missing_effective_one() -> None:
    old_firefox = {"csp-report": {"document-uri": "https://a.example/",
                                  "violated-directive": "script-src 'self' cdn.example",
                                  "blocked-uri": "eval"}}
    [report] = parse_security_reports(_body(old_firefox))
    assert report.effective_directive == "script-src"
    assert violation_message(report) == "Blocked unsafe eval() 'script'"


@pytest.mark.parametrize(
    ("blocked_uri", "expected"),
    [
        ("https://evil.example.com/x.js", "evil.example.com"),
        ("wss://Socket.Example.org:9000/feed", "socket.example.org:9000"),
        ("data", "data"),
        ("data:", "data"),
        ("blob:https://shop.example.com/1234", "blob"),
        ("inline", "inline"),
        ("", "'self'"),
        ("self", "'self'"),
    ],
)
def test_blocked_source(blocked_uri: str, expected: str) -> None:
    assert blocked_source(blocked_uri) == expected


@pytest.mark.parametrize(
    ("directive", "blocked", "message"),
    [
        ("connect-src", "https://api.evil.example/x", "Blocked connection to 'api.evil.example'"),
        ("form-action", "https://phish.example/post", "Blocked form action to 'phish.example'"),
        ("font-src", "data:", "Blocked 'font' from 'data'"),
        ("frame-ancestors", "https://x.example/", "Blocked 'frame-ancestors' from 'x.example'"),
    ],
)
def test_violation_messages(directive: str, blocked: str, message: str) -> None:
    report = CspReport(document_uri="https://a.example/", effective_directive=directive,
                       blocked_uri=blocked)
    assert violation_message(report) == message


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not valid JSON"),
        (b"\xff\xfe{", "not valid JSON"),
        (b"{\"csp-report\": ", "not valid JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "not valid JSON"),
        (b"\"just a string\"", "expected"),
        (b"{\"report\": {}}", "expected"),
        (b"[]", "empty"),
        (b"{\"csp-report\": []}", "must be a JSON object"),
        (b"{\"csp-report\": {\"effective-directive\": \"img-src\"}}", "document URI"),
        (b"{\"csp-report\": {\"document-uri\": \"https://a/\"}}", "directive is missing"),
        (b"{\"csp-report\": {\"document-uri\": {\"x\": 1}, \"effective-directive\": \"a\"}}",
         "must be a string"),
        (b"{\"csp-report\": {\"document-uri\": \"https://a/\", \"effective-directive\": \"a\","
         b" \"line-number\": \"twelve\"}}", "must be an integer"),
        (b"{\"csp-report\": {\"document-uri\": \"https://a/\", \"effective-directive\": \"a\","
         b" \"line-number\": 99999999999999}}", "out of range"),
        (b"[1, 2]", "report 1: must be a JSON object"),
        (b"[{\"type\": \"csp-violation\", \"body\": null}]", "report 1"),
    ],
)
def test_malformed_bodies_raise_a_clear_error(body: bytes, reason: str) -> None:
    with pytest.raises(SecurityReportError, match=reason):
        parse_security_reports(body)


def test_too_many_reports_in_one_body_are_refused() -> None:
    item = REPORTING_API[0]
    with pytest.raises(SecurityReportError, match=str(MAX_REPORTS)):
        parse_security_reports(_body([item] * (MAX_REPORTS + 1)))


def test_huge_fields_are_truncated() -> None:
    report = {"csp-report": {"document-uri": "https://a.example/" + "x" * 100_000,
                             "effective-directive": "img-src",
                             "blocked-uri": "https://b.example/" + "y" * 100_000}}
    [parsed] = parse_security_reports(_body(report))
    event = csp_event(parsed, "c" * 32)
    assert len(parsed.document_uri) <= 2048
    assert len(event["tags"]["blocked-uri"]) <= 200
    assert event["fingerprint"] == ["csp", "img-src", "b.example"]
