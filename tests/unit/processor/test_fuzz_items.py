"""Property tests: every item handler's ``parse`` against mutated and hostile payloads.

The contract: ``parse`` returns, or raises :class:`InvalidItem` (the item goes to the
dead-letter topic). Anything else would be caught by ``prepare`` as a
``processing_error`` and hide a bug, so the handlers are called directly here. Profiles
(``make test`` small and derandomised, ``make fuzz`` long) come from test_fuzz_parsers.
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faultline_core.blobstore.base import blob_key
from faultline_core.messages import IngestMessage
from faultline_processor.items.base import InvalidItem
from faultline_processor.items.registry import ITEM_HANDLERS
from tests import hypothesis_profiles  # noqa: F401  (loads the profile)
from tests.json_paths import json_paths, replace_at
from tests.unit.test_fuzz_parsers import _mutate_bytes, json_values

PROJECT_ID = 7
EVENT_ID = uuid.uuid4().hex
ITEM_ID = uuid.uuid4().hex
NOW = time.time()
ISO_NOW = datetime.fromtimestamp(NOW - 60, UTC).isoformat()

# One realistic payload per item type, shaped as the SDKs send them.
BASE_PAYLOADS: dict[str, Any] = {
    "transaction": {
        "type": "transaction", "transaction": "/checkout", "event_id": EVENT_ID,
        "start_timestamp": NOW - 1, "timestamp": NOW, "spans": [],
        "contexts": {"trace": {"trace_id": uuid.uuid4().hex, "span_id": "a" * 16}},
    },
    "session": {
        "sid": uuid.uuid4().hex, "did": "user-1", "init": True, "started": ISO_NOW,
        "timestamp": ISO_NOW, "status": "exited", "errors": 1, "duration": 1.5,
        "attrs": {"release": "shop@1.0", "environment": "production"},
    },
    "sessions": {
        "aggregates": [{"started": ISO_NOW, "exited": 3, "errored": 1, "crashed": 1}],
        "attrs": {"release": "shop@1.0", "environment": "production"},
    },
    "client_report": {
        "timestamp": NOW,
        "discarded_events": [{"reason": "before_send", "category": "error", "quantity": 2}],
        "rate_limited_events": [{"reason": "ratelimit_backoff", "category": "error",
                                 "quantity": 1}],
    },
    "log": {"items": [{
        "timestamp": NOW, "level": "info", "body": "order 7 failed", "severity_number": 9,
        "trace_id": uuid.uuid4().hex,
        "attributes": {"order": {"value": 7, "type": "integer"},
                       "sentry.release": {"value": "shop@1.0", "type": "string"}},
    }]},
    "user_report": {
        "event_id": EVENT_ID, "name": "Ada", "email": "ada@example.com", "comments": "broken",
    },
    "feedback": {
        "event_id": EVENT_ID, "type": "feedback", "timestamp": NOW,
        "contexts": {"feedback": {"message": "it broke", "contact_email": "a@example.com",
                                  "name": "Ada", "associated_event_id": uuid.uuid4().hex}},
    },
}
ATTACHMENT_META: dict[str, Any] = {
    "blob_key": blob_key(PROJECT_ID, EVENT_ID, ITEM_ID), "size": 12,
    "filename": "log.txt", "content_type": "text/plain", "attachment_type": "event.attachment",
}


def _message(item_type: str, payload: bytes, meta: dict[str, Any] | None = None) -> IngestMessage:
    return IngestMessage(PROJECT_ID, EVENT_ID, item_type, NOW, None, payload, ITEM_ID,
                         meta or {})


def _parse_or_reject(message: IngestMessage) -> None:
    with contextlib.suppress(InvalidItem):
        ITEM_HANDLERS[message.item_type].parse(message)


def test_every_handled_type_has_a_base_payload() -> None:
    assert set(ITEM_HANDLERS) == {*BASE_PAYLOADS, "attachment"}


@pytest.mark.parametrize("item_type", sorted(BASE_PAYLOADS))
def test_base_payloads_parse(item_type: str) -> None:
    ITEM_HANDLERS[item_type].parse(
        _message(item_type, json.dumps(BASE_PAYLOADS[item_type]).encode())
    )


@st.composite
def mutated_json(draw: st.DrawFn, base: Any) -> Any:
    value = base
    for _ in range(draw(st.integers(1, 4))):
        value = replace_at(value, draw(st.sampled_from(json_paths(value))), draw(json_values))
    return value


@pytest.mark.parametrize("item_type", sorted(BASE_PAYLOADS))
@given(data=st.data())
def test_mutated_payloads_parse_or_are_rejected(item_type: str, data: st.DataObject) -> None:
    payload = data.draw(mutated_json(BASE_PAYLOADS[item_type]))
    _parse_or_reject(_message(item_type, json.dumps(payload).encode()))


@st.composite
def corrupt_json_bytes(draw: st.DrawFn, base: Any) -> bytes:
    return _mutate_bytes(draw, json.dumps(base).encode())


@pytest.mark.parametrize("item_type", sorted(BASE_PAYLOADS))
@given(data=st.data())
def test_corrupt_bytes_parse_or_are_rejected(item_type: str, data: st.DataObject) -> None:
    payload = data.draw(corrupt_json_bytes(BASE_PAYLOADS[item_type]))
    _parse_or_reject(_message(item_type, payload))


@given(meta=mutated_json(ATTACHMENT_META))
def test_mutated_attachment_references_parse_or_are_rejected(meta: Any) -> None:
    _parse_or_reject(_message("attachment", b"", meta if isinstance(meta, dict) else {}))
