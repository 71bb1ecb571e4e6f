"""Issue search end to end (issue 5): the real sentry-python SDK reports errors with
different environments, releases, tags, users and levels to a fresh project, and each
search through the web API selects exactly the issues it should."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Literal

import pytest

from tests.integration.allinone import AllInOne, wait_for
from tests.integration.sdk.projects import (
    FreshProject,
    fresh_project,
    project_issues,
    sdk_scope,
)


class SearchAlphaError(Exception):
    pass


class SearchBetaError(Exception):
    pass


@dataclass(frozen=True)
class Report:
    key: str
    environment: str
    release: str
    feature: str
    email: str
    level: Literal["fatal", "error", "warning"]


REPORTS = (
    Report("alpha", "production", "app@1.0", "checkout", "alice@example.com", "error"),
    Report("beta", "staging", "app@2.0", "login", "bob@example.com", "warning"),
    Report("gamma", "production", "app@2.0", "checkout", "carol@example.com", "fatal"),
)
SEARCHES: dict[str, set[str]] = {
    "environment:staging": {"beta"},
    "!environment:staging": {"alpha", "gamma"},
    "release:app@1.0": {"alpha"},
    "release:latest": {"beta", "gamma"},
    "feature:checkout": {"alpha", "gamma"},
    "tags[feature]:login": {"beta"},
    "!feature:checkout": {"beta"},
    "user.email:bob@example.com": {"beta"},
    "level:fatal": {"gamma"},
    "level:[error,warning]": {"alpha", "beta"},
    '"quota exceeded"': {"gamma"},
    "SearchAlphaError": {"alpha"},
    "feature:checkout environment:production level:error": {"alpha"},
    "times_seen:>1": {"alpha"},
    "firstSeen:-1h is:unresolved": {"alpha", "beta", "gamma"},
    "lastSeen:+1d": set(),
}


def report(dsn: str, item: Report, times: int = 1) -> None:
    """Send one issue's events with the SDK's own transport, then flush."""
    with sdk_scope(dsn, environment=item.environment, release=item.release) as scope:
        scope.set_tag("feature", item.feature)
        scope.set_user({"id": item.key, "email": item.email})
        scope.set_level(item.level)
        for _ in range(times):
            if item.key == "gamma":
                scope.capture_message("disk quota exceeded on node-7", level="fatal")
                continue
            error = SearchAlphaError if item.key == "alpha" else SearchBetaError
            try:
                raise error(f"{item.key} failed")
            except Exception as exc:
                scope.capture_exception(exc)


@pytest.fixture(scope="module")
def reported(aio: AllInOne) -> tuple[FreshProject, dict[str, str]]:
    """A fresh project holding the three issues; their ids by key."""
    project = fresh_project(aio)
    for item in REPORTS:  # in order, so app@2.0 is the latest release
        report(project.dsn, item, times=2 if item.key == "alpha" else 1)

    def all_counted() -> dict[str, str] | None:
        issues = project_issues(aio, project.slug)
        if len(issues) != 3 or sum(int(str(issue["count"])) for issue in issues) != 4:
            return None
        keys = {"SearchAlphaError": "alpha", "SearchBetaError": "beta", "disk quota": "gamma"}
        return {key: str(issue["id"]) for issue in issues
                for marker, key in keys.items() if marker in str(issue["title"])}

    ids: dict[str, str] = wait_for(all_counted, timeout_s=60)
    assert set(ids) == {"alpha", "beta", "gamma"}
    return project, ids


@pytest.mark.parametrize("query", sorted(SEARCHES))
def test_search_selects_exactly_the_expected_issues(
    aio: AllInOne, reported: tuple[FreshProject, dict[str, str]], query: str
) -> None:
    project, ids = reported
    expected = {ids[key] for key in SEARCHES[query]}

    def found() -> set[str]:
        return {str(issue["id"]) for issue in project_issues(aio, project.slug, query)}

    # The per-issue environment and release rows are written as the events are counted:
    # give them a moment, then the answer must be exact.
    with contextlib.suppress(AssertionError):
        wait_for(lambda: found() == expected, timeout_s=20)
    assert found() == expected


def test_users_sort_and_bad_search(
    aio: AllInOne, reported: tuple[FreshProject, dict[str, str]]
) -> None:
    project, ids = reported
    response = aio.api(f"/api/0/projects/default/{project.slug}/issues/",
                       params={"query": "", "sort": "user", "limit": 1})
    assert response.status_code == 200
    assert len(response.json()) == 1
    assert 'rel="next"; results="true"' in response.headers["link"]
    assert "sort=user" in response.headers["link"]
    bad = aio.api(f"/api/0/projects/default/{project.slug}/issues/",
                  params={"query": "times_seen:>many"})
    assert bad.status_code == 400
    assert "whole number" in bad.json()["detail"]
    assert set(ids.values()) == {str(issue["id"]) for issue in project_issues(aio, project.slug)}
