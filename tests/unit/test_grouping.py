"""Grouping v1: golden fixtures plus the relations between them that make grouping useful
(same code path → same issue; different failure → different issue)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from faultline_core.grouping import (
    DEFAULT_GROUPING_CONFIG,
    GROUPING_CONFIGS,
    GroupingResult,
    UnknownGroupingConfig,
    compute_grouping,
    hash_components,
)
from faultline_core.grouping.parameterize import normalize_message, parameterize
from faultline_core.normalize import normalize_event

FIXTURES_DIR = Path(__file__).parent.parent / "fixtures" / "grouping"
FIXTURE_EVENT_ID = "0" * 31 + "1"
FIXTURE_RECEIVED_AT = 1_700_000_000.0


def group_fixture_event(event: dict[str, Any]) -> GroupingResult:
    """Normalise a fixture's raw event, as the processor does, then group it."""
    normalized = normalize_event(1, FIXTURE_EVENT_ID, event, FIXTURE_RECEIVED_AT, None)
    return compute_grouping(normalized.data)


def load_fixture(name: str) -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads((FIXTURES_DIR / f"{name}.json").read_text())
    return fixture


def fixture_names() -> list[str]:
    return sorted(path.stem for path in FIXTURES_DIR.glob("*.json"))


def hashes_of(name: str) -> list[str]:
    return group_fixture_event(load_fixture(name)["event"]).hashes


def test_there_are_enough_fixtures() -> None:
    assert len(fixture_names()) >= 12


@pytest.mark.parametrize("name", fixture_names())
def test_golden_fixture(name: str) -> None:
    fixture = load_fixture(name)

    result = group_fixture_event(fixture["event"])

    assert result.config == DEFAULT_GROUPING_CONFIG
    assert result.components == fixture["expected"]["components"]
    assert result.hashes == fixture["expected"]["hashes"]
    # The golden primary hash really is the md5 of the golden components.
    assert fixture["expected"]["hashes"][0] == hash_components(fixture["expected"]["components"])
    assert all(len(h) == 32 and int(h, 16) >= 0 for h in result.hashes)


def test_line_numbers_values_and_vars_do_not_split_an_issue() -> None:
    assert hashes_of("python_in_app") == hashes_of("python_in_app_other_lines")


def test_a_different_exception_type_is_a_different_issue() -> None:
    assert not set(hashes_of("python_in_app")) & set(hashes_of("python_other_type"))


def test_parameters_in_messages_do_not_split_an_issue() -> None:
    assert hashes_of("message_params_stripped") == hashes_of("message_params_stripped_other_values")


def test_app_and_system_variants() -> None:
    with_in_app = hashes_of("python_in_app")

    assert len(with_in_app) == 2 and with_in_app[0] != with_in_app[1]
    assert len(hashes_of("no_in_app_frames")) == 1
    assert len(hashes_of("fingerprint_custom")) == 1


def test_fingerprint_with_default_extends_both_variants() -> None:
    plain = hashes_of("fingerprint_with_default")

    assert len(plain) == 2
    assert not set(plain) & set(hashes_of("python_in_app"))


def _exception_event(frames: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "platform": "python",
        "exception": [{"type": "ValueError", "value": "x", "stacktrace": {"frames": frames}}],
        **extra,
    }


FRAMES = [
    {"module": "app.a", "function": "f", "in_app": True, "context_line": "g()"},
    {"module": "lib.b", "function": "g", "in_app": False},
]


def test_fingerprint_of_only_default_is_default_grouping() -> None:
    default = group_fixture_event(_exception_event(FRAMES))

    for spelling in ("{{ default }}", "{{default}}", "{{ DEFAULT }}"):
        result = group_fixture_event(_exception_event(FRAMES, fingerprint=[spelling]))
        assert result.hashes == default.hashes


def test_fingerprint_variables() -> None:
    result = group_fixture_event(
        _exception_event(
            FRAMES,
            transaction="/pay",
            fingerprint=["{{ type }}", "{{ error.value }}", "{{ transaction }}", "{{ function }}",
                         "{{ logger }}", "{{ unknown }}"],
        )
    )

    assert result.components == [
        "fingerprint: ValueError",
        "fingerprint: x",
        "fingerprint: /pay",
        "fingerprint: f",
        "fingerprint: <no-logger>",
        "fingerprint: <no-unknown>",
    ]


def test_recursion_depth_does_not_matter() -> None:
    frame = {"module": "app.t", "function": "walk", "in_app": True}
    shallow = group_fixture_event(_exception_event([frame] * 2))
    deep = group_fixture_event(_exception_event([frame] * 200))

    assert shallow.hashes == deep.hashes
    assert shallow.components == ["exception[0].stacktrace.frame: module=app.t function=walk",
                                  "exception[0].type: ValueError"]


def test_long_context_lines_are_ignored() -> None:
    long_line = "x = " + "1" * 200
    frame = {"module": "app", "function": "f", "in_app": True, "context_line": long_line}

    result = group_fixture_event(_exception_event([frame]))

    assert "context_line" not in result.components[0]


def test_in_app_frame_order_matters() -> None:
    reordered = list(reversed(FRAMES))

    assert group_fixture_event(_exception_event(FRAMES)).hashes != (
        group_fixture_event(_exception_event(reordered)).hashes
    )


def test_grouping_works_on_unnormalised_junk_without_crashing() -> None:
    junk: dict[str, Any] = {
        "exception": {"values": ["x", {"stacktrace": {"frames": ["y", {"in_app": "z"}]}}]},
        "threads": {"values": "nope"},
        "logentry": ["bad"],
        "fingerprint": [],
    }

    result = compute_grouping(junk)

    assert result.components == ["fallback: <unlabeled event>"]


def test_unknown_config() -> None:
    assert set(GROUPING_CONFIGS) >= {"v1"}
    with pytest.raises(UnknownGroupingConfig, match="v999"):
        compute_grouping({}, "v999")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("user 42 failed", "user <int> failed"),
        ("took 3.25s and 500ms", "took <float>s and <int>ms"),
        ("mail bob.smith+tag@mail.example.co.uk now", "mail <email> now"),
        ("GET https://x.example/a?b=1 failed", "GET <url> failed"),
        ("id 550E8400-E29B-41D4-A716-446655440000", "id <uuid>"),
        ("sha1 da39a3ee5e6b4b0d3255bfef95601890afd80709", "sha1 <hash>"),
        ("on 2024-01-02 at 10:22:33.5", "on <date> at <date>"),
        ("at 2024-01-02T10:22:33+01:00!", "at <date>!"),
        ("from 10.0.0.1:8080 and [2001:db8::1]", "from <ip>:<int> and [<ip>]"),
        ("ptr 0x7FFE12 freed", "ptr <hex> freed"),
        ("Foo::Bar and std::vector and a:b:c", "Foo::Bar and std::vector and a:b:c"),
        ("version 1.2.3 of user_42 abc123", "version 1.2.3 of user_42 abc123"),
    ],
)
def test_parameterize(text: str, expected: str) -> None:
    assert parameterize(text) == expected


def test_normalize_message_keeps_two_non_empty_lines() -> None:
    assert normalize_message("\n  first 1 \n\n second\nthird\n") == "first <int>\nsecond"


@pytest.mark.parametrize(
    "hostile",
    [
        "a" * 100_000,
        "a@" * 50_000,
        "1." * 50_000,
        "0:" * 50_000,
        "-" * 100_000,
        "http" * 25_000,
        "x" * 64 + "@" + "a." * 50_000,
        "9" * 100_000,
    ],
)
def test_hostile_text_is_cheap(hostile: str) -> None:
    event = {"message": hostile + "\n" + hostile, "exception": [{"type": "E", "value": hostile}]}
    started = time.perf_counter()

    group_fixture_event(event)
    group_fixture_event({"message": hostile})

    assert time.perf_counter() - started < 0.1
