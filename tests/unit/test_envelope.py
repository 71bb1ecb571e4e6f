"""Envelope parsing: item framing, tolerance rules and clear errors for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from faultline_core.envelope import EnvelopeError, parse_envelope, parse_event_id

PAYLOADS = Path(__file__).parent.parent / "fixtures" / "payloads"
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"


def _header(**fields: object) -> bytes:
    return json.dumps(fields, separators=(",", ":")).encode()


def test_multiple_items_with_and_without_length() -> None:
    event = b'{"message":"hello","level":"error"}'
    attachment = b"line one\nline two\n\x00\xff\xfe binary\n"
    body = b"\n".join(
        [
            _header(event_id=EVENT_ID, dsn="https://key@example.com/1"),
            _header(type="event", length=len(event)),
            event,
            _header(type="attachment", length=len(attachment), filename="log.txt"),
            attachment,
            _header(type="session"),
            b'{"sid":"x","status":"ok"}',
        ]
    )

    envelope = parse_envelope(body)

    assert envelope.headers["dsn"] == "https://key@example.com/1"
    assert envelope.event_id == EVENT_ID
    assert [item.type for item in envelope.items] == ["event", "attachment", "session"]
    assert envelope.items[0].payload == event
    assert envelope.items[1].payload == attachment
    assert envelope.items[1].headers["filename"] == "log.txt"
    assert envelope.items[2].payload == b'{"sid":"x","status":"ok"}'


@pytest.mark.parametrize("final_newline", [b"", b"\n"])
def test_final_newline_is_optional(final_newline: bytes) -> None:
    body = b"{}\n" + _header(type="event") + b"\n{}" + final_newline

    envelope = parse_envelope(body)

    assert len(envelope.items) == 1
    assert envelope.items[0].payload == b"{}"


def test_length_less_payload_runs_to_the_next_newline() -> None:
    body = b"{}\n" + _header(type="event") + b'\n{"a":1}\n' + _header(type="client_report")
    body += b'\n{"discarded_events":[]}\n'

    envelope = parse_envelope(body)

    assert [item.payload for item in envelope.items] == [b'{"a":1}', b'{"discarded_events":[]}']


def test_empty_payloads() -> None:
    body = b"\n".join(
        [b"{}", _header(type="attachment", length=0), b"", _header(type="event"), b""]
    )

    envelope = parse_envelope(body)

    assert [(item.type, item.payload) for item in envelope.items] == [
        ("attachment", b""),
        ("event", b""),
    ]


def test_item_header_at_end_of_body_has_empty_payload() -> None:
    envelope = parse_envelope(b"{}\n" + _header(type="attachment", length=0))

    assert envelope.items[0].payload == b""


def test_header_only_envelope_has_no_items() -> None:
    envelope = parse_envelope(_header(event_id=EVENT_ID))

    assert envelope.items == []
    assert envelope.event_id == EVENT_ID


def test_unknown_item_types_are_kept_for_the_caller_to_skip() -> None:
    body = b"{}\n" + _header(type="some_future_thing", length=3) + b"\nabc\n"
    body += _header(type="event") + b"\n{}\n"

    envelope = parse_envelope(body)

    assert [item.type for item in envelope.items] == ["some_future_thing", "event"]
    assert envelope.items[0].payload == b"abc"


def test_log_item_keeps_its_headers() -> None:
    payload = b'{"items":[{"body":"x"}]}'
    header = _header(
        type="log",
        item_count=1,
        content_type="application/vnd.sentry.items.log+json",
        length=len(payload),
    )

    envelope = parse_envelope(b"{}\n" + header + b"\n" + payload)

    assert envelope.items[0].headers["item_count"] == 1
    assert json.loads(envelope.items[0].payload) == {"items": [{"body": "x"}]}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"", "envelope is empty"),
        (b"\n\n", "envelope is empty"),
        (b"{not json\n", "envelope header is not valid JSON"),
        (b"[1,2]\n", "envelope header is not a JSON object"),
        (b"{}\n{broken\n{}", "item 1 header is not valid JSON"),
        (b'{}\n"just a string"\n', "item 1 header is not a JSON object"),
        (b'{}\n{"length":2}\nab', "item 1: header has no type"),
        (b'{}\n{"type":7}\n{}', "item 1: header has no type"),
        (b'{}\n{"type":"event","length":-1}\n', "item 1: length must be a non-negative"),
        (b'{}\n{"type":"event","length":"5"}\nabcde', "item 1: length must be a non-negative"),
        (b'{}\n{"type":"event","length":true}\na', "item 1: length must be a non-negative"),
        (b'{}\n{"type":"event","length":2}\nabcd\n', "item 1: payload is not followed by"),
        (b'{}\n\xff\xfe\n', "item 1 header is not valid JSON"),
    ],
)
def test_malformed_envelopes_raise_clear_errors(body: bytes, message: str) -> None:
    with pytest.raises(EnvelopeError, match=message):
        parse_envelope(body)


def test_truncated_item_reports_declared_and_remaining_length() -> None:
    first = b'{"a":1}'
    body = b"{}\n" + _header(type="event", length=len(first)) + b"\n" + first + b"\n"
    body += _header(type="attachment", length=500) + b"\n" + b"x" * 20

    with pytest.raises(EnvelopeError) as info:
        parse_envelope(body)

    assert str(info.value) == "item 2: declared length 500 exceeds remaining 20 bytes"


def test_deeply_nested_header_is_an_envelope_error_not_a_crash() -> None:
    with pytest.raises(EnvelopeError, match="envelope header"):
        parse_envelope(b"[" * 100_000 + b"\n")


def test_real_sentry_python_envelope() -> None:
    body = (PAYLOADS / "sentry_python_fastapi_exception.envelope").read_bytes()

    envelope = parse_envelope(body)

    assert envelope.event_id is not None
    (item,) = envelope.items
    assert item.type == "event"
    assert len(item.payload) == item.headers["length"]
    assert json.loads(item.payload)["event_id"] == envelope.event_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (EVENT_ID, EVENT_ID),
        (EVENT_ID.upper(), EVENT_ID),
        ("9ec79c33-ec99-42ab-8353-589fcb2e04dc", EVENT_ID),
        ("9EC79C33-EC99-42AB-8353-589FCB2E04DC", EVENT_ID),
        (EVENT_ID[:-1], None),
        (EVENT_ID + "0", None),
        (EVENT_ID + "\n", None),
        ("9ec79c33ec9942ab8353589fcb2e04dg", None),
        ("9ec79c33-ec9942ab-8353-589fcb2e04dc", None),
        ("{9ec79c33-ec99-42ab-8353-589fcb2e04dc}", None),
        (None, None),
        (12345, None),
        ("", None),
    ],
)
def test_parse_event_id(value: object, expected: str | None) -> None:
    assert parse_event_id(value) == expected
