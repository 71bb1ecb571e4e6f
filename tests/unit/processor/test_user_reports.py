"""User feedback items: legacy ``user_report`` and ``feedback`` events end in user_reports.

Parsing is checked directly on hostile payloads; storage runs through the real processor
on the embedded bus and PostgreSQL, including redelivery of the same bus message.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest

from faultline_core.bus.base import BusMessage, Partition
from faultline_core.messages import IngestMessage
from faultline_processor.items.base import InvalidItem, ItemSinks, PreparedItem
from faultline_processor.items.user_reports import (
    MAX_COMMENTS,
    MAX_EMAIL,
    MAX_NAME,
    UserReport,
    UserReportHandler,
)
from faultline_processor.prepare import Poison, prepare
from tests.unit.processor.conftest import Pipeline, python_error

HANDLER = UserReportHandler()


def item_message(item_type: str, payload: dict[str, Any] | bytes, event_id: str,
                 project_id: int = 1, item_id: str | None = None) -> IngestMessage:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return IngestMessage(
        project_id=project_id, event_id=event_id, item_type=item_type,
        received_at=time.time(), client_ip="203.0.113.9", payload=body,
        item_id=item_id or uuid.uuid4().hex,
    )


def legacy(event_id: str, **fields: Any) -> dict[str, Any]:
    return {"event_id": event_id, "name": "Ada", "email": "ada@example.com",
            "comments": "It broke when I paid.", **fields}


def feedback_event(feedback: dict[str, Any], own_id: str | None = None) -> dict[str, Any]:
    """A feedback event shaped like the JavaScript SDK's ``captureFeedback`` sends it."""
    return {"event_id": own_id or uuid.uuid4().hex, "type": "feedback", "level": "info",
            "timestamp": time.time(), "platform": "javascript",
            "contexts": {"feedback": feedback}}


def parsed(message: IngestMessage) -> UserReport:
    report = HANDLER.parse(message)
    assert isinstance(report, UserReport)
    return report


def test_legacy_user_report_is_about_its_event() -> None:
    event_id = uuid.uuid4().hex
    message = item_message("user_report", legacy(event_id), event_id)
    report = parsed(message)
    assert (report.event_id, report.report_id) == (event_id, message.item_id)
    assert (report.name, report.email, report.comments) == (
        "Ada", "ada@example.com", "It broke when I paid.")


def test_feedback_is_about_its_associated_event() -> None:
    own, associated = uuid.uuid4().hex, uuid.uuid4().hex
    dashed = str(uuid.UUID(associated)).upper()
    payload = feedback_event({"message": "Checkout hangs", "name": "Lin",
                              "contact_email": "lin@example.com", "url": "https://x.test/",
                              "source": "api", "associated_event_id": dashed}, own)
    report = parsed(item_message("feedback", payload, own))
    assert (report.report_id, report.event_id) == (own, associated)
    assert (report.name, report.email, report.comments) == (
        "Lin", "lin@example.com", "Checkout hangs")


@pytest.mark.parametrize("associated", [None, "not-an-id", 42])
def test_feedback_without_a_usable_event_is_about_itself(associated: object) -> None:
    own = uuid.uuid4().hex
    fields: dict[str, Any] = {"message": "General remark"}
    if associated is not None:
        fields["associated_event_id"] = associated
    report = parsed(item_message("feedback", feedback_event(fields, own), own))
    assert report.event_id == own == report.report_id


def test_feedback_falls_back_to_the_event_user() -> None:
    own = uuid.uuid4().hex
    payload = feedback_event({"message": "hi"}, own)
    payload["user"] = {"email": "u@example.com", "username": "u1"}
    report = parsed(item_message("feedback", payload, own))
    assert (report.name, report.email) == ("u1", "u@example.com")


def test_hostile_values_are_cleaned_and_capped() -> None:
    event_id = uuid.uuid4().hex
    payload = legacy(event_id, name="N" * 1000 + "\x00", email=["not", "a", "string"],
                     comments="<script>alert(1)</script>\x00" + "c" * 10_000)
    report = parsed(item_message("user_report", payload, event_id))
    assert report.name == "N" * MAX_NAME
    assert report.email == ""
    assert len(report.comments) == MAX_COMMENTS
    assert report.comments.startswith("<script>alert(1)</script>c")
    surrogate = b'{"event_id": "%s", "comments": "bad \\ud800 pair", "name": "\\udfff"}' % (
        event_id.encode())
    report = parsed(item_message("user_report", surrogate, event_id))
    assert report.comments == "bad ? pair" and report.name == "?"
    report.comments.encode("utf-8")  # storable: would raise on a lone surrogate
    assert len(parsed(item_message("user_report", legacy(event_id, email="e" * 500),
                                   event_id)).email) == MAX_EMAIL


@pytest.mark.parametrize(
    ("item_type", "payload", "error_part"),
    [
        ("user_report", {"event_id": "ab" * 16, "name": "x"}, "comments"),
        ("user_report", {"event_id": "ab" * 16, "comments": "   "}, "comments"),
        ("user_report", {"event_id": "ab" * 16, "comments": 12}, "comments"),
        ("user_report", b"[1, 2]", "not a JSON object"),
        ("user_report", b"{nope", "not valid JSON"),
        ("feedback", {"event_id": "ab" * 16, "contexts": {}}, "contexts.feedback"),
        ("feedback", {"event_id": "ab" * 16, "contexts": []}, "contexts.feedback"),
        ("feedback", feedback_event({"name": "no message"}), "message"),
    ],
)
def test_unusable_reports_are_invalid(item_type: str, payload: dict[str, Any] | bytes,
                                      error_part: str) -> None:
    with pytest.raises(InvalidItem, match=error_part):
        HANDLER.parse(item_message(item_type, payload, "ab" * 16))


def test_invalid_report_is_poison_not_a_crash() -> None:
    message = item_message("user_report", {"event_id": "ab" * 16}, "ab" * 16)
    bus = BusMessage(Partition("ingest-events", 0), 3, b"1", message.encode(), 0)
    result = prepare(bus)
    assert isinstance(result, Poison) and result.reason == "invalid_item"


async def stored_reports(pipeline: Pipeline) -> list[dict[str, Any]]:
    return await pipeline.rows(
        "SELECT report_id::text, event_id::text, name, email, comments FROM user_reports"
        " WHERE project_id = %s ORDER BY created_at, comments",
        pipeline.project_id,
    )


async def feedback_outcomes(pipeline: Pipeline) -> int:
    [row] = await pipeline.rows(
        "SELECT coalesce(sum(quantity), 0) AS n FROM outcomes WHERE project_id = %s"
        " AND outcome = 'accepted' AND category = 'feedback'",
        pipeline.project_id,
    )
    return int(row["n"])


async def test_both_shapes_are_stored_once_despite_redelivery(pipeline: Pipeline) -> None:
    event_id = await pipeline.publish(python_error())
    report = item_message("user_report", legacy(event_id), event_id, pipeline.project_id)
    own = uuid.uuid4().hex
    feedback = item_message("feedback", feedback_event(
        {"message": "Second opinion", "associated_event_id": event_id}, own), own,
        pipeline.project_id)
    for message in (report, feedback, report, feedback):  # each delivered twice
        await pipeline.publish_raw(message.encode(), b"k")
    await pipeline.process_all()

    rows = await stored_reports(pipeline)
    assert sorted((r["report_id"].replace("-", ""), r["event_id"].replace("-", ""),
                   r["comments"]) for r in rows) == sorted([
        (report.item_id, event_id, "It broke when I paid."),
        (own, event_id, "Second opinion"),
    ])
    assert await feedback_outcomes(pipeline) == 2
    assert await pipeline.dead_letters() == []


async def test_write_retried_after_commit_adds_nothing(pipeline: Pipeline) -> None:
    event_id = uuid.uuid4().hex
    message = item_message("user_report", legacy(event_id), event_id, pipeline.project_id)
    bus = BusMessage(Partition("ingest-events", 0), 0, None, message.encode(), 0)
    item = PreparedItem(bus, message, HANDLER.parse(message))
    sinks = ItemSinks(pipeline.pool, pipeline.clickhouse)
    await HANDLER.write(sinks, [item, item])
    await HANDLER.write(sinks, [item])
    assert len(await stored_reports(pipeline)) == 1
    assert await feedback_outcomes(pipeline) == 1


async def test_resent_feedback_with_a_new_item_id_is_one_report(pipeline: Pipeline) -> None:
    own = uuid.uuid4().hex
    payload = feedback_event({"message": "sent twice by a retrying SDK"}, own)
    for _ in range(2):
        await pipeline.publish_raw(
            item_message("feedback", payload, own, pipeline.project_id).encode(), b"k")
    await pipeline.process_all()
    rows = await stored_reports(pipeline)
    assert [r["event_id"].replace("-", "") for r in rows] == [own]
