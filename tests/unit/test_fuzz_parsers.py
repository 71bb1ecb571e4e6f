"""Property tests: hostile bytes and mutated payloads against the pure parsers.

Each parser has a narrow contract for bad input: the envelope parser raises only
``EnvelopeError``, decompression only its three ``ValueError`` subclasses (and never returns
more than ``max_bytes``), and normalisation only ``InvalidEvent`` for a non-object payload
or a bad id, otherwise producing an event that can be stored and grouped.

The default profile is small and derandomised so ``make test`` is fast and never flaky;
``make fuzz`` (``HYPOTHESIS_PROFILE=long``) explores with many more random examples.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import brotli
import pytest
import zstandard
from hypothesis import given
from hypothesis import strategies as st

from faultline_core.compression import (
    DecompressionError,
    PayloadTooLarge,
    UnsupportedEncoding,
    decompress,
)
from faultline_core.envelope import EnvelopeError, parse_envelope, parse_event_id
from faultline_core.event import NormalizedEvent
from faultline_core.grouping import compute_grouping
from faultline_core.normalize import InvalidEvent, normalize_event
from tests import hypothesis_profiles  # noqa: F401  (loads the profile)
from tests.json_paths import json_paths, replace_at

PAYLOADS = Path(__file__).parent.parent / "fixtures" / "payloads"
FIXTURE_ENVELOPES = sorted(PAYLOADS.glob("*.envelope"))
EVENT_ID = "9ec79c33ec9942ab8353589fcb2e04dc"
RECEIVED = 1_700_000_000.0
HASH_RE = re.compile(r"[0-9a-f]{32}")
MAX_TAG_LENGTH = 200

Json = Any


# -- strategies ---------------------------------------------------------------------------

# Text that includes lone surrogates and control characters, the awkward cases for
# anything that later encodes to UTF-8.
hostile_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=40)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | hostile_text
json_values: st.SearchStrategy[Json] = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(hostile_text, children, max_size=5),
    max_leaves=30,
)
# Keys that normalisation looks at, so arbitrary values land where they matter.
EVENT_KEYS = [
    "event_id", "timestamp", "level", "platform", "logger", "transaction", "server_name",
    "release", "dist", "environment", "message", "logentry", "exception", "threads",
    "stacktrace", "request", "user", "contexts", "breadcrumbs", "extra", "modules",
    "fingerprint", "sdk", "tags", "culprit",
]
event_like_objects = st.dictionaries(
    st.sampled_from(EVENT_KEYS) | hostile_text, json_values, max_size=8
)


def _fixture_items() -> list[tuple[bytes, dict[str, Any]]]:
    """(whole envelope, first event payload) of every captured SDK envelope."""
    found = []
    for path in FIXTURE_ENVELOPES:
        body = path.read_bytes()
        event = next(i for i in parse_envelope(body).items if i.type == "event")
        found.append((body, json.loads(event.payload)))
    return found


FIXTURES = _fixture_items()


@st.composite
def mutated_events(draw: st.DrawFn) -> dict[str, Any]:
    """A real SDK event with a few of its sub-values swapped for arbitrary JSON."""
    event: Json = draw(st.sampled_from([payload for _, payload in FIXTURES]))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in json_paths(event) if p]  # keep the root an object
        event = replace_at(event, draw(st.sampled_from(paths)), draw(json_values))
    assert isinstance(event, dict)
    return event


def _mutate_bytes(draw: st.DrawFn, data: bytes) -> bytes:
    """Truncate, flip bits, insert newlines or splice bytes into ``data``."""
    buffer = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(buffer)))
        kind = draw(st.sampled_from(["truncate", "flip", "newline", "splice", "delete"]))
        if kind == "truncate":
            del buffer[position:]
        elif kind == "flip" and position < len(buffer):
            buffer[position] ^= 1 << draw(st.integers(0, 7))
        elif kind == "newline":
            buffer[position:position] = b"\n"
        elif kind == "splice":
            buffer[position:position] = draw(st.binary(min_size=1, max_size=8))
        else:
            del buffer[position : position + draw(st.integers(1, 16))]
    return bytes(buffer)


@st.composite
def generated_envelopes(draw: st.DrawFn) -> bytes:
    """A well-formed envelope whose declared lengths may lie."""
    lines = [json.dumps(draw(st.dictionaries(st.text(max_size=8), json_scalars, max_size=3)))]
    for _ in range(draw(st.integers(0, 3))):
        payload = draw(st.binary(max_size=64))
        length: Json = draw(
            st.sampled_from([len(payload)]) | st.integers(-5, 200) | json_scalars
        )
        item_type = draw(st.sampled_from(["event", "attachment", "session", ""]) | json_scalars)
        lines.append(json.dumps({"type": item_type, "length": length}))
        lines.append(payload.decode("latin-1"))
    return "\n".join(lines).encode("latin-1")


@st.composite
def mutated_envelopes(draw: st.DrawFn) -> bytes:
    base = draw(st.sampled_from([body for body, _ in FIXTURES]) | generated_envelopes())
    return _mutate_bytes(draw, base)


def _raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


COMPRESSORS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "deflate": zlib.compress,
    "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor().compress,
}
ENCODINGS = [*COMPRESSORS, "x-gzip", "identity", "gzip, br", "zstd, deflate", ""]
DECOMPRESSION_ERRORS = (DecompressionError, PayloadTooLarge, UnsupportedEncoding)


# -- envelope -----------------------------------------------------------------------------


def _parse_or_envelope_error(body: bytes) -> None:
    try:
        envelope = parse_envelope(body)
    except EnvelopeError as exc:
        assert str(exc)  # a refusal always says why
        return
    assert isinstance(envelope.headers, dict)
    for item in envelope.items:
        assert isinstance(item.type, str) and item.type
        assert len(item.payload) <= len(body)


@given(st.binary(max_size=512))
def test_parse_envelope_on_arbitrary_bytes_raises_only_envelope_error(body: bytes) -> None:
    _parse_or_envelope_error(body)


@given(mutated_envelopes())
def test_parse_envelope_on_mutated_envelopes_raises_only_envelope_error(body: bytes) -> None:
    _parse_or_envelope_error(body)


def test_parse_envelope_refuses_deeply_nested_headers() -> None:
    with pytest.raises(EnvelopeError):
        parse_envelope(b"[" * 100_000 + b"\n")
    with pytest.raises(EnvelopeError):
        parse_envelope(b'{"a":' * 100_000 + b"\n")


# -- decompression ------------------------------------------------------------------------


def _decompress_within_contract(body: bytes, encoding: str, max_bytes: int) -> bytes | None:
    try:
        result = decompress(body, encoding, max_bytes)
    except DECOMPRESSION_ERRORS as exc:
        assert str(exc)
        return None
    assert len(result) <= max_bytes
    return result


@given(st.binary(max_size=1024), st.sampled_from(ENCODINGS), st.integers(0, 4096))
def test_decompress_on_arbitrary_bytes_raises_only_its_errors(
    body: bytes, encoding: str, max_bytes: int
) -> None:
    _decompress_within_contract(body, encoding, max_bytes)


@st.composite
def corrupted_streams(draw: st.DrawFn) -> tuple[bytes, str]:
    encoding = draw(st.sampled_from(sorted(COMPRESSORS)))
    compressor = COMPRESSORS[encoding]
    if encoding == "deflate" and draw(st.booleans()):
        compressor = _raw_deflate  # clients send raw deflate too
    plain = draw(st.binary(max_size=2048) | st.builds(lambda n: b"a" * n, st.integers(0, 50_000)))
    return _mutate_bytes(draw, compressor(plain)), encoding


@given(corrupted_streams(), st.integers(0, 8192))
def test_decompress_on_corrupted_streams_raises_only_its_errors(
    stream: tuple[bytes, str], max_bytes: int
) -> None:
    body, encoding = stream
    _decompress_within_contract(body, encoding, max_bytes)


@given(
    st.sampled_from(sorted(COMPRESSORS)),
    st.binary(max_size=1024) | st.builds(lambda n: b"\0" * n, st.integers(0, 200_000)),
    st.integers(0, 100_000),
)
def test_decompress_round_trips_or_refuses_oversize(
    encoding: str, plain: bytes, max_bytes: int
) -> None:
    body = COMPRESSORS[encoding](plain)
    if len(plain) > max_bytes and plain:
        with pytest.raises(PayloadTooLarge):
            decompress(body, encoding, max_bytes)
    else:
        assert decompress(body, encoding, max_bytes) == plain


# -- normalisation ------------------------------------------------------------------------


def _assert_storable_and_groupable(event: NormalizedEvent) -> None:
    encoded = json.dumps(event.data, ensure_ascii=False, allow_nan=False).encode("utf-8")
    assert json.loads(encoded)["event_id"] == event.event_id
    for key, value in event.tags:
        assert len(key) <= MAX_TAG_LENGTH and len(value) <= MAX_TAG_LENGTH
    for key, value in event.data["tags"]:
        assert len(key) <= MAX_TAG_LENGTH and len(value) <= MAX_TAG_LENGTH
    grouping = compute_grouping(event.data)
    assert grouping.hashes
    assert all(HASH_RE.fullmatch(h) for h in grouping.hashes)


def _normalize(payload: Json, as_bytes: bool) -> NormalizedEvent | None:
    # The typed contract takes bytes or a dict; anything else arrives as JSON bytes.
    raw: Any = payload if isinstance(payload, dict) and not as_bytes else json.dumps(payload)
    raw = raw.encode() if isinstance(raw, str) else raw
    try:
        event = normalize_event(7, EVENT_ID, raw, RECEIVED, "198.51.100.4")
    except InvalidEvent:
        assert not isinstance(payload, dict), "an object payload must never be refused"
        return None
    assert isinstance(payload, dict)
    _assert_storable_and_groupable(event)
    return event


@given(json_values, st.booleans())
def test_normalize_arbitrary_json_is_refused_or_storable(payload: Json, as_bytes: bool) -> None:
    _normalize(payload, as_bytes)


@given(event_like_objects, st.booleans())
def test_normalize_event_shaped_objects_are_storable(payload: Json, as_bytes: bool) -> None:
    assert _normalize(payload, as_bytes) is not None


@given(mutated_events(), st.booleans())
def test_normalize_mutated_sdk_events_are_storable(payload: Json, as_bytes: bool) -> None:
    assert _normalize(payload, as_bytes) is not None


@given(st.binary(max_size=512))
def test_normalize_arbitrary_bytes_raises_only_invalid_event(payload: bytes) -> None:
    try:
        event = normalize_event(7, EVENT_ID, payload, RECEIVED, None)
    except InvalidEvent as exc:
        assert str(exc)
        return
    _assert_storable_and_groupable(event)


@given(hostile_text)
def test_normalize_refuses_exactly_the_invalid_event_ids(event_id: str) -> None:
    if parse_event_id(event_id) is None:
        with pytest.raises(InvalidEvent):
            normalize_event(7, event_id, {}, RECEIVED, None)
    else:
        assert normalize_event(7, event_id, {}, RECEIVED, None).event_id == event_id.replace(
            "-", ""
        ).lower()


def _nested_list(depth: int) -> Json:
    return json.loads("[" * depth + "]" * depth)


OVERSIZED_PAYLOADS: dict[str, dict[str, Any]] = {
    "query_string_fields": {"request": {"query_string": "a=1&" * 2000}},
    "query_dict": {"request": {"query_string": {f"q{i}": i for i in range(2000)}}},
    "header_pairs": {"request": {"headers": [[f"h{i}", "v"] for i in range(2000)]}},
    "cookie_string": {"request": {"cookies": "c=1;" * 2000}},
    "tag_dict": {"tags": {f"t{i}": "v" * 300 for i in range(2000)}},
    "tag_pairs": {"tags": [[f"t{i}", i] for i in range(2000)]},
    "breadcrumbs": {"breadcrumbs": [{"message": str(i)} for i in range(2000)]},
    "frames": {"exception": [{"type": "E", "stacktrace": {"frames": [{}] * 5000}}]},
    "nested_extra": {"extra": {"deep": _nested_list(900)}},
    "nested_context": {"contexts": {"app": {"deep": _nested_list(900)}}},
    "nested_message_param": {"logentry": {"message": "%s", "params": [_nested_list(900)]}},
}


@pytest.mark.parametrize("name", sorted(OVERSIZED_PAYLOADS))
def test_normalize_oversized_and_deep_values_stay_bounded(name: str) -> None:
    payload = OVERSIZED_PAYLOADS[name]
    event = _normalize(payload, as_bytes=True)
    assert event is not None
    assert len(event.tags) <= 600
    # Whatever came in, what is stored per event stays small.
    assert len(json.dumps(event.data)) < 2 * 1024 * 1024


def test_normalize_records_capped_tags_and_query_fields() -> None:
    many_tags = normalize_event(7, EVENT_ID, OVERSIZED_PAYLOADS["tag_dict"], RECEIVED, None)
    many_fields = normalize_event(
        7, EVENT_ID, OVERSIZED_PAYLOADS["query_string_fields"], RECEIVED, None
    )

    assert ("too_many_values", "tags") in {(e["type"], e["name"]) for e in many_tags.errors}
    sent_keys = [key for key, _ in many_tags.data["tags"] if re.fullmatch(r"t\d+", key)]
    assert sorted(sent_keys) == sorted(f"t{i}" for i in range(500))  # the first ones kept
    assert len(many_fields.data["request"]["query_string"]) == 500
    assert any(e["name"] == "request.query_string" for e in many_fields.errors)


def test_normalize_refuses_json_nested_past_the_parser_limit() -> None:
    with pytest.raises(InvalidEvent):
        normalize_event(7, EVENT_ID, b'{"extra":' + b"[" * 10_000 + b"]" * 10_000 + b"}",
                        RECEIVED, None)
