"""Property tests for grouping rules: hostile rule texts and rules against real events.

Rule texts are project settings typed by users (or by an attacker with a project admin
account), so the contract is narrow: parsing raises only ``RulesSyntaxError``, applying
never raises nor mutates the event, and globs cost linear time whatever the pattern.
"""

from __future__ import annotations

import copy
import re
import time
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faultline_core.envelope import parse_envelope
from faultline_core.grouping.rules import (
    RulesSyntaxError,
    apply_grouping_rules,
    parse_grouping_rules,
)
from faultline_core.grouping.rules_glob import Glob
from faultline_core.grouping.rules_syntax import FINGERPRINT_KEYS, STACKTRACE_KEYS
from tests import hypothesis_profiles  # noqa: F401  (loads the profile)
from tests.sdk_fixtures import SDK_FIXTURES, normalize_fixture_event

JsonDict = dict[str, Any]


def _fixture_events() -> list[JsonDict]:
    """Every golden SDK envelope that carries one event, normalised."""
    events = []
    for path in sorted(SDK_FIXTURES.glob("*/*.envelope")):
        envelope = parse_envelope(path.read_bytes())
        if sum(item.type == "event" for item in envelope.items) == 1:
            events.append(normalize_fixture_event(envelope, 1, "203.0.113.7").data)
    return events


EVENTS = _fixture_events()

hostile_text = st.text(st.characters(codec=None, exclude_categories=()), max_size=200)
rule_tokens = st.sampled_from([
    "error.type:", "stack.function:", "stack.abs_path:", "tags.a:", "app:yes", "family:native",
    "message:", "!", '"', "\\", "->", "+app", "-app", "^-app", "v+group", "[", "]", "|",
    "{{", "}}", "default", "title=", ",", "*", "**", "?", "#", " ", "  ", "\n", "\r\n",
    "\t", "x", "max-frames=3", "category=x", ":",
])
rule_soup = st.lists(rule_tokens, max_size=40).map("".join)
glob_value = st.text(st.sampled_from(list('ab/*?.:_ -"\\') + ["é", "\x00"]), max_size=12)


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _matcher(keys: list[str]) -> st.SearchStrategy[tuple[str, str, str]]:
    """``(text, key, pattern)`` for a well-formed matcher."""
    def build(negated: bool, key: str, value: str) -> tuple[str, str, str]:
        if key in ("app", "stack.app"):
            value = "yes" if len(value) % 2 else "no"
        elif key == "family":
            value = ["native", "javascript", "other", "all"][len(value) % 4]
        elif key == "tags.<name>":
            key = "tags.server_name"
        return f"{'!' * negated}{key}:{_quote(value)}", key, value
    return st.builds(build, st.booleans(), st.sampled_from(keys), glob_value)


fingerprint_rule = st.tuples(
    st.lists(_matcher(sorted(FINGERPRINT_KEYS)), min_size=1, max_size=3),
    st.lists(st.sampled_from(["fp", "{{ default }}", "{{ type }}", '"a, b"']), min_size=1,
             max_size=3),
)
stacktrace_rule = st.tuples(
    st.lists(_matcher(sorted(STACKTRACE_KEYS)), min_size=1, max_size=3),
    st.sampled_from(["+app", "-app", "^-app", "v+app", "-group", "+app max-frames=2"]),
)


def _reference_glob(pattern: str, value: str, path_like: bool) -> bool:
    """The obvious (backtracking) regex translation, fine for tiny inputs."""
    parts = re.split(r"(\*+|\?)", pattern)
    regex = "".join(
        ("[^/]*" if path_like and part == "*" else ".*") if part.startswith("*")
        else ("[^/]" if path_like else ".") if part == "?" else re.escape(part)
        for part in parts)
    return re.fullmatch(regex, value, re.S) is not None


@given(st.text("ab/*?", max_size=8), st.text("ab/", max_size=10), st.booleans())
def test_glob_agrees_with_a_regex_translation(pattern: str, value: str, path: bool) -> None:
    expected = _reference_glob(pattern, value, path) or (
        path and not value.startswith("/") and _reference_glob(pattern, "/" + value, path))
    assert Glob(pattern, path_like=path).matches(value) is expected


def test_pathological_globs_stay_linear() -> None:
    started = time.monotonic()
    for pattern in ["*a" * 450 + "?b", "*?" * 450 + "b", "**/" * 300 + "*x"]:
        for path_like in (False, True):
            assert not Glob(pattern, path_like=path_like).matches("a" * 8000)
    assert time.monotonic() - started < 2.0


@given(hostile_text | rule_soup, hostile_text | rule_soup)
def test_any_text_parses_or_raises_a_syntax_error(fingerprinting: str, enhancements: str) -> None:
    try:
        rules = parse_grouping_rules(fingerprinting, enhancements)
    except RulesSyntaxError as error:
        assert error.line >= 1 and error.message
        assert error.field in ("fingerprinting", "enhancements")
        return
    for data in EVENTS:
        apply_grouping_rules(data, rules)


@pytest.mark.parametrize("index", range(len(EVENTS)))
@given(fingerprints=st.lists(fingerprint_rule, max_size=4),
       stacks=st.lists(stacktrace_rule, max_size=4))
def test_well_formed_rules_apply_to_every_sdk_event(
    index: int, fingerprints: list[tuple[list[tuple[str, str, str]], list[str]]],
    stacks: list[tuple[list[tuple[str, str, str]], str]],
) -> None:
    fp_text = "\n".join(" ".join(m[0] for m in ms) + " -> " + ", ".join(fp)
                        for ms, fp in fingerprints)
    st_text = "\n".join(" ".join(m[0] for m in ms) + " " + action for ms, action in stacks)
    rules = parse_grouping_rules(fp_text, st_text)
    # Quoting round-trips: each pattern parses back to the generated value.
    parsed = [m.pattern for rule in rules.fingerprinting for m in rule.matchers]
    assert parsed == [m[2] for ms, _ in fingerprints for m in ms]
    data = EVENTS[index]
    before = copy.deepcopy(data)
    result = apply_grouping_rules(data, rules)
    assert data == before
    fingerprint = result.get("fingerprint")
    assert fingerprint is None or all(isinstance(part, str) for part in fingerprint)
    if not rules.enhancements and "fingerprint" not in result:
        assert result is data
