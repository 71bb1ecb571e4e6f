"""Server-side grouping rules end to end (issue 5): a fingerprint rule set through the web
API makes the processor put two different errors the real sentry-python SDK sends into
one issue, and the grouping-info API explains why.

The project is a fresh one, so the processor's grouping-settings cache has never seen it
and the first event already groups with the rules (no waiting out the cache TTL).
"""

from __future__ import annotations

import math

from tests.integration.allinone import AllInOne, wait_for
from tests.integration.sdk.projects import fresh_project, project_issues, sdk_scope

RULES = (
    "# arithmetic failures are one problem, wherever they happen\n"
    "error.type:ZeroDivisionError -> arithmetic-failure\n"
    "error.type:OverflowError -> arithmetic-failure\n"
)


def average(total: int, count: int) -> float:
    return total / count


def growth(rate: float) -> float:
    return math.exp(rate)


def send_two_different_errors(dsn: str) -> None:
    with sdk_scope(dsn) as scope:
        try:
            average(10, 0)
        except ZeroDivisionError as exc:
            scope.capture_exception(exc)
        try:
            growth(10_000.0)
        except OverflowError as exc:
            scope.capture_exception(exc)


def test_a_fingerprint_rule_set_through_the_api_merges_two_errors(aio: AllInOne) -> None:
    project = fresh_project(aio)
    url = f"/api/0/projects/default/{project.slug}/"
    configs = aio.api(url + "grouping-configs/").json()
    latest = next(config["id"] for config in configs if config["latest"])

    bad = aio.api(url, "PUT", json={"fingerprintingRules": RULES + "not a rule\n"})
    updated = aio.api(url, "PUT", json={"groupingConfig": latest, "fingerprintingRules": RULES})
    assert bad.status_code == 400 and "line 4" in bad.json()["detail"], bad.text
    assert updated.status_code == 200, updated.text
    assert (updated.json()["groupingConfig"], updated.json()["fingerprintingRules"]) == (
        latest, RULES)

    send_two_different_errors(project.dsn)

    issues = wait_for(
        lambda: (found if (found := project_issues(aio, project.slug))
                 and sum(int(i["count"]) for i in found) == 2 else None),
        timeout_s=60,
    )
    assert len(issues) == 1, issues  # two exception types, one issue: the rule decided
    issue = issues[0]
    latest_event = aio.api(f"/api/0/issues/{issue['id']}/events/latest/").json()
    assert latest_event["exception"]["values"][-1]["type"] in {"ZeroDivisionError",
                                                               "OverflowError"}
    info = aio.api(f"{url}events/{latest_event['eventID']}/grouping-info/")
    assert info.status_code == 200, info.text
    variants = info.json()
    [custom] = [v for v in variants.values() if "arithmetic-failure" in v.get("values", [])]
    assert custom["contributes"] and custom["matchedIssue"], variants
    assert custom["config"] == latest
    assert len(custom["hash"]) == 32
