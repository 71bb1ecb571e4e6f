"""Grouping v2: golden fixtures per platform (``tests/fixtures/grouping_v2/<platform>/``)
plus the relations that make grouping useful (same code path → same issue; a different
failure → a different issue), the explanation's shape and the registry.

The committed fixtures are the assertion. After an intended change to v2 *before it is
released*, ``FAULTLINE_UPDATE_GROUPING_FIXTURES=1`` rewrites their ``expected`` blocks
(the test still fails, so a rewrite is never silent); review the diff.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from faultline_core.grouping import (
    DEFAULT_GROUPING_CONFIG,
    GROUPING_CONFIGS,
    LATEST_GROUPING_CONFIG,
    GroupingVariant,
    compute_grouping,
    explain_grouping,
    grouping_variants,
)
from faultline_core.grouping.rules import parse_grouping_rules
from faultline_core.grouping.v2_frames import (
    normalize_filename,
    normalize_function,
    normalize_module,
)
from faultline_core.normalize import normalize_event

FIXTURES_DIR = Path(__file__).parent.parent / "fixtures" / "grouping_v2"
UPDATE = os.environ.get("FAULTLINE_UPDATE_GROUPING_FIXTURES") == "1"
PLATFORMS = ("python", "javascript", "java", "go", "ruby", "php", "common")


@dataclass(frozen=True)
class Grouped:
    """The processor's result (hashes, components) and the explanation's variants."""

    hashes: list[str]
    components: list[str]
    variants: dict[str, GroupingVariant]


def group(event: dict[str, Any]) -> Grouped:
    """Normalise a fixture's raw event, as the processor does, then group it with v2."""
    normalized = normalize_event(1, "0" * 31 + "2", event, 1_700_000_000.0, None)
    result = compute_grouping(normalized.data, "v2")
    return Grouped(result.hashes, result.components, grouping_variants(normalized.data, "v2"))


def fixture_names() -> list[str]:
    return sorted(str(p.relative_to(FIXTURES_DIR).with_suffix("")) for p in
                  FIXTURES_DIR.glob("*/*.json"))


def load(name: str) -> dict[str, Any]:
    fixture: dict[str, Any] = json.loads((FIXTURES_DIR / f"{name}.json").read_text())
    return fixture


def summary(result: Grouped) -> dict[str, Any]:
    """What a fixture pins: the hashes and, per variant, its type, hash and leaves."""
    return {
        "hashes": result.hashes,
        "components": result.components,
        "variants": {
            name: {
                "type": variant.type,
                "description": variant.description,
                "hash": variant.hash,
                "contributing": variant.component.contributing_values()
                if variant.component is not None and variant.hash is not None else [],
            }
            for name, variant in result.variants.items()
        },
    }


def hashes_of(name: str) -> list[str]:
    return group(load(name)["event"]).hashes


def test_every_platform_has_fixtures() -> None:
    for platform in PLATFORMS:
        assert len(list((FIXTURES_DIR / platform).glob("*.json"))) >= 2, platform
    sources = {load(name).get("source", "").split("/")[1] for name in fixture_names()
               if load(name).get("source")}
    assert sources >= {"python", "node", "java", "go", "ruby", "rails", "php"}


@pytest.mark.parametrize("name", fixture_names())
def test_golden_fixture(name: str) -> None:
    fixture = load(name)
    actual = summary(group(fixture["event"]))
    if UPDATE:
        fixture["expected"] = actual
        path = FIXTURES_DIR / f"{name}.json"
        path.write_text(json.dumps(fixture, indent=2, ensure_ascii=False) + "\n")
        pytest.fail(f"rewrote {name}: review the diff, then run without the switch")

    assert actual == fixture["expected"]
    assert all(len(h) == 32 and int(h, 16) >= 0 for h in actual["hashes"])


SAME_ISSUE = [
    ("python/django_exception", "python/django_exception_other_lines"),
    ("python/logging_error_message", "python/logging_error_message_other_args"),
    ("javascript/browser_minified_a", "javascript/browser_minified_b"),
    ("java/lambdas_proxies_a", "java/lambdas_proxies_b"),
    ("go/closures_a", "go/closures_b"),
    ("ruby/erb_blocks_a", "ruby/erb_blocks_b"),
    ("php/laravel_order_failed_1", "php/laravel_order_failed_2"),
    ("php/closures_a", "php/closures_b"),
    ("common/recursion_shallow", "common/recursion_deep"),
    ("common/synthetic_a", "common/synthetic_b"),
    ("common/message_placeholders_a", "common/message_placeholders_b"),
]
OTHER_ISSUE = [
    ("python/django_exception", "python/django_other_function"),
    ("python/django_exception", "python/flask_exception"),
    ("javascript/browser_minified_a", "javascript/browser_other_function"),
    ("java/lambdas_proxies_a", "java/other_method"),
    ("go/captured_error", "go/http_panic"),
    ("common/chained_exceptions", "common/chained_reversed"),
    ("php/laravel_order_failed_1", "php/cli_sync_failed"),
]


@pytest.mark.parametrize(("a", "b"), SAME_ISSUE)
def test_noise_does_not_split_an_issue(a: str, b: str) -> None:
    assert hashes_of(a) == hashes_of(b)


@pytest.mark.parametrize(("a", "b"), OTHER_ISSUE)
def test_a_different_failure_is_a_different_issue(a: str, b: str) -> None:
    assert not set(hashes_of(a)) & set(hashes_of(b))


def test_hash_order_is_app_then_system() -> None:
    result = group(load("python/django_exception")["event"])

    assert result.hashes == [result.variants["app"].hash, result.variants["system"].hash]
    only_system = group(load("common/no_in_app_frames")["event"])
    assert only_system.variants["app"].hash is None
    assert only_system.hashes == [only_system.variants["system"].hash]


def test_custom_fingerprint_replaces_and_default_salts() -> None:
    custom = group(load("common/fingerprint_variables")["event"])
    salted = group(load("common/fingerprint_default")["event"])
    plain = group({**load("common/fingerprint_default")["event"], "fingerprint": None})

    assert custom.hashes == [custom.variants["custom-fingerprint"].hash]
    assert custom.components[:3] == ["fingerprint=checkout", "fingerprint=KeyError",
                                     "fingerprint='17'"]
    assert {v.type for v in salted.variants.values()} == {"salted-component"}
    assert len(salted.hashes) == 1 and not set(salted.hashes) & set(plain.hashes)


def test_explanation_has_sentry_shape_and_is_json() -> None:
    data = normalize_event(1, "0" * 31 + "3", load("java/lambdas_proxies_a")["event"],
                           1_700_000_000.0, None).data

    explained = json.loads(json.dumps(explain_grouping(data, "v2")))

    assert set(explained) == {"app", "system"}
    app = explained["app"]
    assert app["type"] == "component" and app["hashMismatch"] is False and app["contributes"]
    assert app["hash"] == compute_grouping(data, "v2").hashes[0]
    exception = app["component"]["values"][0]
    assert exception["id"] == "exception"
    frames = exception["values"][0]["values"]
    assert frames[0] == {"id": "frame", "name": None, "contributes": False,
                         "hint": "non app frame", "values": frames[0]["values"]}
    lambda_module = frames[6]["values"][0]
    assert lambda_module["values"] == ["com.example.shop.OrderService$$Lambda"]
    assert "normalised from" in lambda_module["hint"]


def test_explain_v1_keeps_its_hashes() -> None:
    event = load("python/django_exception")["event"]
    data = normalize_event(1, "0" * 31 + "4", event, 1_700_000_000.0, None).data

    explained = explain_grouping(data, "v1")

    assert explained["app"]["hash"] == compute_grouping(data, "v1").hashes[0]


def test_registry() -> None:
    assert DEFAULT_GROUPING_CONFIG == "v1"
    assert LATEST_GROUPING_CONFIG == "v2"
    assert set(GROUPING_CONFIGS) >= {"v1", "v2"}
    assert compute_grouping({}, "v2").config == "v2"


def test_junk_never_crashes() -> None:
    junk: dict[str, Any] = {
        "exception": {"values": ["x", {"stacktrace": {"frames": ["y", {"in_app": "z"}]},
                                       "mechanism": "m", "type": 3}]},
        "threads": {"values": "nope"}, "logentry": ["bad"], "fingerprint": [{"a": 1}],
        "tags": "t", "platform": 5,
    }

    result = compute_grouping(junk, "v2")

    assert result.hashes and grouping_variants(junk, "v2")
    assert json.dumps(explain_grouping(junk, "v2"))


def _normalised(name: str) -> dict[str, Any]:
    data: dict[str, Any] = normalize_event(1, "0" * 31 + "5", load(name)["event"],
                                           1_700_000_000.0, None).data
    return data


def test_server_fingerprint_rule_wins_and_is_explained() -> None:
    data = _normalised("python/django_exception")
    rules = parse_grouping_rules("error.type:KeyError -> key-errors, {{ transaction }}\n", "")

    result = compute_grouping(data, "v2", rules)
    explained = explain_grouping(data, "v2", rules)

    assert result.components == ["fingerprint=key-errors",
                                 "fingerprint=/orders/{order_id}/refund/"]
    custom = explained["custom-fingerprint"]
    assert custom["matched_rule"] == "error.type:KeyError -> key-errors, {{ transaction }}"
    assert custom["description"] == "custom server fingerprint rule"
    assert explained["app"]["hash"] is None and not explained["app"]["contributes"]
    assert "fingerprint" not in data  # the caller's event is untouched


def test_stack_trace_rules_change_the_app_variant() -> None:
    data = _normalised("python/django_exception")
    rules = parse_grouping_rules("", "module:django.* +app\n")

    plain = compute_grouping(data, "v2")
    marked = compute_grouping(data, "v2", rules)

    marked_variants = grouping_variants(data, "v2", rules)
    plain_variants = grouping_variants(data, "v2")
    assert marked_variants["app"].hash != plain_variants["app"].hash
    assert marked_variants["system"].hash == plain_variants["system"].hash
    assert marked.hashes[0] == marked_variants["app"].hash
    assert "module=django.core.handlers.base" in marked.components
    assert compute_grouping(data, "v2", parse_grouping_rules("", "")).hashes == plain.hashes


@pytest.mark.parametrize(
    ("family", "raw", "expected"),
    [
        ("java", "lambda$main$0", "lambda$main"),
        ("java", "lambda$0", "lambda$"),
        ("go", "main.(*Server).Serve.func2.1", "main.(*Server).Serve.func"),
        ("ruby", "block (3 levels) in index", "block in index"),
        ("ruby", "_app_views_a_html_haml___1234_5678", "_app_views_a_html_haml"),
        ("php", "{closure:App\\Foo::bar():12}", "{closure}"),
        ("csharp", "<Run>d__12", "<Run>d"),
        ("javascript", "<anonymous>", ""),
        ("javascript", "async Object.load", "load"),
        ("python", "<lambda>", "<lambda>"),
    ],
)
def test_function_normalisation(family: str, raw: str, expected: str) -> None:
    assert normalize_function(family, raw) == expected


@pytest.mark.parametrize(
    ("family", "raw", "expected"),
    [
        ("java", "com.a.B$$Lambda$12/0x0000000800c0b000", "com.a.B$$Lambda"),
        ("java", "com.a.B$$Lambda/0x0000000800c0b000", "com.a.B$$Lambda"),
        ("java", "com.a.B$$EnhancerByCGLIB$$1a2b3c", "com.a.B$$EnhancerByCGLIB"),
        ("java", "com.a.B$HibernateProxy$Xy12", "com.a.B$HibernateProxy"),
        ("java", "com.sun.proxy.$Proxy127", "com.sun.proxy.$Proxy"),
        ("java", "com.a.B$3", "com.a.B$<anon>"),
        ("java", "com.a.B$Inner", "com.a.B$Inner"),
        ("go", "github.com/a/b/v4/c", "github.com/a/b/c"),
        ("python", "app.v2.views", "app.v2.views"),
    ],
)
def test_module_normalisation(family: str, raw: str, expected: str) -> None:
    assert normalize_module(family, raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("https://cdn.x.com/static/app.3f2a1b.js?v=1#f", "static/app.js"),
        ("webpack:///./src/main.a1b2c3d4.chunk.js", "src/main.chunk.js"),
        ("/static/decade.js", "static/decade.js"),
        ("actionpack (7.1.2) lib/a.rb", "actionpack lib/a.rb"),
        ("/go/pkg/mod/github.com/a/b@v1.2.3/c.go", "go/pkg/mod/github.com/a/b/c.go"),
        ("node_modules/lodash-4.17.21/lodash.js", "node_modules/lodash/lodash.js"),
        ("storage/framework/views/" + "ab12" * 10 + ".php", "storage/framework/views/<hash>.php"),
    ],
)
def test_filename_normalisation(raw: str, expected: str) -> None:
    assert normalize_filename(raw) == expected
