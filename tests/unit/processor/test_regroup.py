"""``faultline regroup``: rebuilding a project's issues from its raw events (real PostgreSQL
and chDB, events ingested by the real processor)."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson

from faultline_core.grouping import compute_grouping
from faultline_core.storage.postgres.pool import Pool
from faultline_core.storage.postgres.project_locks import lock_projects_shared
from faultline_processor.event_ledger import record_events
from faultline_processor.event_record import EventRecord
from faultline_processor.regroup import RegroupReport
from tests.unit.processor.conftest import Pipeline
from tests.unit.processor.regroup_helpers import (
    LAMBDA_0,
    LAMBDA_1,
    OTHER,
    assert_counters_match_ledger,
    issue_of,
    jvm_error,
    publish_many,
    rows,
    run_regroup,
    set_project_config,
    snapshot,
)


async def _user(pool: Pool, email: str) -> int:
    found = await rows(pool, "INSERT INTO users (email, password_hash) VALUES (%s, 'x')"
                       " RETURNING id", email)
    return int(found[0]["id"])


async def _decide(pool: Pool, issue_id: int, status: str, assignee: int, note: str) -> None:
    """What a human does on an issue: a status, an assignee and a comment."""
    async with pool.connection() as conn:
        await conn.execute("UPDATE issues SET status = %s, assignee_id = %s WHERE id = %s",
                           (status, assignee, issue_id))
        await conn.execute(
            "INSERT INTO issue_activity (project_id, issue_id, type, data, user_id)"
            " SELECT project_id, id, 'note', jsonb_build_object('text', %s::text), %s"
            " FROM issues WHERE id = %s", (note, assignee, issue_id))


async def _notes(pool: Pool, issue_id: int) -> list[str]:
    found = await rows(pool, "SELECT data->>'text' AS text FROM issue_activity"
                       " WHERE issue_id = %s AND type = 'note' ORDER BY id", issue_id)
    return [str(r["text"]) for r in found]


async def test_v1_to_v2_merges_issues_and_carries_decisions(pipeline: Pipeline) -> None:
    pool, project = pipeline.pool, pipeline.project_id
    await set_project_config(pool, project, "v1")
    ids = await publish_many(pipeline, [LAMBDA_0] * 3 + [LAMBDA_1] * 2 + [OTHER] * 2)
    await pipeline.process_all()
    a, b, other = [await issue_of(pool, project, ids[i]) for i in (0, 3, 5)]
    assert len({a, b, other}) == 3
    alice, bob = await _user(pool, "alice@example.com"), await _user(pool, "bob@example.com")
    await _decide(pool, a, "resolved", alice, "fixed in 1.1")
    await _decide(pool, b, "ignored", bob, "noise")
    old_b_hashes = {r["hash"] for r in await rows(
        pool, "SELECT hash FROM grouphashes WHERE issue_id = %s", b)}

    report = await run_regroup(pipeline, "v2")

    assert (report.issues_before, report.issues_after) == (3, 2)
    assert (report.retired, report.merges, report.splits) == (1, 1, 0)
    assert report.moved_events == 2
    assert {await issue_of(pool, project, e) for e in ids[:5]} == {a}
    assert await issue_of(pool, project, ids[5]) == other
    issue = (await rows(pool, "SELECT * FROM issues WHERE id = %s", a))[0]
    # A contributed 3 of the 5 events: its status and assignee win; both comments stay.
    assert (issue["status"], issue["assignee_id"], issue["times_seen"]) == ("resolved", alice, 5)
    assert issue["grouping_config"] == "v2"
    assert await _notes(pool, a) == ["fixed in 1.1", "noise"]
    assert await rows(pool, "SELECT id FROM issues WHERE id = %s", b) == []
    redirects = await rows(pool, "SELECT to_issue_id FROM issue_redirects"
                           " WHERE from_issue_id = %s", b)
    assert redirects == [{"to_issue_id": a}]
    # The old config's hashes still lead to the issue that took their events.
    hashes = await rows(pool, "SELECT hash, issue_id FROM grouphashes WHERE hash = ANY(%s)",
                        sorted(old_b_hashes))
    assert {r["issue_id"] for r in hashes} == {a} and len(hashes) == len(old_b_hashes)
    regroups = await rows(pool, "SELECT issue_id FROM issue_activity WHERE type = 'regroup'"
                          " ORDER BY issue_id")
    assert [r["issue_id"] for r in regroups] == sorted([a, other])
    assert (await snapshot(pool, project))["config"] == [{"grouping_config": "v2"}]
    await assert_counters_match_ledger(pool, project)

    # New events, grouped with v2 now, join the merged issue.
    late = await publish_many(pipeline, [LAMBDA_1])
    await pipeline.process_all()
    assert await issue_of(pool, project, late[0]) == a
    await assert_counters_match_ledger(pool, project)


async def test_split_keeps_majority_and_dry_run_changes_nothing(pipeline: Pipeline) -> None:
    pool, project = pipeline.pool, pipeline.project_id
    await set_project_config(pool, project, "v2")
    ids = await publish_many(pipeline, [LAMBDA_0] * 3 + [LAMBDA_1] * 2)
    await pipeline.process_all()
    merged = await issue_of(pool, project, ids[0])
    alice = await _user(pool, "alice@example.com")
    await _decide(pool, merged, "resolved", alice, "looked at it")
    before = await snapshot(pool, project)

    dry = await run_regroup(pipeline, "v1", dry_run=True)
    assert not dry.swapped
    assert (dry.issues_before, dry.issues_after, dry.splits, dry.new_ids) == (1, 2, 1, 1)
    assert dry.moved_events == 2
    assert await snapshot(pool, project) == before

    await run_regroup(pipeline, "v1")
    assert {await issue_of(pool, project, e) for e in ids[:3]} == {merged}
    split_off = {await issue_of(pool, project, e) for e in ids[3:]}
    assert len(split_off) == 1 and merged not in split_off
    states = await rows(pool, "SELECT id, status, assignee_id, times_seen FROM issues"
                        " WHERE project_id = %s ORDER BY id", project)
    assert states == [
        {"id": merged, "status": "resolved", "assignee_id": alice, "times_seen": 3},
        {"id": split_off.pop(), "status": "unresolved", "assignee_id": None, "times_seen": 2},
    ]
    await assert_counters_match_ledger(pool, project)


async def test_rerun_is_idempotent(pipeline: Pipeline) -> None:
    pool, project = pipeline.pool, pipeline.project_id
    await set_project_config(pool, project, "v1")
    await publish_many(pipeline, [LAMBDA_0, LAMBDA_1, OTHER, LAMBDA_0])
    await pipeline.process_all()
    await run_regroup(pipeline, "v2")
    first = await snapshot(pool, project)
    report = await run_regroup(pipeline, "v2")
    assert report.moved_events == 0 and report.retired == 0 and report.new_ids == 0
    assert await snapshot(pool, project) == first


async def test_since_rebuilds_only_recent_issues(pipeline: Pipeline) -> None:
    pool, project = pipeline.pool, pipeline.project_id
    await set_project_config(pool, project, "v1")
    old = time.time() - 3 * 86400
    early = await publish_many(pipeline, [LAMBDA_0, LAMBDA_0, LAMBDA_1], received_at=old)
    recent = await publish_many(pipeline, [LAMBDA_1, LAMBDA_1])
    await pipeline.process_all()
    a, b = await issue_of(pool, project, early[0]), await issue_of(pool, project, early[2])
    untouched = (await rows(pool, "SELECT * FROM issues WHERE id = %s", a))[0]

    since = datetime.now(UTC) - timedelta(days=1)
    report = await run_regroup(pipeline, "v2", since=since)

    assert report.events_read == 2 and report.issues_before == 1
    # A had no event since the date: not rebuilt. B keeps its id and its older event.
    assert (await rows(pool, "SELECT * FROM issues WHERE id = %s", a))[0] == untouched
    assert {await issue_of(pool, project, e) for e in [early[2], *recent]} == {b}
    found = await rows(pool, "SELECT times_seen, grouping_config FROM issues WHERE id = %s", b)
    assert found == [{"times_seen": 3, "grouping_config": "v2"}]
    await assert_counters_match_ledger(pool, project)


async def test_ingestion_during_regroup_counts_every_event_once(pipeline: Pipeline) -> None:
    pool, project = pipeline.pool, pipeline.project_id
    await set_project_config(pool, project, "v1")
    await publish_many(pipeline, [LAMBDA_0, LAMBDA_1, OTHER] * 20)
    await pipeline.process_all()
    running = await pipeline.start()

    async def keep_publishing() -> None:
        for n in range(60):
            function = (LAMBDA_0, LAMBDA_1, OTHER)[n % 3]
            await pipeline.publish(jvm_error(function, user=f"late{n}"))
            await asyncio.sleep(0.01)

    publisher = asyncio.create_task(keep_publishing())
    reports: list[RegroupReport] = []
    while not publisher.done() or not reports:
        reports.append(await run_regroup(pipeline, "v2", page_size=7))
    await publisher
    assert len(reports) >= 2  # regroups ran while events were being counted
    await running.wait_committed(pipeline.bus.events_topic, pipeline.published)
    await running.stop()

    counted = await rows(pool, "SELECT sum(times_seen) AS n, count(*) AS issues FROM issues"
                         " WHERE project_id = %s AND times_seen > 0", project)
    assert counted == [{"n": 120, "issues": 2}]
    await assert_counters_match_ledger(pool, project)


async def test_old_config_event_after_swap_lands_in_the_new_issue(pipeline: Pipeline) -> None:
    """A processor whose settings cache still says v1 groups with the old hashes."""
    pool, project = pipeline.pool, pipeline.project_id
    await set_project_config(pool, project, "v1")
    ids = await publish_many(pipeline, [LAMBDA_0, LAMBDA_0, LAMBDA_1])
    await pipeline.process_all()
    await run_regroup(pipeline, "v2")
    target = await issue_of(pool, project, ids[0])
    stored = await pipeline.stored_events()
    data = (await pipeline.clickhouse.query(
        "SELECT data FROM errors FINAL WHERE toString(event_id) = %(id)s",
        {"id": str(uuid.UUID(stored[-1]["event_id"]))}))[0]["data"]
    v1_hash = compute_grouping(orjson.loads(data), "v1").hashes[0]
    found = await rows(pool, "SELECT issue_id FROM grouphashes WHERE project_id = %s"
                       " AND hash = %s", project, v1_hash)
    assert found == [{"issue_id": target}]


async def test_a_new_error_after_the_swap_opens_its_issue_under_the_new_config(
        pipeline: Pipeline) -> None:
    """The processor's settings cache still says v1 when the swap lands, so it groups a
    never-seen error with v1; the write reads the project's config under the regroup
    lock, finds v2, and groups the event again before it opens an issue."""
    pool, project = pipeline.pool, pipeline.project_id
    await set_project_config(pool, project, "v1")
    running = await pipeline.start()
    await publish_many(pipeline, [LAMBDA_0, LAMBDA_1])
    await running.wait_committed(pipeline.bus.events_topic, pipeline.published)
    await run_regroup(pipeline, "v2")

    [late] = await publish_many(pipeline, [OTHER])
    await running.wait_committed(pipeline.bus.events_topic, pipeline.published)

    issue = await issue_of(pool, project, late)
    assert await rows(pool, "SELECT grouping_config FROM issues WHERE id = %s",
                      issue) == [{"grouping_config": "v2"}]
    data = orjson.loads((await pipeline.clickhouse.query(
        "SELECT data FROM errors FINAL WHERE toString(event_id) = %(id)s",
        {"id": str(uuid.UUID(late))}))[0]["data"])
    hashes = await rows(pool, "SELECT hash FROM grouphashes WHERE issue_id = %s", issue)
    assert {r["hash"] for r in hashes} == set(compute_grouping(data, "v2").hashes)
    await assert_counters_match_ledger(pool, project)


async def test_swap_waits_for_processor_transactions(pipeline: Pipeline) -> None:
    """The swap takes the project's lock exclusively; writers hold it shared."""
    pool, project = pipeline.pool, pipeline.project_id
    await set_project_config(pool, project, "v1")
    await publish_many(pipeline, [LAMBDA_0, LAMBDA_1])
    await pipeline.process_all()
    async with pool.connection() as writer:
        async with writer.transaction():
            await lock_projects_shared(writer, [project])
            swap = asyncio.create_task(run_regroup(pipeline, "v2"))
            await asyncio.sleep(1.0)
            assert not swap.done()  # held back by the open write transaction
        report = await asyncio.wait_for(swap, 30)
    assert report.swapped and report.issues_after == 1


async def test_events_resolved_before_the_swap_follow_the_redirect(pipeline: Pipeline) -> None:
    """A batch resolved its issue before the swap retired it and counts after it."""
    pool, project = pipeline.pool, pipeline.project_id
    await set_project_config(pool, project, "v1")
    ids = await publish_many(pipeline, [LAMBDA_0, LAMBDA_0, LAMBDA_1])
    await pipeline.process_all()
    retired = await issue_of(pool, project, ids[2])
    await run_regroup(pipeline, "v2")
    kept = await issue_of(pool, project, ids[0])
    assert kept != retired
    late = EventRecord(project_id=project, event_id=uuid.uuid4().hex, issue_id=retired,
                       timestamp=datetime.now(UTC), received=datetime.now(UTC), level="error",
                       title="late", culprit="", user_key="late-user")
    result = await record_events(pool, [late])
    assert [r.issue_id for r in result.new] == [kept]
    assert await issue_of(pool, project, late.event_id) == kept
    await assert_counters_match_ledger(pool, project)
