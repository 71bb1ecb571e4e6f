"""Server-side grouping rules: parsing Sentry's syntax and applying rules to real events.

Parsing examples follow Sentry's "Fingerprint Rules" and "Stack Trace Rules" docs; the
events are the golden SDK envelopes under ``tests/fixtures/sdk/``. Property tests live in
``test_grouping_rules_props.py``.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from faultline_core.grouping import compute_grouping
from faultline_core.grouping.rules import (
    MAX_FRAME_CHECKS,
    MAX_LINE_LENGTH,
    MAX_RULES,
    GroupingRules,
    RulesSyntaxError,
    apply_grouping_rules,
    parse_grouping_rules,
)
from tests.sdk_fixtures import load_fixture_envelope, normalize_fixture_event

JsonDict = dict[str, Any]

DOCS_FINGERPRINT_RULES = """\
# You can use comments to explain the rules.
error.type:DatabaseUnavailable -> system-down
error.type:ConnectionError -> system-down
error.value:"connection error: *" -> connection-error, {{ transaction }}
message:"*unhandled*" -> unhandled
logger:"com.myapp.FooLogger" level:"error" -> logger-error
tags.server_name:"canary-*.mycompany.internal" -> canary-events
stack.abs_path:"**/project/libs/**" -> libs-error
stack.module:"*/project/utils/*" -> utils-error
stack.function:"assertion_failed" -> assertion-failed, {{ transaction }}
stack.package:"**/libcurl.dylib" -> libcurl
family:native !stack.module:"myproject::*" -> not-myproject
app:yes stack.function:"assert_failed" -> app-assert
logger:my.package.* level:error -> error-logger, {{ logger }} title="Error from Logger {{ logger }}"
error.type:DatabaseUnavailable -> system-down title="Database Unavailable"
"""

DOCS_STACKTRACE_RULES = """\
# mark all functions in the std namespace to be outside the app
family:native stack.function:std::* -app
# mark all code in node modules not to be in app
stack.abs_path:**/node_modules/** -app
# remove all generated javascript code from all grouping
stack.abs_path:**/generated/**.js -group
stack.module:"*/project/utils/*" +app
stack.package:**/libcurl.dylib -group
family:javascript,native stack.abs_path:**/vendor/** -app
stack.function:panic_handler ^-group -group
[ stack.function:dispatch ] | stack.function:handle +app
category:threadbase -group v-group
stack.function:ThreadStartWin32 v-group max-frames=3
"""


def _event(sdk: str, name: str) -> JsonDict:
    data: JsonDict = normalize_fixture_event(
        load_fixture_envelope(sdk, name), 1, "203.0.113.7").data
    return data


@pytest.fixture(scope="module")
def django() -> JsonDict:
    """KeyError('404') raised in django_app.views.find_payment, chained to
    DjangoRefundError raised in refund_view under Django's handler frames."""
    return _event("python", "django_exception.envelope")


@pytest.fixture(scope="module")
def node() -> JsonDict:
    return _event("node", "express_exception.envelope")


def _frames(data: JsonDict, exception: int) -> list[JsonDict]:
    frames: list[JsonDict] = data["exception"]["values"][exception]["stacktrace"]["frames"]
    return frames


def _in_app(data: JsonDict, exception: int, function: str) -> object:
    return next(f.get("in_app") for f in _frames(data, exception) if f["function"] == function)


def _apply(data: JsonDict, fingerprinting: str = "", enhancements: str = "") -> JsonDict:
    before = copy.deepcopy(data)
    result = apply_grouping_rules(data, parse_grouping_rules(fingerprinting, enhancements))
    assert data == before  # the input is never mutated
    return result


# -- parsing -----------------------------------------------------------------------------

def test_parses_the_fingerprint_examples_from_sentry_docs() -> None:
    rules = parse_grouping_rules(DOCS_FINGERPRINT_RULES, "").fingerprinting
    assert len(rules) == 14
    assert rules[2].fingerprint == ("connection-error", "{{ transaction }}")
    assert rules[2].matchers[0].key == "value"
    assert rules[2].matchers[0].pattern == "connection error: *"
    assert [(m.key, m.pattern) for m in rules[4].matchers] == [
        ("logger", "com.myapp.FooLogger"), ("level", "error")]
    assert (rules[5].matchers[0].key, rules[5].matchers[0].tag) == ("tags", "server_name")
    assert rules[10].matchers[1].negated and not rules[10].matchers[0].negated
    assert rules[12].title == "Error from Logger {{ logger }}"
    assert rules[12].fingerprint == ("error-logger", "{{ logger }}")


def test_parses_the_stack_trace_examples_from_sentry_docs() -> None:
    rules = parse_grouping_rules("", DOCS_STACKTRACE_RULES).enhancements
    assert len(rules) == 10
    assert [r.in_app for r in rules] == [False, False, None, True, None, False, None, True,
                                         None, None]
    assert rules[0].matchers[0].families == frozenset({"native"})
    assert [m.relation for m in rules[7].matchers] == ["caller", "frame"]


@pytest.mark.parametrize(("written", "key"), [
    ("error.type", "type"), ("type", "type"), ("error.value", "value"), ("value", "value"),
    ("message", "message"), ("logger", "logger"), ("level", "level"),
    ("stack.function", "function"), ("function", "function"), ("stack.module", "module"),
    ("module", "module"), ("stack.abs_path", "path"), ("path", "path"),
    ("stack.package", "package"), ("package", "package"), ("release", "release"),
    ("tags.server_name", "tags"),
])
def test_every_fingerprint_matcher(written: str, key: str) -> None:
    rule, = parse_grouping_rules(f"{written}:x* -> fp", "").fingerprinting
    assert (rule.matchers[0].key, rule.matchers[0].pattern) == (key, "x*")


@pytest.mark.parametrize(("written", "key", "value"), [
    ("stack.function", "function", "f"), ("function", "function", "f"),
    ("stack.module", "module", "m"), ("module", "module", "m"),
    ("stack.abs_path", "path", "p"), ("path", "path", "p"),
    ("stack.package", "package", "p"), ("package", "package", "p"),
    ("family", "family", "javascript"), ("category", "category", "c"), ("app", "app", "no"),
    ("stack.app", "app", "yes"), ("error.type", "type", "t"), ("error.value", "value", "v"),
    ("error.mechanism", "mechanism", "m"),
])
def test_every_stacktrace_matcher(written: str, key: str, value: str) -> None:
    rule, = parse_grouping_rules("", f"{written}:{value} -app").enhancements
    assert (rule.matchers[0].key, rule.matchers[0].pattern, rule.in_app) == (key, value, False)


def test_quoting_escapes_and_quoted_keys() -> None:
    text = r'stack.function:"a \"b\" \\ c" "tags.k:v":"x y" -> "one, two" three'
    rule, = parse_grouping_rules(text, "").fingerprinting
    assert rule.matchers[0].pattern == 'a "b" \\ c'
    assert (rule.matchers[1].tag, rule.matchers[1].pattern) == ("k:v", "x y")
    assert rule.fingerprint == ("one, two", "three")
    # A backslash before anything else is kept (Windows paths).
    rule, = parse_grouping_rules(r'path:"C:\app\*" -> win', "").fingerprinting
    assert rule.matchers[0].pattern == "C:\\app\\*"


def test_comments_blank_lines_crlf_and_default_spellings() -> None:
    text = "  # comment\r\n\r\n   \ntype:A -> {{default}}, {{  default  }} x\r\n# end"
    rule, = parse_grouping_rules(text, "").fingerprinting
    assert rule.fingerprint == ("{{ default }}", "{{ default }}", "x")
    assert parse_grouping_rules("# only\n\n", "#\n").is_empty
    assert GroupingRules().is_empty


@pytest.mark.parametrize(("text", "line", "message"), [
    ("type:A", 1, "expected '->'"),
    ("\n\nfoo:bar -> x", 3, "unknown matcher 'foo'"),
    ("type:A ->", 1, "expected a fingerprint"),
    ('# c\ntype:"open -> x', 2, "unterminated quoted string"),
    ("-> x", 1, "expected a matcher"),
    ('type:A -> x colour="red"', 1, "unknown attribute 'colour'"),
    ("app:maybe -> x", 1, "app: takes yes or no"),
    ("family:cobol -> x", 1, "family: takes"),
    ("type: -> x", 1, "missing value after type:"),
    ("type:A -> {{ default", 1, "expected a variable"),
    ("type:A -> x,,y", 1, "unexpected ','"),
    ("tags.:x -> y", 1, "unknown matcher 'tags.'"),
    ("[ type:A ] | function:f -> x", 1, "caller/callee matchers must be frame matchers"),
    ("[ function:f | function:g -> x", 1, "expected ']'"),
])
def test_fingerprint_syntax_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(RulesSyntaxError) as raised:
        parse_grouping_rules(text, "")
    assert raised.value.line == line
    assert raised.value.field == "fingerprinting"
    assert message in raised.value.message
    assert f"line {line}" in str(raised.value)


@pytest.mark.parametrize(("text", "line", "message"), [
    ("function:x", 1, "expected an action"),
    ("\nfunction:x +ap", 2, "expected an action"),
    ("function:x +app function:y", 1, "expected an action"),
    ("+app", 1, "expected a matcher"),
    ("function:x max-frames=", 1, "expected a value after max-frames="),
    ("tags.a:b +app", 1, "unknown matcher 'tags.a'"),
    ("logger:x -app", 1, "unknown matcher 'logger'"),
])
def test_stacktrace_syntax_errors_name_the_line(text: str, line: int, message: str) -> None:
    with pytest.raises(RulesSyntaxError) as raised:
        parse_grouping_rules("", text)
    assert (raised.value.line, raised.value.field) == (line, "enhancements")
    assert message in raised.value.message


def test_limits_on_rules_line_length_and_size() -> None:
    many = "\n".join(f"function:f{i} -app" for i in range(MAX_RULES))
    assert len(parse_grouping_rules("", many).enhancements) == MAX_RULES
    with pytest.raises(RulesSyntaxError, match="more than 500 rules") as raised:
        parse_grouping_rules("", many + "\nfunction:last -app")
    assert raised.value.line == MAX_RULES + 1
    with pytest.raises(RulesSyntaxError, match="longer than 1000") as raised:
        parse_grouping_rules("type:a -> b\ntype:" + "x" * MAX_LINE_LENGTH + " -> c", "")
    assert raised.value.line == 2
    with pytest.raises(RulesSyntaxError, match="rules are longer"):
        parse_grouping_rules("#\n" * 300_000, "")


# -- stack trace rules -------------------------------------------------------------------

def test_minus_app_marks_matching_frames_only(django: JsonDict) -> None:
    result = _apply(django, enhancements="stack.function:find_payment -app")
    assert _in_app(result, 0, "find_payment") is False
    assert _in_app(result, 0, "refund_view") is True
    assert _in_app(django, 0, "find_payment") is True


def test_last_matching_rule_wins(django: JsonDict) -> None:
    rules = "stack.module:django_app.* -app\nstack.function:refund_view +app"
    result = _apply(django, enhancements=rules)
    assert _in_app(result, 0, "find_payment") is False
    assert _in_app(result, 0, "refund_view") is True
    assert _in_app(result, 1, "refund_view") is True
    flipped = _apply(django,
                     enhancements="stack.function:refund_view +app\nmodule:django_app.* -app")
    assert _in_app(flipped, 0, "refund_view") is False


def test_path_globs_are_case_insensitive_and_cross_directories(node: JsonDict) -> None:
    result = _apply(node, enhancements="stack.abs_path:**/NODE_MODULES/router/** +app")
    router = [f for f in _frames(result, 0) if "node_modules/router" in f.get("filename", "")]
    assert router and all(f["in_app"] is True for f in router)
    untouched = _apply(node, enhancements="stack.abs_path:/root/*/layer.js +app")
    assert untouched is node  # "*" does not cross "/" in paths


def test_ranges_callers_and_callees(node: JsonDict) -> None:
    up = _apply(node, enhancements="stack.function:checkout ^-app")
    assert [f["function"] for f in _frames(up, 0) if f["in_app"] is False][-1] == "chargeCard"
    assert _in_app(up, 0, "checkout") is True
    down = _apply(node, enhancements="stack.function:chargeCard v-app")
    assert _in_app(down, 0, "checkout") is False and _in_app(down, 0, "chargeCard") is True
    callee = _apply(node, enhancements="stack.function:checkout | [ function:chargeCard ] -app")
    assert _in_app(callee, 0, "checkout") is False
    caller = _apply(node, enhancements="[ function:checkout ] | function:chargeCard -app")
    assert _in_app(caller, 0, "chargeCard") is False and _in_app(caller, 0, "checkout") is True
    assert _apply(node, enhancements="[ function:nope ] | function:chargeCard -app") is node


def test_exception_family_and_app_matchers_in_stacktrace_rules(django: JsonDict) -> None:
    result = _apply(django, enhancements="error.type:KeyError module:django_app.* -app")
    assert _in_app(result, 0, "refund_view") is False
    assert _in_app(result, 1, "refund_view") is True  # DjangoRefundError's stack
    assert _apply(django, enhancements="family:javascript module:* -app") is django
    system_up = _apply(django, enhancements="app:no family:other +app")
    assert all(f["in_app"] is True for f in _frames(system_up, 1))


def test_group_actions_are_accepted_without_effect(django: JsonDict) -> None:
    assert _apply(django, enhancements="module:* -group ^+group max-frames=2") is django


def test_copies_only_what_changes(django: JsonDict) -> None:
    result = _apply(django, enhancements="stack.function:find_payment -app")
    assert result is not django
    assert result["exception"]["values"][1] is django["exception"]["values"][1]
    before, after = _frames(django, 0), _frames(result, 0)
    assert [a is b for a, b in zip(before, after, strict=True)].count(False) == 1
    assert result["request"] is django["request"]
    assert _apply(django, "type:Nope -> x", "function:nope -app") is django


def test_work_per_event_is_bounded_deterministically() -> None:
    frames = [{"function": f"f{i}", "in_app": True} for i in range(150)]
    data = {"exception": {"values": [{"type": "E", "stacktrace": {"frames": frames}}]}}
    filler = "\n".join(f"function:nope{i} -app" for i in range(MAX_RULES - 1))
    small = _apply(data, enhancements=filler + "\nfunction:f7 -app")
    assert _in_app(small, 0, "f7") is False
    # 150 frames x 500 rules fit in the budget; twice the frames do not.
    assert 150 * MAX_RULES <= MAX_FRAME_CHECKS < 300 * MAX_RULES
    assert _apply(data, enhancements=filler + "\nfunction:f7 -app") == small
    big = {"exception": {"values": [{"type": "E", "stacktrace": {"frames": frames * 2}}]}}
    assert _apply(big, enhancements=filler + "\nfunction:f7 -app") is big
    assert _in_app(_apply(big, enhancements="function:f7 -app"), 0, "f7") is False


# -- fingerprint rules -------------------------------------------------------------------

def test_first_matching_fingerprint_rule_wins_and_replaces_the_sdks(django: JsonDict) -> None:
    sdk_fingerprint = {**django, "fingerprint": ["from-sdk"]}
    rules = ("error.type:Nope -> never\nerror.type:KeyError -> keys, {{ default }}\n"
             'error.type:DjangoRefundError -> refunds title="Refund failed"')
    result = _apply(sdk_fingerprint, rules)
    assert result["fingerprint"] == ["keys", "{{ default }}"]
    assert result["_fingerprint_info"]["matched_rule"]["text"].startswith("error.type:KeyError")
    titled = _apply(django, "error.type:DjangoRefundError -> refunds title=\"Refund failed\"")
    assert titled["_fingerprint_info"]["matched_rule"]["attributes"] == {"title": "Refund failed"}
    assert "fingerprint" not in django


def test_exception_matchers_must_match_one_exception_of_the_chain(django: JsonDict) -> None:
    assert _apply(django, 'error.type:KeyError error.value:"*404*" -> a')["fingerprint"] == ["a"]
    assert "fingerprint" not in _apply(django, 'type:KeyError value:"no payment*" -> a')
    # Negation: some exception of the chain is not a KeyError.
    assert _apply(django, "!error.type:KeyError -> b")["fingerprint"] == ["b"]
    assert _apply(django, 'error.value:"NO PAYMENT FOR ORDER *" -> c')["fingerprint"] == ["c"]


def test_frame_matchers_must_match_one_frame(django: JsonDict) -> None:
    assert "fingerprint" not in _apply(django, "function:refund_view module:django.core.* -> a")
    both = _apply(django, "function:inner module:django.core.* app:no -> a")
    assert both["fingerprint"] == ["a"]
    paths = _apply(django, "stack.abs_path:**/django_app/views.py function:find_* -> p")
    assert paths["fingerprint"] == ["p"]
    assert "fingerprint" not in _apply(django, "function:Find_payment -> case-sensitive")


def test_stacktrace_rules_apply_before_fingerprint_rules(django: JsonDict) -> None:
    fingerprint = "app:yes stack.module:django.core.* -> framework-in-app"
    assert "fingerprint" not in _apply(django, fingerprint)
    result = _apply(django, fingerprint, "stack.module:django.core.* +app")
    assert result["fingerprint"] == ["framework-in-app"]


def test_threads_top_level_stacktrace_caller_release_and_mechanism() -> None:
    frames = [{"function": "main", "module": "app"}, {"function": "run", "module": "lib"}]
    data: JsonDict = {
        "platform": "python", "release": "shop@1.2.3",
        "stacktrace": {"frames": frames},
        "threads": {"values": [{"id": 1, "stacktrace": {"frames": frames}}, "junk"]},
    }
    marked = _apply(data, enhancements="[ module:app ] | module:lib +app")
    assert marked["stacktrace"]["frames"][1]["in_app"] is True
    assert marked["threads"]["values"][0]["stacktrace"]["frames"][1]["in_app"] is True
    assert "in_app" not in marked["stacktrace"]["frames"][0]
    assert marked["threads"]["values"][1] == "junk"
    assert _apply(data, "function:main | [ function:run ] -> c")["fingerprint"] == ["c"]
    assert "fingerprint" not in _apply(data, "[ function:run ] | function:main -> c")
    assert _apply(data, "release:shop@1.* -> r")["fingerprint"] == ["r"]
    chained = {"exception": {"values": [
        {"type": "E", "mechanism": {"type": "celery"}, "stacktrace": {"frames": frames}}]}}
    celery = _apply(chained, enhancements="error.mechanism:celery module:lib -app")
    assert _in_app(celery, 0, "run") is False
    assert _apply(chained, enhancements="error.mechanism:django module:lib -app") is chained


def test_tags_level_logger_message_and_family() -> None:
    logging_event = _event("python", "logging_error_message.envelope")
    cases = {
        "tags.environment:* logger:billing.* level:ERROR -> t": True,
        "tags.missing:* -> t": False,
        "!tags.missing:* -> t": True,
        'message:"invoice export failed *" -> t': True,
        "message:nothing -> t": False,
        "family:other -> t": True,
        "family:native,javascript -> t": False,
        "logger:Billing.* -> t": False,
    }
    for rule, matches in cases.items():
        assert ("fingerprint" in _apply(logging_event, rule)) is matches, rule


def test_rules_change_the_grouping(django: JsonDict) -> None:
    flask = _event("python", "flask_exception.envelope")
    rules = parse_grouping_rules("error.type:KeyError -> missing-key", "")
    assert compute_grouping(django).hashes[0] != compute_grouping(flask).hashes[0]
    grouped = compute_grouping(django, rules=rules).hashes[0]
    assert grouped == compute_grouping(flask, rules=rules).hashes[0]
