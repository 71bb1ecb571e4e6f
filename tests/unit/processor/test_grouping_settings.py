"""Per-project grouping settings in the processor (issue 5): the settings cache, and
events grouped with their project's config and server-side rules."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from pydantic import SecretStr

from faultline_core.bus.base import BusMessage, Partition
from faultline_core.grouping import DEFAULT_GROUPING_CONFIG, LATEST_GROUPING_CONFIG
from faultline_core.messages import IngestMessage
from faultline_core.settings import PostgresSettings
from faultline_core.storage.postgres import tenancy
from faultline_core.storage.postgres.pool import Pool, open_pool
from faultline_processor.grouping_settings import (
    NO_SETTINGS,
    GroupingSettingsCache,
    message_project_ids,
)
from tests.unit.processor.conftest import Pipeline, python_error

# "shop.maths" frames and ZeroDivisionError / OverflowError both become one issue.
ARITHMETIC_RULES = (
    "# both arithmetic failures are one problem\n"
    "error.type:ZeroDivisionError -> arithmetic\n"
    "error.type:OverflowError -> arithmetic\n"
)
NOT_RULES = "error.type:ZeroDivisionError -> arithmetic\nthis line is no rule at all\n"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def new_project(pool: Pool, slug: str, **columns: str) -> int:
    """A project in a new organization, with the given ``projects`` columns set."""
    async with pool.connection() as conn, conn.transaction():
        org = await tenancy.create_organization(conn, f"org-{slug}", slug)
        project_id = await tenancy.create_project(conn, org, slug, slug, "python")
    await set_columns(pool, project_id, **columns)
    return project_id


async def set_columns(pool: Pool, project_id: int, **columns: str) -> None:
    async with pool.connection() as conn:
        for column, value in columns.items():
            assert column in {"grouping_config", "fingerprinting_rules", "grouping_enhancements"}
            await conn.execute(f"UPDATE projects SET {column} = %s WHERE id = %s",
                               (value, project_id))


def message(value: bytes) -> BusMessage:
    return BusMessage(Partition("ingest-events", 0), 0, None, value, 0)


async def test_new_projects_get_the_latest_config(pool: Pool, project_id: int) -> None:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT grouping_config FROM projects WHERE id = %s",
                                 (project_id,))
        row = await cur.fetchone()
    assert row is not None and row["grouping_config"] == LATEST_GROUPING_CONFIG != "v1"


async def test_settings_are_cached_until_the_ttl_expires(pool: Pool) -> None:
    project = await new_project(pool, "ttl", grouping_config="v1")
    clock = Clock()
    cache = GroupingSettingsCache(pool, ttl_s=30, clock=clock)

    first = await cache.get_many([project])
    await set_columns(pool, project, grouping_config="v2", fingerprinting_rules=ARITHMETIC_RULES)
    clock.now += 29
    cached = await cache.get_many([project])
    clock.now += 2
    reloaded = await cache.get_many([project])

    assert first[project].config == cached[project].config == "v1"
    assert cached[project].rules is None
    assert reloaded[project].config == "v2"
    rules = reloaded[project].rules
    assert rules is not None and not rules.is_empty
    assert cache.queries == 2


async def test_refresh_reads_the_database_within_the_ttl(pool: Pool) -> None:
    project = await new_project(pool, "refresh", grouping_config="v1")
    cache = GroupingSettingsCache(pool, ttl_s=30, clock=Clock())
    await cache.get_many([project])
    await set_columns(pool, project, grouping_config="v2")

    refreshed = await cache.refresh([project])

    assert refreshed[project].config == "v2"
    assert (await cache.get_many([project]))[project].config == "v2"
    assert cache.queries == 2


async def test_one_query_loads_every_project_of_a_poll(pool: Pool) -> None:
    a = await new_project(pool, "one-a", grouping_config="v1")
    b = await new_project(pool, "one-b", fingerprinting_rules=ARITHMETIC_RULES)
    cache = GroupingSettingsCache(pool)

    settings = await cache.get_many([a, b, 999_999])

    assert cache.queries == 1
    assert settings[a].config == "v1" and settings[a].rules is None
    assert settings[b].config == LATEST_GROUPING_CONFIG and settings[b].rules is not None
    assert settings[999_999] == NO_SETTINGS  # unknown: the default, and the writer rejects it
    await cache.get_many([a, b, 999_999])
    assert cache.queries == 1


async def test_the_cache_is_bounded(pool: Pool) -> None:
    ids = [await new_project(pool, f"bound-{n}") for n in range(5)]
    cache = GroupingSettingsCache(pool, max_entries=3)

    for project in ids:
        await cache.get_many([project])

    assert len(cache) == 3
    await cache.get_many(ids[-3:])  # the newest three are still there
    assert cache.queries == 5
    await cache.get_many(ids[:1])  # the oldest was evicted
    assert cache.queries == 6


async def test_rules_that_no_longer_parse_fall_back_to_none_and_log_once(
    pool: Pool, caplog: pytest.LogCaptureFixture
) -> None:
    project = await new_project(pool, "bad", fingerprinting_rules=NOT_RULES)
    other = await new_project(pool, "bad2", fingerprinting_rules=NOT_RULES,
                              grouping_config="v9")
    clock = Clock()
    cache = GroupingSettingsCache(pool, ttl_s=1, clock=clock)

    with caplog.at_level(logging.ERROR, "faultline_processor.grouping_settings"):
        first = await cache.get_many([project])
        clock.now += 5
        again = await cache.get_many([project, other])

    assert first[project].rules is None and again[project].rules is None
    assert first[project].config == LATEST_GROUPING_CONFIG
    assert again[other].config == DEFAULT_GROUPING_CONFIG  # v9 is not registered
    assert cache.queries == 2
    no_longer_parse = [r for r in caplog.records if "no longer parse" in r.getMessage()]
    assert len(no_longer_parse) == 1  # the same text: parsed (and reported) once
    assert any("unknown grouping config 'v9'" in r.getMessage() for r in caplog.records)


async def test_expired_settings_serve_while_the_database_is_unreachable(pg_dsn: str) -> None:
    settings = PostgresSettings(dsn=SecretStr(pg_dsn), pool_min_size=1, pool_max_size=2)
    pool = await open_pool(settings, name="grouping-down")
    project = await new_project(pool, "down", grouping_config="v1")
    clock = Clock()
    cache = GroupingSettingsCache(pool, ttl_s=1, clock=clock)
    await cache.get_many([project])
    await pool.close()  # the database is gone from here on
    clock.now += 10

    stale = await cache.get_many([project])
    with pytest.raises(Exception, match="closed"):
        await cache.get_many([project, project + 1])
    stop = asyncio.Event()
    stop.set()
    payload = IngestMessage(project + 1, "a" * 32, "event", 1.0, None, b"{}").encode()
    gave_up = await cache.for_messages([message(payload)], stop)

    assert stale[project].config == "v1"
    assert gave_up is None  # stopping: the messages stay uncommitted for redelivery


def test_project_ids_come_from_the_header_line_only() -> None:
    good = IngestMessage(7, "a" * 32, "event", 1.0, None, b'{"project_id": 99}').encode()
    other = IngestMessage(8, "b" * 32, "event", 1.0, None, b"not json at all").encode()
    bad_id = json.dumps({"v": 1, "project_id": "x"}).encode() + b"\n{}"

    ids = message_project_ids([message(m) for m in (good, other, bad_id, b"no header")])

    assert ids == {7, 8}


async def _issues_of(pipeline: Pipeline, project_id: int) -> list[dict[str, Any]]:
    return [i for i in await pipeline.issues() if i["project_id"] == project_id]


async def test_each_project_groups_with_its_own_config_and_rules(pipeline: Pipeline) -> None:
    pool = pipeline.pool
    on_v1 = await new_project(pool, "legacy", grouping_config="v1",
                              fingerprinting_rules="")
    on_v2 = pipeline.project_id  # created now: the latest config
    await set_columns(pool, on_v2, fingerprinting_rules=ARITHMETIC_RULES)
    for project in (on_v1, on_v2):
        await pipeline.publish(python_error(), project_id=project)
        await pipeline.publish(python_error("OverflowError", "too big", function="power"),
                               project_id=project)

    await pipeline.process_all()

    legacy = await _issues_of(pipeline, on_v1)
    ruled = await _issues_of(pipeline, on_v2)
    assert sorted(i["metadata"]["type"] for i in legacy) == ["OverflowError",
                                                             "ZeroDivisionError"]
    assert {i["grouping_config"] for i in legacy} == {"v1"}
    [issue] = ruled  # the rule's fingerprint decides: one issue for both errors
    assert issue["times_seen"] == 2
    assert issue["grouping_config"] == LATEST_GROUPING_CONFIG
