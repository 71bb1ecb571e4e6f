"""Reading the golden SDK envelopes under ``tests/fixtures/sdk/`` the way the processor does."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from faultline_core.envelope import Envelope, parse_envelope
from faultline_core.event import NormalizedEvent
from faultline_core.normalize import normalize_event

SDK_FIXTURES = Path(__file__).parent / "fixtures" / "sdk"


def normalize_fixture_event(envelope: Envelope, project_id: int,
                            client_ip: str) -> NormalizedEvent:
    """Normalise the envelope's one event, received a second after the SDK stamped it, and
    require that normalisation recorded no errors (the SDK's output is well-formed)."""
    items = [item for item in envelope.items if item.type == "event"]
    assert len(items) == 1
    payload = items[0].payload
    assert envelope.event_id is not None
    sent = json.loads(payload)["timestamp"]
    sent_at = sent if isinstance(sent, float) else datetime.fromisoformat(sent).timestamp()
    event = normalize_event(project_id, envelope.event_id, payload, sent_at + 1, client_ip)
    assert event.errors == ()
    assert event.event_id == envelope.event_id
    return event


def load_fixture_envelope(sdk: str, name: str) -> Envelope:
    return parse_envelope((SDK_FIXTURES / sdk / name).read_bytes())


def exceptions(event: NormalizedEvent) -> list[dict[str, Any]]:
    values: list[dict[str, Any]] = event.data["exception"]["values"]
    return values


def frames(exc: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = exc["stacktrace"]["frames"]
    return found
