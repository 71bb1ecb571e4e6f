"""Release health through the real processor: session updates and aggregates become
hourly ``release_sessions`` counters, counted once however often they are delivered."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from faultline_core.bus.base import BusMessage, Partition
from faultline_core.messages import IngestMessage
from faultline_core.storage.postgres.outcomes import hour_bucket
from faultline_processor.items.base import InvalidItem, PreparedItem
from faultline_processor.items.sessions import ParsedSessions, SessionsHandler
from faultline_processor.prepare import Poison, prepare
from tests.unit.processor.conftest import Pipeline

RELEASE = "shop@2.1.0"


def iso(epoch_s: float) -> str:
    return datetime.fromtimestamp(epoch_s, UTC).isoformat().replace("+00:00", "Z")


def session_message(project_id: int, payload: dict[str, Any] | bytes,
                    item_type: str = "session", received_at: float | None = None,
                    item_id: str | None = None) -> IngestMessage:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    item = item_id or uuid.uuid4().hex
    return IngestMessage(
        project_id=project_id, event_id=item, item_type=item_type,
        received_at=received_at if received_at is not None else time.time(),
        client_ip=None, payload=body, item_id=item,
    )


def update(sid: str, started: float, *, init: bool = False, status: str = "ok",
           errors: int = 0, release: str = RELEASE, environment: str = "prod") -> dict[str, Any]:
    """A session update shaped like sentry-python's application-mode sessions."""
    return {
        "sid": sid, "did": "user-1", "init": init, "started": iso(started),
        "timestamp": iso(time.time()), "status": status, "errors": errors, "duration": 1.5,
        "attrs": {"release": release, "environment": environment},
    }


def aggregates(started: float, release: str = RELEASE, **counts: object) -> dict[str, Any]:
    return {"aggregates": [{"started": iso(started), **counts}],
            "attrs": {"release": release, "environment": "prod"}}


async def counters(pipeline: Pipeline) -> list[dict[str, Any]]:
    return await pipeline.rows(
        "SELECT release, environment, bucket, started, errored, crashed, abnormal"
        " FROM release_sessions WHERE project_id = %s ORDER BY release, environment,"
        " bucket",
        pipeline.project_id,
    )


async def accepted_sessions(pipeline: Pipeline) -> int:
    [row] = await pipeline.rows(
        "SELECT coalesce(sum(quantity), 0) AS n FROM outcomes WHERE project_id = %s"
        " AND outcome = 'accepted' AND category = 'session'",
        pipeline.project_id,
    )
    return int(row["n"])


async def publish(pipeline: Pipeline, message: IngestMessage) -> None:
    await pipeline.publish_raw(message.encode(), str(message.project_id).encode())


def row(bucket: datetime, started: int = 0, errored: int = 0, crashed: int = 0,
        abnormal: int = 0, release: str = RELEASE, environment: str = "prod") -> dict[str, Any]:
    return {"release": release, "environment": environment, "bucket": bucket,
            "started": started, "errored": errored, "crashed": crashed, "abnormal": abnormal}


async def test_a_sessions_errored_state_is_counted_once_across_updates(
    pipeline: Pipeline,
) -> None:
    started = time.time() - 600
    healthy, errored, crashed = uuid.uuid4().hex, uuid.uuid4().hex, uuid.uuid4().hex
    sequence = [
        update(healthy, started, init=True), update(healthy, started, status="exited"),
        # sentry-python sends an update per captured error, each with the running count
        update(errored, started, init=True), update(errored, started, errors=1),
        update(errored, started, errors=2), update(errored, started, status="exited", errors=2),
        # one error, then a crash: errored once, crashed once
        update(crashed, started, init=True, errors=1), update(crashed, started, errors=2),
        update(crashed, started, status="crashed", errors=3),
    ]
    for payload in sequence:
        await publish(pipeline, session_message(pipeline.project_id, payload))
    await pipeline.process_all()

    assert await counters(pipeline) == [row(hour_bucket(started), started=3, errored=2,
                                            crashed=1)]
    assert await accepted_sessions(pipeline) == len(sequence)
    assert await pipeline.dead_letters() == []


async def test_errored_dedupe_holds_across_batches_and_redelivery(pipeline: Pipeline) -> None:
    started = time.time() - 60
    sid = uuid.uuid4().hex
    first = session_message(pipeline.project_id, update(sid, started, init=True, errors=1))
    await publish(pipeline, first)
    await pipeline.process_all()
    later = session_message(pipeline.project_id, update(sid, started, status="abnormal",
                                                         errors=1))
    await publish(pipeline, later)
    await publish(pipeline, first)  # redelivered
    await pipeline.process_all()
    # A second consumer group replays everything, as a crash before the commit would.
    await pipeline.process_all(pipeline.settings(consumer_group="replay"))

    assert await counters(pipeline) == [row(hour_bucket(started), started=1, errored=1,
                                            abnormal=1)]
    assert await accepted_sessions(pipeline) == 2


async def test_crash_without_a_seen_start_still_counts(pipeline: Pipeline) -> None:
    started = time.time() - 60
    await publish(pipeline, session_message(
        pipeline.project_id, update(uuid.uuid4().hex, started, status="crashed")))
    await pipeline.process_all()
    assert await counters(pipeline) == [row(hour_bucket(started), errored=1, crashed=1)]


async def test_updates_land_in_the_hour_their_session_started(pipeline: Pipeline) -> None:
    now = time.time()
    sid = uuid.uuid4().hex
    await publish(pipeline, session_message(pipeline.project_id,
                                            update(sid, now - 7200, init=True)))
    await publish(pipeline, session_message(pipeline.project_id,
                                            update(sid, now - 7200, status="crashed")))
    await publish(pipeline, session_message(pipeline.project_id, update(
        uuid.uuid4().hex, now - 60, init=True, environment="staging", release="shop@2.2.0")))
    await pipeline.process_all()
    assert await counters(pipeline) == [
        row(hour_bucket(now - 7200), started=1, errored=1, crashed=1),
        row(hour_bucket(now - 60), started=1, release="shop@2.2.0", environment="staging"),
    ]


async def test_aggregates_count_every_status(pipeline: Pipeline) -> None:
    now = time.time()
    payload = aggregates(now - 60, exited=5, errored=2, crashed=1, abnormal=1)
    payload["aggregates"].append({"started": iso(now - 7200), "exited": 3})
    payload["aggregates"].append({"started": "yesterday-ish", "exited": 100})  # skipped
    message = session_message(pipeline.project_id, payload, item_type="sessions")
    await publish(pipeline, message)
    await publish(pipeline, message)  # redelivered
    await pipeline.process_all()
    assert await counters(pipeline) == [
        row(hour_bucket(now - 7200), started=3),
        row(hour_bucket(now - 60), started=9, errored=4, crashed=1, abnormal=1),
    ]
    assert await accepted_sessions(pipeline) == 12


def parse(item_type: str, payload: dict[str, Any] | bytes) -> ParsedSessions:
    parsed = SessionsHandler().parse(session_message(1, payload, item_type=item_type))
    assert isinstance(parsed, ParsedSessions)
    return parsed


@pytest.mark.parametrize("payload", [
    b"[]", b"{not json",
    {"sid": "a", "init": True, "started": iso(time.time())},  # no release
    update("a", time.time(), release=""),
    update("a", time.time(), release="a/b"),
    update("a", time.time(), release="x" * 201),
    update("a", time.time(), release="latest"),
    update("a", time.time(), status="exploded"),
    update("", time.time()),
    update("a", time.time() - 30 * 86400),  # started too long ago
    update("a", time.time() + 30 * 86400),
    {**update("a", time.time()), "started": 1e300},
    {**update("a", time.time()), "started": 10**400},
    {**update("a", time.time()), "started": float("nan")},
    {**update("a", time.time()), "started": "2024-13-45T99:00:00Z"},
    {**update("a", time.time()), "attrs": "shop@1"},
    {**update("a", time.time()), "sid": ["a"]},
])
def test_unusable_session_updates_are_invalid(payload: dict[str, Any] | bytes) -> None:
    with pytest.raises(InvalidItem):
        parse("session", payload)


def test_hostile_optional_fields_are_dropped_leniently() -> None:
    started = time.time()
    payload = update("a", started, init=True, environment="prod\nuction")
    payload["errors"] = "many"
    parsed = parse("session", payload)
    assert parsed.environment == "" and parsed.errored_marker is None
    assert parsed.counts[0].started == 1

    hostile = aggregates(started, exited=10**12, errored=-5, crashed=True, abnormal=1.5)
    hostile["aggregates"] += [None, "x", {"started": None, "exited": 1}] * 2000
    parsed = parse("sessions", hostile)
    assert [(c.started, c.errored, c.crashed, c.abnormal) for c in parsed.counts] == [
        (1_000_000, 0, 0, 0)
    ]
    with pytest.raises(InvalidItem):
        parse("sessions", {**hostile, "aggregates": {"started": 1}})


async def test_bad_sessions_are_dead_lettered_and_do_not_stop_the_rest(
    pipeline: Pipeline,
) -> None:
    now = time.time()
    no_release = update(uuid.uuid4().hex, now, init=True)
    no_release["attrs"] = {"environment": "prod"}
    await publish(pipeline, session_message(pipeline.project_id, no_release))
    await publish(pipeline, session_message(pipeline.project_id, b"\xff\xfe"))
    await publish(pipeline, session_message(pipeline.project_id,
                                            update(uuid.uuid4().hex, now, init=True)))
    await pipeline.process_all()
    letters = await pipeline.dead_letters()
    assert [letter["reason"] for letter in letters] == ["invalid_item", "invalid_item"]
    assert await counters(pipeline) == [row(hour_bucket(now), started=1)]


def test_odd_field_values_are_handled_or_dead_lettered_never_crash() -> None:
    odd: list[object] = [None, 1, "s", [], {}, {"a": None}, 1e308, -1, True, [{"x": 1}]]
    outcomes: set[str] = set()
    for item_type in ("session", "sessions"):
        for key in ("sid", "started", "status", "errors", "init", "attrs", "aggregates"):
            for value in odd:
                payload: dict[str, Any] = {**update("a", time.time()),
                                           **aggregates(time.time(), exited=1)}
                payload[key] = value
                message = session_message(1, json.dumps(payload).encode(), item_type)
                prepared = prepare(BusMessage(Partition("t", 0), 0, None, message.encode(), 0))
                if isinstance(prepared, Poison):
                    assert prepared.reason == "invalid_item", prepared.error
                    outcomes.add("dead-lettered")
                else:
                    assert isinstance(prepared, PreparedItem)
                    assert isinstance(prepared.parsed, ParsedSessions)
                    outcomes.add("counted")
    assert outcomes == {"dead-lettered", "counted"}
