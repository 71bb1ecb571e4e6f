"""What arriving events do to an issue's status: regressions and ignore conditions."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from faultline_core.settings import PostgresSettings
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_processor.issue_store import record_events
from tests.unit.processor.lifecycle_helpers import (
    T0,
    activity,
    event,
    issue,
    new_issue,
    rows,
    set_issue,
)

HOUR = timedelta(hours=1)
RESOLVED_AT = T0 + HOUR


async def resolved(pool: Pool, project_id: int, *releases: str, **columns: Any) -> int:
    """An issue seen once per release (an hour apart, from T0), then resolved."""
    issue_id = await new_issue(pool, project_id)
    for n, release in enumerate(releases):
        at = T0 - timedelta(hours=len(releases) - n)
        await record_events(pool, [event(project_id, issue_id, at, release=release)])
    await set_issue(pool, issue_id, status="resolved", status_changed_at=RESOLVED_AT,
                    status_details='{"inRelease": "x"}', **columns)
    return issue_id


def assert_regressed(row: dict[str, Any]) -> None:
    assert (row["status"], row["substatus"]) == ("unresolved", "regressed")
    assert row["status_changed_at"] > RESOLVED_AT
    assert row["status_details"] == {}
    assert (row["resolved_in_release"], row["resolved_in_next_release"]) == (None, False)


async def test_new_issue_has_a_first_seen_activity(pool: Pool, project_id: int) -> None:
    issue_id = await new_issue(pool, project_id)

    assert await activity(pool, issue_id) == [("first_seen", {}, None)]


async def test_plain_resolve_regresses_on_an_event_received_after_it(
    pool: Pool, project_id: int
) -> None:
    issue_id = await resolved(pool, project_id)
    # received before the resolution (processed late): no regression
    await record_events(pool, [event(project_id, issue_id, T0, received=RESOLVED_AT)])
    assert (await issue(pool, issue_id))["status"] == "resolved"

    late = RESOLVED_AT + HOUR
    await record_events(pool, [event(project_id, issue_id, late, release="shop@1.0.0"),
                               event(project_id, issue_id, late + HOUR, release="shop@2.0.0")])

    row = await issue(pool, issue_id)
    assert_regressed(row)
    assert row["times_seen"] == 3
    assert (await activity(pool, issue_id))[1:] == [
        ("set_regression", {"version": "shop@1.0.0"}, None)
    ]


async def test_regression_without_a_release_records_an_empty_version(
    pool: Pool, project_id: int
) -> None:
    issue_id = await resolved(pool, project_id)

    await record_events(pool, [event(project_id, issue_id, RESOLVED_AT + HOUR)])

    assert_regressed(await issue(pool, issue_id))
    assert (await activity(pool, issue_id))[-1] == ("set_regression", {"version": ""}, None)


@pytest.mark.parametrize(
    ("release", "regresses"),
    [("shop@1.4.2", False), ("shop@1.4.1", False), ("shop@1.3.9-rc.1", False), ("", False),
     ("shop@1.4.3-rc.1", True), ("shop@1.10.0", True)],
)
async def test_semver_release_resolution_regresses_only_for_newer_releases(
    pool: Pool, project_id: int, release: str, regresses: bool
) -> None:
    # shop@1.4.1 appears after 1.4.2 (a hotfix of an old line): semver still says older
    issue_id = await resolved(pool, project_id, "shop@1.4.2", "shop@1.4.1",
                              resolved_in_release="shop@1.4.2")

    await record_events(pool, [event(project_id, issue_id, RESOLVED_AT + HOUR, release=release)])

    row = await issue(pool, issue_id)
    if regresses:
        assert_regressed(row)
        assert (await activity(pool, issue_id))[-1] == (
            "set_regression", {"version": release}, None
        )
    else:
        assert (row["status"], row["resolved_in_release"]) == ("resolved", "shop@1.4.2")
        assert [a[0] for a in await activity(pool, issue_id)] == ["first_seen"]


async def test_non_semver_release_resolution_uses_first_appearance(
    pool: Pool, project_id: int
) -> None:
    issue_id = await resolved(pool, project_id, "9f2c4e1", "a71b0d3", "5e8e2aa",
                              resolved_in_release="a71b0d3")
    late = RESOLVED_AT + HOUR

    await record_events(pool, [event(project_id, issue_id, late, release="9f2c4e1"),
                               event(project_id, issue_id, late, release="a71b0d3")])
    assert (await issue(pool, issue_id))["status"] == "resolved"

    # first seen before the resolution, but after the release it was resolved in
    await record_events(pool, [event(project_id, issue_id, late, release="5e8e2aa")])
    assert_regressed(await issue(pool, issue_id))


async def test_resolved_in_next_release(pool: Pool, project_id: int) -> None:
    # what the API stores: the latest release at resolution time, and the flag
    issue_id = await resolved(pool, project_id, "web-2025-01", "web-2025-02",
                              resolved_in_release="web-2025-02",
                              resolved_in_next_release=True)
    late = RESOLVED_AT + HOUR

    await record_events(pool, [event(project_id, issue_id, late, release="web-2025-02"),
                               event(project_id, issue_id, late, release="")])
    assert (await issue(pool, issue_id))["status"] == "resolved"

    await record_events(pool, [event(project_id, issue_id, late, release="web-2025-03")])
    assert_regressed(await issue(pool, issue_id))
    assert (await activity(pool, issue_id))[-1] == (
        "set_regression", {"version": "web-2025-03"}, None
    )


async def test_next_release_when_the_project_had_none(pool: Pool, project_id: int) -> None:
    issue_id = await resolved(pool, project_id, resolved_in_next_release=True)

    await record_events(pool, [event(project_id, issue_id, RESOLVED_AT + HOUR)])
    assert (await issue(pool, issue_id))["status"] == "resolved"

    await record_events(pool, [event(project_id, issue_id, RESOLVED_AT + HOUR, release="r1")])
    assert_regressed(await issue(pool, issue_id))


async def ignored(pool: Pool, project_id: int, users: int = 0, **columns: Any) -> int:
    """An issue seen twice (by ``users`` distinct users), then ignored with ``columns``."""
    issue_id = await new_issue(pool, project_id)
    await record_events(pool, [
        event(project_id, issue_id, T0, user=f"id:{n % max(users, 1)}" if users else "")
        for n in range(2)
    ])
    await set_issue(pool, issue_id, status="ignored", status_changed_at=T0,
                    status_details='{"ignoreCount": 3}', **columns)
    return issue_id


async def assert_unignored(pool: Pool, issue_id: int, reason: str) -> None:
    row = await issue(pool, issue_id)
    assert (row["status"], row["substatus"], row["status_details"]) == ("unresolved", None, {})
    assert (row["ignore_until"], row["ignore_until_times_seen"],
            row["ignore_until_users_seen"]) == (None, None, None)
    assert (await activity(pool, issue_id))[-1] == ("set_unresolved", {"reason": reason}, None)


async def test_ignore_until_n_more_events(pool: Pool, project_id: int) -> None:
    issue_id = await ignored(pool, project_id, ignore_until_times_seen=2 + 3)

    await record_events(pool, [event(project_id, issue_id, T0 + HOUR) for _ in range(2)])
    assert (await issue(pool, issue_id))["status"] == "ignored"

    await record_events(pool, [event(project_id, issue_id, T0 + HOUR)])
    await assert_unignored(pool, issue_id, "count")


async def test_ignore_until_n_more_users(pool: Pool, project_id: int) -> None:
    issue_id = await ignored(pool, project_id, users=2, ignore_until_users_seen=2 + 2)
    assert (await issue(pool, issue_id))["users_seen"] == 2

    await record_events(pool, [event(project_id, issue_id, T0 + HOUR, user=u)
                               for u in ("id:0", "id:1", "email:a@example.com")])
    assert (await issue(pool, issue_id))["status"] == "ignored"

    await record_events(pool, [event(project_id, issue_id, T0 + HOUR, user="ip:10.0.0.1")])
    await assert_unignored(pool, issue_id, "users")


async def test_ignore_for_a_duration(pool: Pool, project_id: int) -> None:
    issue_id = await ignored(pool, project_id, ignore_until=T0 + 2 * HOUR)

    await record_events(pool, [event(project_id, issue_id, T0 + HOUR)])
    assert (await issue(pool, issue_id))["status"] == "ignored"

    # the receive time counts, not the event's own timestamp
    await record_events(pool, [event(project_id, issue_id, T0, received=T0 + 3 * HOUR)])
    await assert_unignored(pool, issue_id, "duration")


async def test_ignored_forever_stays_ignored(pool: Pool, project_id: int) -> None:
    issue_id = await ignored(pool, project_id)

    await record_events(pool, [event(project_id, issue_id, T0 + n * HOUR, user=f"id:{n}")
                               for n in range(20)])

    row = await issue(pool, issue_id)
    assert (row["status"], row["times_seen"], row["users_seen"]) == ("ignored", 22, 20)
    assert [a[0] for a in await activity(pool, issue_id)] == ["first_seen"]


async def test_a_redelivered_event_does_not_regress_again(pool: Pool, project_id: int) -> None:
    issue_id = await resolved(pool, project_id)
    late = RESOLVED_AT + HOUR

    first = [event(project_id, issue_id, late)]
    await record_events(pool, first)
    # resolved again, as of before that event: only its redelivery could regress it now
    await set_issue(pool, issue_id, status="resolved", status_changed_at=RESOLVED_AT)
    await record_events(pool, first)  # redelivered: already counted, changes nothing
    assert (await issue(pool, issue_id))["status"] == "resolved"
    await record_events(pool, [event(project_id, issue_id, late + 2 * HOUR)])

    kinds = [a[0] for a in await activity(pool, issue_id)]
    assert kinds == ["first_seen", "set_regression", "set_regression"]
    assert len(await rows(pool, "SELECT 1 FROM issue_activity")) == 3
    assert (await issue(pool, issue_id))["times_seen"] == 2


async def test_an_issue_losing_a_creation_race_leaves_no_activity(
    pg_dsn: str, pool: Pool, project_id: int
) -> None:
    other = await open_pool(PostgresSettings(dsn=SecretStr(pg_dsn), pool_min_size=1,
                                             pool_max_size=2))
    try:
        for n in range(10):
            await asyncio.gather(new_issue(pool, project_id, f"{n:032x}"),
                                 new_issue(other, project_id, f"{n:032x}"))
    finally:
        await other.close()

    found = await rows(pool, "SELECT issue_id, type FROM issue_activity ORDER BY issue_id")
    issues = await rows(pool, "SELECT id FROM issues ORDER BY id")
    assert [(r["issue_id"], r["type"]) for r in found] == [(i["id"], "first_seen")
                                                            for i in issues]
    assert len(issues) == 10
