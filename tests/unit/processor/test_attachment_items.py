"""``attachment`` items through the real processor: metadata rows, outcomes, idempotency,
and references that must not be trusted."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from faultline_core.blobstore.base import blob_key
from faultline_core.messages import IngestMessage
from faultline_core.storage.postgres.outcomes import hour_bucket
from faultline_processor.items.attachments import (
    Attachment,
    clean_content_type,
    clean_name,
    parse_attachment,
)
from faultline_processor.items.base import InvalidItem
from tests.unit.processor.conftest import Pipeline


def attachment_message(
    project_id: int, event_id: str, item_id: str, received_at: float | None = None,
    **meta: Any,
) -> IngestMessage:
    fields: dict[str, Any] = {"blob_key": blob_key(project_id, event_id, item_id), "size": 5}
    fields.update(meta)
    return IngestMessage(
        project_id=project_id, event_id=event_id, item_type="attachment",
        received_at=received_at if received_at is not None else time.time(), client_ip=None,
        payload=b"", item_id=item_id, meta={k: v for k, v in fields.items() if v is not None},
    )


async def stored(pipeline: Pipeline) -> list[dict[str, Any]]:
    return await pipeline.rows(
        "SELECT attachment_id::text AS id, event_id::text AS event_id, name, content_type,"
        " attachment_type, size, blob_key FROM attachments WHERE project_id = %s"
        " ORDER BY name",
        pipeline.project_id,
    )


async def accepted_bytes(pipeline: Pipeline) -> list[tuple[Any, int]]:
    rows = await pipeline.rows(
        "SELECT bucket, quantity FROM outcomes WHERE project_id = %s"
        " AND outcome = 'accepted' AND category = 'attachment'",
        pipeline.project_id,
    )
    return [(row["bucket"], row["quantity"]) for row in rows]


async def test_attachments_are_recorded_once_even_when_redelivered(pipeline: Pipeline) -> None:
    now = time.time()
    event_id = uuid.uuid4().hex
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    messages = [
        attachment_message(pipeline.project_id, event_id, first, now, filename="a.log",
                           content_type="text/plain; charset=utf-8", size=10),
        attachment_message(pipeline.project_id, event_id, second, now, filename="b.dmp",
                           attachment_type="event.minidump", size=32),
    ]
    for message in [*messages, messages[0]]:  # the third is a redelivery of the first
        await pipeline.publish_raw(message.encode())
    await pipeline.process_all()
    await pipeline.process_all(pipeline.settings(consumer_group="replay"))

    rows = await stored(pipeline)
    assert [(r["name"], r["content_type"], r["attachment_type"], r["size"]) for r in rows] == [
        ("a.log", "text/plain", "event.attachment", 10),
        ("b.dmp", "application/octet-stream", "event.minidump", 32),
    ]
    assert {r["event_id"].replace("-", "") for r in rows} == {event_id}
    assert rows[0]["id"].replace("-", "") == first
    assert rows[0]["blob_key"] == blob_key(pipeline.project_id, event_id, first)
    # Like Sentry, the attachment category counts bytes.
    assert await accepted_bytes(pipeline) == [(hour_bucket(now), 42)]
    assert await pipeline.dead_letters() == []


async def test_untrusted_references_are_dead_lettered(pipeline: Pipeline) -> None:
    project = pipeline.project_id
    event_id, item_id = uuid.uuid4().hex, uuid.uuid4().hex
    bad = [
        # Another project's blob, and another event's blob of this project.
        attachment_message(project, event_id, item_id,
                           blob_key=blob_key(project + 1, event_id, item_id)),
        attachment_message(project, event_id, uuid.uuid4().hex,
                           blob_key=blob_key(project, uuid.uuid4().hex, item_id)),
        attachment_message(project, event_id, uuid.uuid4().hex, blob_key="../../etc/passwd"),
        attachment_message(project, event_id, uuid.uuid4().hex, size=-1),
    ]
    for message in bad:
        await pipeline.publish_raw(message.encode())
    good = attachment_message(project, event_id, uuid.uuid4().hex)
    await pipeline.publish_raw(good.encode())
    await pipeline.process_all()

    assert [row["name"] for row in await stored(pipeline)] == ["attachment"]
    reasons = [letter["reason"] for letter in await pipeline.dead_letters()]
    assert reasons == ["invalid_item"] * 4


def test_parse_fills_defaults_and_cleans_display_fields() -> None:
    event_id, item_id = uuid.uuid4().hex, uuid.uuid4().hex
    parsed = parse_attachment(attachment_message(
        7, event_id, item_id, filename="\x00\u202e evil\n.txt ", content_type="<script>",
        attachment_type="Not A Type", size=0,
    ))
    assert parsed == Attachment(event_id, "evil.txt", "application/octet-stream",
                                "event.attachment", 0, blob_key(7, event_id, item_id))
    assert clean_name(None) == clean_name("\x07") == "attachment"
    assert len(clean_name("x" * 1000)) == 200
    assert clean_content_type("Image/PNG") == "image/png"


@pytest.mark.parametrize("meta", [
    {"size": True}, {"size": "5"}, {"size": None}, {"blob_key": 12}, {"blob_key": None},
])
def test_parse_refuses_malformed_meta(meta: dict[str, Any]) -> None:
    message = attachment_message(3, uuid.uuid4().hex, uuid.uuid4().hex, **meta)
    if meta.get("size", 0) is None or meta.get("blob_key", "") is None:
        # ``None`` means "absent" for the helper: the field is dropped from meta.
        assert "size" not in message.meta or "blob_key" not in message.meta
    with pytest.raises(InvalidItem):
        parse_attachment(message)


def test_parse_refuses_an_event_id_that_is_not_hex() -> None:
    message = IngestMessage(3, "not-an-id", "attachment", time.time(), None, b"",
                            uuid.uuid4().hex, {"blob_key": "3/abc/def", "size": 1})
    with pytest.raises(InvalidItem, match="not 32 hex"):
        parse_attachment(message)
