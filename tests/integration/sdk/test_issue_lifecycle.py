"""The issue lifecycle end to end with the real sentry-python SDK: two different errors
merged through the bulk API, one hash unmerged again, and a resolution "in the next
release" reopened by an event of a newer release (a regression with its activity).

A fresh project keeps the counts independent of the other SDK tests.
"""

from __future__ import annotations

from typing import Any

from tests.integration.allinone import AllInOne, wait_for
from tests.integration.sdk.projects import (
    ORG,
    FreshProject,
    fresh_project,
    project_issues,
    sdk_scope,
)


class AlphaLifecycleError(Exception):
    """The first kind of error."""


class BetaLifecycleError(Exception):
    """A second kind, raised from another function: another issue."""


def raise_alpha() -> None:
    raise AlphaLifecycleError("alpha went wrong")


def raise_beta() -> None:
    raise BetaLifecycleError("beta went wrong")


def capture(dsn: str, release: str, *raisers: Any) -> list[str]:
    """Report each raiser's exception with the SDK's own transport; their event ids."""
    ids: list[str] = []
    with sdk_scope(dsn, release=release) as scope:
        for raiser in raisers:
            try:
                raiser()
            except Exception as exc:  # noqa: BLE001 (any of the test's errors)
                event_id = scope.capture_exception(exc)
                assert event_id is not None
                ids.append(event_id)
    return ids


def api_json(aio: AllInOne, path: str, method: str = "GET", **kwargs: Any) -> Any:
    response = aio.api(path, method, **kwargs)
    assert response.status_code < 300, (path, response.status_code, response.text)
    return response.json()


def issues_by_title(aio: AllInOne, project: FreshProject) -> dict[str, dict[str, Any]]:
    return {issue["title"].split(":")[0]: issue for issue in project_issues(aio, project.slug)}


def issue(aio: AllInOne, issue_id: str) -> dict[str, Any]:
    body: dict[str, Any] = api_json(aio, f"/api/0/issues/{issue_id}/")
    return body


def event_group(aio: AllInOne, project: FreshProject, event_id: str) -> str:
    body = api_json(aio, f"/api/0/projects/{ORG}/{project.slug}/events/{event_id}/")
    return str(body["groupID"])


def merge_both(aio: AllInOne, project: FreshProject) -> tuple[str, str]:
    """Wait for the two issues, merge them with the bulk API: (parent, child)."""
    found = wait_for(lambda: (lambda i: i if len(i) == 2 else None)(
        issues_by_title(aio, project)), 60)
    ids = [found["AlphaLifecycleError"]["id"], found["BetaLifecycleError"]["id"]]
    reply = api_json(aio, f"/api/0/projects/{ORG}/{project.slug}/issues/", "PUT",
                     params=[("id", i) for i in ids], json={"merge": 1})
    parent, children = reply["merge"]["parent"], reply["merge"]["children"]
    assert sorted([parent, *children]) == sorted(ids)
    return parent, children[0]


def test_merge_unmerge_and_regression_in_next_release(aio: AllInOne) -> None:
    project = fresh_project(aio)
    alpha, beta = capture(project.dsn, "1.0", raise_alpha, raise_beta)
    parent, child = merge_both(aio, project)
    merged = issue(aio, parent)
    assert merged["count"] == "2"
    assert issue(aio, child)["id"] == parent  # the merged id serves its new issue
    assert {event_group(aio, project, e) for e in (alpha, beta)} == {parent}
    stats = api_json(aio, f"/api/0/issues/{parent}/stats/")
    assert sum(count for _, count in stats) == 2
    assert [a["type"] for a in merged["activity"]][:1] == ["merge"]

    hashes = api_json(aio, f"/api/0/issues/{parent}/hashes/")
    assert len(hashes) == 2
    beta_hash = next(h["id"] for h in hashes if h["latestEvent"]["eventID"] == beta)
    split = api_json(aio, f"/api/0/issues/{parent}/hashes/", "DELETE",
                     params={"id": beta_hash})
    alpha_issue = split["source"] if event_group(aio, project, alpha) == split["source"] \
        else split["destination"]
    beta_issue = split["destination"] if alpha_issue == split["source"] else split["source"]
    assert event_group(aio, project, beta) == beta_issue
    assert event_group(aio, project, alpha) == alpha_issue
    for issue_id, event_id in ((alpha_issue, alpha), (beta_issue, beta)):
        assert issue(aio, issue_id)["count"] == "1"
        latest = api_json(aio, f"/api/0/issues/{issue_id}/events/latest/")
        assert latest["eventID"] == event_id

    resolved = api_json(aio, f"/api/0/issues/{alpha_issue}/", "PUT",
                        json={"status": "resolvedInNextRelease"})
    assert (resolved["status"], resolved["statusDetails"]) == (
        "resolved", {"inNextRelease": True})
    capture(project.dsn, "2.0", raise_alpha)

    def regressed() -> dict[str, Any] | None:
        body = issue(aio, alpha_issue)
        return body if body["status"] == "unresolved" and body["count"] == "2" else None

    reopened = wait_for(regressed, 60)
    assert reopened["substatus"] == "regressed"
    assert reopened["activity"][0]["type"] == "set_regression"
