"""End to end through the all-in-one: a browser's CSP reports become one counted issue."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.integration.allinone import AllInOne, start_allinone, wait_for

ISSUES = "/api/0/projects/default/default/issues/"


@pytest.fixture(scope="module")
def allinone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AllInOne]:
    aio = start_allinone(tmp_path_factory.mktemp("security"))
    try:
        yield aio
    finally:
        assert aio.stop() == 0, aio.log_tail()


def _report_uri(aio: AllInOne) -> str:
    """The ``report-uri`` a site would put in its policy, key in the query string."""
    dsn = aio.bootstrap["dsn"]
    key = dsn.split("://", 1)[1].split("@", 1)[0]
    project_id = dsn.rsplit("/", 1)[1]
    return f"{aio.url}/api/{project_id}/security/?sentry_key={key}"


def _violation(blocked_host: str, page: str) -> bytes:
    report = {"csp-report": {
        "document-uri": f"https://shop.example.com/{page}",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "original-policy": "script-src 'self'",
        "disposition": "enforce",
        "blocked-uri": f"https://{blocked_host}/inject.js",
        "source-file": "https://shop.example.com/app.js",
        "line-number": 7,
        "status-code": 200,
    }}
    return json.dumps(report).encode()


def _issue(aio: AllInOne, title: str) -> dict[str, Any] | None:
    resp = aio.api(ISSUES)
    assert resp.status_code == 200, resp.text
    return next((i for i in resp.json() if i["title"] == title), None)


def test_same_violation_twice_is_one_issue_counted_twice(allinone: AllInOne) -> None:
    # A host of its own, so the issue cannot be confused with another test's.
    blocked_host = f"evil-{uuid.uuid4().hex[:8]}.example.com"
    title = f"Blocked 'script' from '{blocked_host}'"
    headers = {"Content-Type": "application/csp-report"}
    for page in ("checkout", "account"):
        resp = httpx.post(_report_uri(allinone), content=_violation(blocked_host, page),
                          headers=headers, timeout=30)
        assert resp.status_code == 201, resp.text

    issue = wait_for(lambda: (found := _issue(allinone, title)) and int(found["count"]) == 2
                     and found)
    assert issue["culprit"] == "script-src-elem"
    assert issue["level"] == "error"

    latest = allinone.api(f"/api/0/issues/{issue['id']}/events/latest/")
    assert latest.status_code == 200, latest.text
    event = latest.json()
    assert event["request"]["url"].startswith("https://shop.example.com/")
    tags = {tag["key"]: tag["value"] for tag in event["tags"]}
    assert tags["blocked-uri"] == f"https://{blocked_host}/inject.js"
    assert tags["effective-directive"] == "script-src-elem"


def test_malformed_report_is_refused(allinone: AllInOne) -> None:
    resp = httpx.post(_report_uri(allinone), content=b"{\"csp-report\": 1}", timeout=30)
    assert resp.status_code == 400
    assert "csp-report" in resp.json()["detail"]
