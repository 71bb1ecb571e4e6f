"""Grouping v2's two paths agree: the processor's hash-only path and the explanation.

``GroupingV2.compute`` collects the contributing leaves without building component trees
(:mod:`faultline_core.grouping.v2_hashes`); ``GroupingV2.explain`` builds the trees the
grouping-info API shows. An event must get the same hashes, in the same order, and the
same primary components from both, or the UI would explain a grouping that did not
happen. The golden corpus (``test_normalize_golden``) pins both on 6,400 events; this
checks the agreement itself on the SDK fixtures, under stack-trace rules, and on
generated events built to hit every branch (recursion, synthetic and chained exceptions,
no in-app frames, unnamed frames, messages, titles).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from faultline_core.grouping import GROUPING_CONFIGS, compute_grouping, grouping_variants
from faultline_core.grouping.components import GroupingVariant
from faultline_core.grouping.rules import parse_grouping_rules
from faultline_core.grouping.v2_hashes import variant_hashes
from faultline_core.normalize import normalize_event
from tests import hypothesis_profiles  # noqa: F401  (loads the profile)
from tests.unit.test_grouping_rules_props import EVENTS
from tests.unit.test_grouping_v2 import fixture_names, load

JsonDict = dict[str, Any]


def from_explanation(variants: dict[str, GroupingVariant]) -> tuple[list[str], list[str]]:
    """The hashes and primary components the tree path implies."""
    hashes: list[str] = []
    primary: GroupingVariant | None = None
    for variant in variants.values():
        if variant.hash is not None and variant.hash not in hashes:
            hashes.append(variant.hash)
            primary = primary or variant
    assert primary is not None and primary.component is not None
    salt = [f"fingerprint={entry}" for entry in primary.values
            ] if primary.type == "salted-component" else []
    return hashes, primary.component.contributing_values() + salt


def assert_paths_agree(data: JsonDict) -> None:
    fast = compute_grouping(data, "v2")
    assert (fast.hashes, fast.components) == from_explanation(grouping_variants(data, "v2"))


def _golden_events() -> list[JsonDict]:
    """The per-platform grouping fixtures, normalised as the processor does."""
    return [normalize_event(1, "0" * 32, load(name)["event"], 1_700_000_000.0, None).data
            for name in fixture_names()]


def test_the_sdk_and_golden_fixtures_group_alike_on_both_paths() -> None:
    golden = _golden_events()
    assert len(EVENTS) > 10 and len(golden) > 40
    for data in [*EVENTS, *golden]:
        assert_paths_agree(data)


@pytest.mark.parametrize("rules", ["module:django.* +app", "app:yes -app", "family:native -app",
                                   "function:* +app"])
def test_stack_trace_rules_apply_alike_on_both_paths(rules: str) -> None:
    parsed = parse_grouping_rules("", rules + "\n")
    for data in EVENTS:
        fast = compute_grouping(data, "v2", parsed)
        assert (fast.hashes, fast.components) == from_explanation(
            grouping_variants(data, "v2", parsed))


def test_a_fingerprinted_event_takes_the_tree_path_and_still_agrees() -> None:
    data = {**EVENTS[0], "fingerprint": ["{{ default }}", "checkout"]}

    assert_paths_agree(data)
    assert compute_grouping(data, "v2").hashes != variant_hashes(data)[0]


names = st.sampled_from(["", "main", "handler", "lambda$run$0", "views.checkout", "<anonymous>"])
frames = st.fixed_dictionaries({}, optional={
    "module": names, "function": names, "filename": st.sampled_from(["", "app.py", "a/b.js"]),
    "abs_path": st.sampled_from(["/srv/app.py", "webpack:///x.js"]),
    "context_line": st.sampled_from(["", "  raise Error(x)", "y" * 130]),
    "in_app": st.sampled_from([True, False, None, "yes"]),
    "platform": st.sampled_from(["python", "javascript", "java", "go", 3]),
})
# Few distinct frames, so repeats (recursion) are common.
frame_lists = st.lists(frames, max_size=6).flatmap(
    lambda pool: st.lists(st.sampled_from(pool), max_size=8) if pool else st.just([]))
exceptions = st.fixed_dictionaries({}, optional={
    "type": st.sampled_from(["", "KeyError", "Error", None]),
    "value": st.sampled_from(["", "order 42 failed at 2024-01-01", "x@example.com", None]),
    "mechanism": st.sampled_from([{"synthetic": True}, {"synthetic": False}, "m", None]),
    "stacktrace": st.one_of(st.none(), frame_lists.map(lambda f: {"frames": f})),
})
events = st.fixed_dictionaries({}, optional={
    "platform": st.sampled_from(["python", "node", "java", "go", "ruby", "php", "other", ""]),
    "exception": st.lists(st.one_of(exceptions, st.just("not a dict")), max_size=3).map(
        lambda values: {"values": values}),
    "stacktrace": frame_lists.map(lambda f: {"frames": f}),
    "threads": st.lists(frame_lists.map(lambda f: {"stacktrace": {"frames": f},
                                                   "crashed": bool(len(f) % 2)}),
                        max_size=3).map(lambda values: {"values": values}),
    "logentry": st.sampled_from([{"message": "user %s failed"}, {"formatted": "id 7 gone"},
                                 {"message": 5}, "bad"]),
    "title": st.sampled_from(["", "KeyError: 'x'", None]),
})


@given(events)
def test_generated_events_group_alike_on_both_paths(data: JsonDict) -> None:
    assert_paths_agree(data)


def test_every_registered_config_explains_its_own_hashes() -> None:
    for config, strategy in GROUPING_CONFIGS.items():
        for data in EVENTS:
            hashes = strategy.compute(data).hashes
            explained = {v.hash for v in strategy.explain(data).values() if v.hash}
            assert set(hashes) == explained, config
