"""The issue store on a real PostgreSQL: resolving hashes to issues, counting events."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from psycopg.rows import dict_row
from pydantic import SecretStr

from faultline_core.grouping import LATEST_GROUPING_CONFIG
from faultline_core.settings import PostgresSettings
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_core.storage.postgres.text import pg_text
from faultline_processor.issue_store import (
    EventRecord,
    IssueSeed,
    record_events,
    resolve_issues,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def seed(project_id: int, *hashes: str, title: str = "ValueError: bad", **kw: Any) -> IssueSeed:
    values: dict[str, Any] = {
        # what tenancy.create_project gives a new project: the seeds match it
        "grouping_config": LATEST_GROUPING_CONFIG, "timestamp": T0, "title": title,
        "culprit": "app.views",
        "level": "error", "type": "error", "platform": "python",
        "metadata": {"type": "ValueError", "value": "bad"},
    }
    values.update(kw)
    return IssueSeed(project_id=project_id, hashes=tuple(hashes), **values)


def record(project_id: int, issue_id: int, at: datetime, title: str = "ValueError: bad",
           event_id: str | None = None, level: str = "error") -> EventRecord:
    return EventRecord(project_id, event_id or uuid.uuid4().hex, issue_id, at, at, level,
                       title, "app.views")


def h(n: int) -> str:
    return f"{n:032x}"


async def rows(pool: Pool, sql: str, *params: Any) -> list[dict[str, Any]]:
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(sql, params)
        return list(await cur.fetchall())


async def test_new_hashes_create_one_uncounted_issue(pool: Pool,
                                                     project_id: int) -> None:
    resolution = await resolve_issues(pool, [seed(project_id, h(1), h(2))])

    issue_id = resolution.issue_ids[(project_id, (h(1), h(2)))]
    [issue] = await rows(pool, "SELECT * FROM issues")
    assert issue["id"] == issue_id
    assert (issue["times_seen"], issue["first_seen"], issue["last_seen"]) == (0, T0, T0)
    assert (issue["title"], issue["metadata"]) == ("ValueError: bad",
                                                   {"type": "ValueError", "value": "bad"})
    hashes = await rows(pool, "SELECT hash, issue_id FROM grouphashes ORDER BY hash")
    assert hashes == [{"hash": h(1), "issue_id": issue_id}, {"hash": h(2), "issue_id": issue_id}]


async def test_any_known_hash_joins_its_issue_and_adopts_the_others(
    pool: Pool, project_id: int
) -> None:
    first = await resolve_issues(pool, [seed(project_id, h(2))])
    existing = first.issue_ids[(project_id, (h(2),))]

    second = await resolve_issues(pool, [seed(project_id, h(1), h(2))])

    assert second.issue_ids == {(project_id, (h(1), h(2))): existing}
    assert len(await rows(pool, "SELECT id FROM issues")) == 1
    hashes = await rows(pool, "SELECT hash, issue_id FROM grouphashes ORDER BY hash")
    assert [r["issue_id"] for r in hashes] == [existing, existing]


async def test_keys_sharing_a_hash_in_one_batch_share_a_new_issue(
    pool: Pool, project_id: int
) -> None:
    resolution = await resolve_issues(
        pool, [seed(project_id, h(1), h(2)), seed(project_id, h(2), h(3)), seed(project_id, h(9))]
    )

    ids = resolution.issue_ids
    assert ids[(project_id, (h(1), h(2)))] == ids[(project_id, (h(2), h(3)))]
    assert ids[(project_id, (h(9),))] != ids[(project_id, (h(1), h(2)))]
    assert len(await rows(pool, "SELECT id FROM issues")) == 2


async def test_same_hash_in_two_projects_is_two_issues(pool: Pool,
                                                       project_id: int) -> None:
    [created] = await rows(
        pool,
        "INSERT INTO projects (organization_id, slug, name, grouping_config)"
        " SELECT organization_id, 'other', 'Other', grouping_config FROM projects"
        " WHERE id = %s RETURNING id",
        project_id,
    )
    other = created["id"]

    resolution = await resolve_issues(pool, [seed(project_id, h(1)), seed(other, h(1))])

    assert resolution.issue_ids[(project_id, (h(1),))] != resolution.issue_ids[(other, (h(1),))]


async def test_seeds_grouped_with_a_config_the_project_left_get_no_issue(
        pool: Pool, project_id: int) -> None:
    """A regroup swapped the project to another config after these events were grouped:
    the caller must group them again, so they get no issue under the old config."""
    await rows(pool, "UPDATE projects SET grouping_config = 'v1' WHERE id = %s RETURNING id",
               project_id)

    resolution = await resolve_issues(pool, [seed(project_id, h(1), grouping_config="v2"),
                                             seed(project_id, h(2), grouping_config="v1")])

    assert list(resolution.issue_ids) == [(project_id, (h(2),))]
    assert resolution.configs == {project_id: "v1"} and not resolution.unknown_projects
    assert await rows(pool, "SELECT hash FROM grouphashes WHERE project_id = %s",
                      project_id) == [{"hash": h(2)}]


async def test_a_config_this_release_does_not_know_counts_as_the_default(
        pool: Pool, project_id: int) -> None:
    await rows(pool, "UPDATE projects SET grouping_config = 'v99' WHERE id = %s RETURNING id",
               project_id)

    resolution = await resolve_issues(pool, [seed(project_id, h(1), grouping_config="v1")])

    assert list(resolution.issue_ids) == [(project_id, (h(1),))]


async def test_unknown_project_is_reported_not_created(pool: Pool,
                                                       project_id: int) -> None:
    resolution = await resolve_issues(pool, [seed(project_id + 50, h(1)), seed(project_id, h(2))])

    assert resolution.unknown_projects == {project_id + 50}
    assert list(resolution.issue_ids) == [(project_id, (h(2),))]


async def test_concurrent_processors_converge_on_one_issue(pg_dsn: str, project_id: int,
                                                           pool: Pool) -> None:
    # Two pools: two processors, each with its own connections.
    other = await open_pool(
        PostgresSettings(dsn=SecretStr(pg_dsn), pool_min_size=1, pool_max_size=2)
    )
    try:
        for n in range(10):
            seeds = [seed(project_id, h(100 + n), h(200 + n))]
            a, b = await asyncio.gather(resolve_issues(pool, seeds), resolve_issues(other, seeds))
            assert a.issue_ids == b.issue_ids
    finally:
        await other.close()
    assert len(await rows(pool, "SELECT id FROM issues")) == 10
    orphans = await rows(
        pool, "SELECT id FROM issues WHERE id NOT IN (SELECT issue_id FROM grouphashes)"
    )
    assert orphans == []


async def test_record_counts_new_events_once(pool: Pool, project_id: int) -> None:
    issue_id = (await resolve_issues(pool, [seed(project_id, h(1))])).issue_ids[
        (project_id, (h(1),))
    ]
    early, late = record(project_id, issue_id, T0 - timedelta(hours=1), "old title"), record(
        project_id, issue_id, T0 + timedelta(hours=1), "new title", level="fatal"
    )

    result = await record_events(pool, [late, early, early])
    replay = await record_events(pool, [early, late])

    assert (len(result.new), result.duplicates) == (2, 1)
    assert (replay.new, replay.duplicates) == ([], 2)
    [issue] = await rows(pool, "SELECT * FROM issues")
    assert issue["times_seen"] == 2
    assert (issue["first_seen"], issue["last_seen"]) == (early.timestamp, late.timestamp)
    assert (issue["title"], issue["level"]) == ("new title", "fatal")


async def test_older_event_does_not_overwrite_the_latest_title(
    pool: Pool, project_id: int
) -> None:
    issue_id = (await resolve_issues(pool, [seed(project_id, h(1))])).issue_ids[
        (project_id, (h(1),))
    ]
    await record_events(pool, [record(project_id, issue_id, T0 + timedelta(hours=1), "latest")])
    await record_events(pool, [record(project_id, issue_id, T0 - timedelta(days=1), "stale")])

    [issue] = await rows(pool, "SELECT * FROM issues")
    assert (issue["title"], issue["times_seen"]) == ("latest", 2)
    assert issue["first_seen"] == T0 - timedelta(days=1)


async def test_text_postgres_would_reject_is_cleaned(pool: Pool,
                                                     project_id: int) -> None:
    nasty = "bad\x00byte \ud800 here"
    resolution = await resolve_issues(
        pool, [seed(project_id, h(1), title=nasty,
                     metadata={"value": nasty, "n": [nasty, float("nan")]})]
    )
    issue_id = resolution.issue_ids[(project_id, (h(1),))]
    await record_events(pool, [record(project_id, issue_id, T0, nasty)])

    [issue] = await rows(pool, "SELECT * FROM issues")
    assert issue["title"] == pg_text(nasty) == "badbyte ? here"
    assert issue["metadata"] == {"value": "badbyte ? here", "n": ["badbyte ? here", None]}
