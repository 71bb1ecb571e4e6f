"""A fixed corpus of raw events for pinning what normalisation and grouping produce.

Every captured SDK event, every grouping fixture, raw byte oddities
and a few thousand seeded mutants of them (sub-values swapped for hostile JSON: NaN,
lone surrogates, huge integers, deep nesting, wrong types, long strings). The corpus is
rebuilt from code, so only the outputs' digests are committed
(``tests/fixtures/normalize_golden.json``). Mutants use ``random.Random(seed)``, whose
sequence Python keeps stable across versions.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faultline_core.envelope import parse_envelope
from faultline_core.grouping import compute_grouping, explain_grouping
from faultline_core.normalize import InvalidEvent, normalize_event
from faultline_core.normalize_values import parse_timestamp
from tests.json_paths import json_paths, replace_at

FIXTURES = Path(__file__).parent / "fixtures"
RECEIVED = 1_700_000_000.0
MUTANTS_PER_BASE = 40
Json = Any


@dataclass(frozen=True)
class Case:
    """One input to ``normalize_event``: a name, the payload and the receive time."""

    name: str
    payload: bytes | dict[str, Any]
    received: float


def _envelope_events() -> Iterator[tuple[str, bytes]]:
    paths = sorted((FIXTURES / "sdk").glob("*/*.envelope*"))
    paths += sorted((FIXTURES / "payloads").glob("*.envelope"))
    for path in paths:
        body = path.read_bytes()
        if path.suffix == ".gz":
            body = gzip.decompress(body)
        for item in parse_envelope(body).items:
            if item.type == "event":
                yield str(path.relative_to(FIXTURES)), item.payload


def _grouping_events() -> Iterator[tuple[str, dict[str, Any]]]:
    for folder in ("grouping", "grouping_v2"):
        for path in sorted((FIXTURES / folder).rglob("*.json")):
            event = json.loads(path.read_text())["event"]
            yield str(path.relative_to(FIXTURES)), event


RAW_ODDITIES: tuple[bytes, ...] = (
    b"", b"null", b"[]", b"{", b"{}", b" {} ", b"\xef\xbb\xbf{}", b'{"a":1,"a":2}',
    b'{"message": NaN}', b'{"message": "x", "extra": {"f": 1e999, "g": -Infinity}}',
    b'{"message": "\\ud800 lone", "tags": {"\\udfff": "\\ud83d\\ude00"}}',
    b'{"message": "\xff\xfe invalid utf-8"}', b'{"extra": {"big": 18446744073709551616}}',
    b'{"extra": {"neg": -9223372036854775809, "u64": 18446744073709551615}}',
    b'{"extra": {"z": -0, "f": -0.0, "tiny": 2.5e-400, "e": 1E5}}',
    b'{"message": "a\x01b"}', b'{"message": "tab\\tnewline\\n"}',
    b'{"extra": ' + b"[" * 600 + b"]" * 600 + b"}",
    b'{"extra": ' + b"[" * 1100 + b"]" * 1100 + b"}",
    '{"message": "caf\u00e9 \u2603"}'.encode("utf-16"),
    b'{"timestamp": "2023-11-14T22:13:20Z", "level": 40, "message": {"message": "%s %d",'
    b' "params": ["a", 1]}}',
)

_HOSTILE: tuple[Json, ...] = (
    None, True, False, 0, -1, 1, 2**31, 2**32, 2**32 - 1, 2**64, -(2**63) - 1, 2**70,
    1.5, -0.0, 1e300, float("nan"), float("inf"), float("-inf"), "", " ", "42", "-7", "1.0",
    "true", "false", "\ud800", "a\udfffb", "\x00\x01\x1f", "x" * 10_000, "🙂" * 300,
    "2023-11-14T22:13:20+02:00", "1700000000.5", "{{auto}}", "{{ default }}", "127.0.0.1",
    "::1", "warn", "CRITICAL", "java", "node", "?", "[Filtered]", "a=1&b=2", '{"k": [1, 2]}',
    [], {}, [None], [1, "a", None, [2]], [["k", "v"], ["k2", 3], ["bad"], [None, "x"]],
    {"values": []}, {"values": [{}]}, {"values": "x"}, {"frames": [{}]}, {"frames": "no"},
    {"type": "T"}, {"": "empty key", "\ud800": "surrogate key"}, {"nested": {"deep": [{}]}},
)


def _deep(depth: int) -> Json:
    value: Json = "leaf"
    for _ in range(depth):
        value = [value]
    return value


def _hostile(rng: random.Random) -> Json:
    roll = rng.random()
    if roll < 0.05:
        return _deep(rng.choice((5, 40, 300)))
    if roll < 0.15:
        return [rng.choice(_HOSTILE) for _ in range(rng.randrange(1, 6))]
    if roll < 0.25:
        return {rng.choice(("a", "type", "values", "", "name", "frames")): rng.choice(_HOSTILE)
                for _ in range(rng.randrange(1, 4))}
    return rng.choice(_HOSTILE)


def _mutant(base: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    event: Json = base
    for _ in range(rng.randrange(1, 5)):
        paths = [p for p in json_paths(event) if p]
        if not paths:
            break
        event = replace_at(event, rng.choice(paths), _hostile(rng))
    return event  # type: ignore[no-any-return]


def _received_for(event: dict[str, Any]) -> float:
    sent = parse_timestamp(event.get("timestamp"))
    return RECEIVED if sent is None else sent + 1


def build_corpus() -> list[Case]:
    """Every case, in a fixed order with unique names."""
    cases: list[Case] = []
    bases: list[tuple[str, dict[str, Any]]] = []
    for name, payload in _envelope_events():
        event = json.loads(payload)
        cases.append(Case(name, payload, _received_for(event)))
        bases.append((name, event))
    for name, event in _grouping_events():
        cases.append(Case(name, event, RECEIVED))
        bases.append((name, event))
    cases += [Case(f"raw/{i}", body, RECEIVED) for i, body in enumerate(RAW_ODDITIES)]
    for index, (name, event) in enumerate(bases):
        rng = random.Random(index)
        for n in range(MUTANTS_PER_BASE):
            mutant = _mutant(event, rng)
            cases.append(Case(f"{name}/mutant-{n}", mutant, _received_for(event)))
            try:
                as_bytes = json.dumps(mutant, ensure_ascii=n % 2 == 0).encode(
                    "utf-8", "surrogatepass")
            except (ValueError, RecursionError):
                continue
            cases.append(Case(f"{name}/mutant-{n}-bytes", as_bytes, _received_for(event)))
    return cases


def outcome(case: Case) -> str:
    """Everything normalisation and grouping (v1, v2) produce for a case, as text: the
    event's fields in order (``data``'s key order included), or the refusal."""
    try:
        event = normalize_event(7, "9ec79c33ec9942ab8353589fcb2e04dc", case.payload,
                                case.received, "198.51.100.23")
    except InvalidEvent as exc:
        return f"InvalidEvent: {exc}"
    parts: list[object] = [event]
    for config in ("v1", "v2"):
        result = compute_grouping(event.data, config)
        parts += [result.hashes, result.components, explain_grouping(event.data, config)]
    return repr(parts)


def digest(text: str) -> str:
    """48 bits of sha256: plenty to notice a change, small enough to commit thousands."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:12]


def base_name(case_name: str) -> str:
    """The corpus entry a case derives from (mutants share their base's name)."""
    return case_name.split("/mutant-", 1)[0]
