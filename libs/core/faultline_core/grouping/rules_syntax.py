"""Parsing Sentry's fingerprint-rule and stack-trace-rule syntax (pure).

One rule per line; blank lines and lines starting with ``#`` are ignored::

    error.type:DatabaseUnavailable -> system-down
    stack.function:"my func" !stack.module:vendor.* -> {{ default }}, db title="DB: {{ type }}"
    stack.abs_path:**/node_modules/** -app
    [ function:dispatch ] | function:handle +app

A matcher is ``[!]key:value`` (value quoted when it holds spaces; ``\\"`` and ``\\\\``
escape inside quotes); ``[ matcher ] |`` before the others matches the caller frame and
``| [ matcher ]`` after them the callee. Hand-written and linear: every line is scanned
once, and the limits below bound what a hostile project setting can cost.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from faultline_core.grouping.rules_glob import Glob

MAX_RULES = 500
MAX_LINE_LENGTH = 1000
MAX_TEXT_LENGTH = 512_000

Relation = Literal["frame", "caller", "callee"]

_KEY = re.compile(r"[A-Za-z0-9_.-]+")
_QUOTED_KEY = re.compile(r'"([A-Za-z0-9_.:-]+)"')
_ATTRIBUTE = re.compile(r'([A-Za-z0-9_.-]+)="')
_FLAG_ACTION = re.compile(r"([v^]?)([+-])(app|group)(?=\s|$)")
_VAR_ACTION = re.compile(r"(max-frames|min-frames|category|invert-stacktrace)[ \t]*=[ \t]*")
_DEFAULT = re.compile(r"\{\{\s*default\s*\}\}")

_COMMON_KEYS = {
    "stack.function": "function", "function": "function",
    "stack.module": "module", "module": "module",
    "stack.abs_path": "path", "path": "path",
    "stack.package": "package", "package": "package",
    "app": "app", "stack.app": "app", "family": "family",
    "error.type": "type", "type": "type", "error.value": "value", "value": "value",
}  # fmt: skip
FINGERPRINT_KEYS = {
    **_COMMON_KEYS, "message": "message", "logger": "logger", "level": "level",
    "release": "release", "tags.<name>": "tags",
}  # fmt: skip
STACKTRACE_KEYS = {
    **_COMMON_KEYS, "category": "category", "error.mechanism": "mechanism",
    "mechanism": "mechanism",
}  # fmt: skip
# Frame fields; the rest describe the event or one exception of its chain.
FRAME_FIELDS = frozenset({"function", "module", "path", "package", "app", "category", "family"})
FAMILIES = frozenset({"native", "javascript", "other", "all"})
_TRUE = frozenset({"1", "yes", "true", "on"})
_FALSE = frozenset({"0", "no", "false", "off"})
# Sentry matches these ignoring case; type, module, function, logger and tags are exact.
_IGNORE_CASE = frozenset({"value", "message", "level"})
_PATH_LIKE = frozenset({"path", "package", "release"})


class RulesSyntaxError(ValueError):
    """A rule text is malformed: ``line`` is 1-based, ``field`` names the text
    (``"fingerprinting"`` or ``"enhancements"``) and ``message`` says what is wrong."""

    def __init__(self, line: int, message: str, column: int | None = None,
                 field: str = "") -> None:
        where = f"line {line}" if column is None else f"line {line}, column {column}"
        super().__init__(f"{field + ' ' if field else ''}{where}: {message}")
        self.line = line
        self.column = column
        self.message = message
        self.field = field


@dataclass(frozen=True)
class Matcher:
    """``[!]key:pattern``; ``key`` is canonical (``function``, ``path``, ``tags``...)."""

    key: str
    pattern: str
    negated: bool = False
    tag: str = ""
    """The tag name when ``key == "tags"`` (written ``tags.<name>``)."""
    relation: Relation = "frame"
    """``caller``/``callee``: tested against the frame before/after the matched one."""
    glob: Glob | None = field(default=None, init=False, compare=False, repr=False)
    flag: bool | None = field(default=None, init=False, compare=False, repr=False)
    families: frozenset[str] = field(default=frozenset(), init=False, compare=False,
                                     repr=False)

    def __post_init__(self) -> None:
        # Compiled once at parse time; frozen, so set through object.__setattr__.
        if self.key == "app":
            object.__setattr__(self, "flag", _bool(self.pattern))
        elif self.key == "family":
            object.__setattr__(self, "families", frozenset(self.pattern.split(",")))
        else:
            glob = Glob(self.pattern, path_like=self.key in _PATH_LIKE,
                        ignore_case=self.key in _IGNORE_CASE)
            object.__setattr__(self, "glob", glob)

    def matches(self, value: object) -> bool:
        """Whether the field's ``value`` matches, negation applied. A missing value
        never matches positively (so ``!key:x`` matches it)."""
        return self._positive(value) != self.negated

    def matches_any(self, values: tuple[object, ...]) -> bool:
        """Whether any of ``values`` matches positively, then negation applied (a frame's
        ``abs_path`` or ``filename``; a message or an exception value)."""
        return any(self._positive(value) for value in values) != self.negated

    def _positive(self, value: object) -> bool:
        if self.key == "app":
            return value is not None and bool(value) == self.flag
        if self.key == "family":
            return "all" in self.families or value in self.families
        return isinstance(value, str) and self.glob is not None and self.glob.matches(value)


@dataclass(frozen=True)
class FingerprintRule:
    """``matchers -> fingerprint``: the first rule whose matchers all match sets the
    event's ``fingerprint`` (which may hold ``{{ default }}`` and other variables)."""

    matchers: tuple[Matcher, ...]
    fingerprint: tuple[str, ...]
    title: str | None = None
    text: str = ""


@dataclass(frozen=True)
class StacktraceRule:
    """``matchers actions``: ``in_app`` is the ``+app``/``-app`` action (``None`` when the
    rule has none) and ``app_range`` where it applies: the matched frame, or (``^``) every
    frame called after it or (``v``) every frame before it. ``+group``/``-group`` and
    ``max-frames``/``min-frames``/``category``/``invert-stacktrace`` are accepted for
    compatibility with Sentry configs and have no effect."""

    matchers: tuple[Matcher, ...]
    in_app: bool | None = None
    app_range: Literal["", "up", "down"] = ""
    text: str = ""


def _bool(text: str) -> bool | None:
    lowered = text.lower()
    return True if lowered in _TRUE else False if lowered in _FALSE else None


class _Scanner:
    """A cursor over one line; ``fail`` raises with the current column."""

    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def fail(self, message: str) -> RulesSyntaxError:
        return RulesSyntaxError(0, message, self.pos + 1)

    def skip_ws(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek(self, size: int = 1) -> str:
        return self.text[self.pos:self.pos + size]

    def expect(self, literal: str) -> None:
        self.skip_ws()
        if self.peek(len(literal)) != literal:
            found = repr(self.peek()) if not self.at_end() else "end of line"
            raise self.fail(f"expected {literal!r}, found {found}")
        self.pos += len(literal)

    def regex(self, pattern: re.Pattern[str]) -> re.Match[str] | None:
        match = pattern.match(self.text, self.pos)
        if match:
            self.pos = match.end()
        return match

    def quoted(self) -> str:
        """A ``"..."`` string starting at the cursor, ``\\"`` and ``\\\\`` unescaped."""
        start, self.pos = self.pos, self.pos + 1
        chars: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == '"':
                self.pos += 1
                return "".join(chars)
            if char == "\\" and self.peek(2)[1:] in ('"', "\\"):
                char = self.text[self.pos + 1]
                self.pos += 1
            chars.append(char)
            self.pos += 1
        self.pos = start
        raise self.fail("unterminated quoted string")

    def word(self, stop: str = "") -> str:
        """An unquoted run up to whitespace (or a character in ``stop``)."""
        start = self.pos
        while not self.at_end() and not self.text[self.pos].isspace() \
                and self.text[self.pos] not in stop:
            self.pos += 1
        return self.text[start:self.pos]


# -- rule lines --------------------------------------------------------------------------

def _resolve_key(name: str, keys: dict[str, str]) -> tuple[str, str]:
    if name.startswith("tags.") and "tags.<name>" in keys:
        if len(name) > len("tags."):
            return "tags", name[len("tags."):]
    elif name in keys:
        return keys[name], ""
    raise ValueError(f"unknown matcher {name!r}; known: {', '.join(sorted(keys))}")


def _matcher(scanner: _Scanner, keys: dict[str, str], relation: Relation) -> Matcher:
    scanner.skip_ws()
    start = scanner.pos
    negated = scanner.peek() == "!"
    scanner.pos += negated
    found = scanner.regex(_QUOTED_KEY) or scanner.regex(_KEY)
    if found is None:
        raise scanner.fail("expected a matcher such as error.type:ValueError")
    name = found.group(1) if found.re is _QUOTED_KEY else found.group(0)
    try:
        key, tag = _resolve_key(name, keys)
    except ValueError as error:
        scanner.pos = start
        raise scanner.fail(str(error)) from None
    if relation != "frame" and key not in FRAME_FIELDS:
        raise scanner.fail(f"caller/callee matchers must be frame matchers, not {name!r}")
    if scanner.peek() != ":":
        raise scanner.fail(f"expected ':' after {name!r}")
    scanner.pos += 1
    if scanner.peek() == '"':
        pattern = scanner.quoted()
    else:
        # Inside "[ ... ]" an unquoted value stops at the bracket.
        pattern = scanner.word("]" if relation != "frame" else "")
        if not pattern:
            raise scanner.fail(f"missing value after {name}:")
    _validate_pattern(scanner, key, pattern)
    return Matcher(key, pattern, negated, tag, relation)


def _validate_pattern(scanner: _Scanner, key: str, pattern: str) -> None:
    if key == "app" and _bool(pattern) is None:
        raise scanner.fail(f"app: takes yes or no, not {pattern!r}")
    if key == "family" and not set(pattern.split(",")) <= FAMILIES:
        raise scanner.fail(f"family: takes {', '.join(sorted(FAMILIES))}, not {pattern!r}")


def _matchers(scanner: _Scanner, keys: dict[str, str],
              at_rule_end: Callable[[], bool]) -> tuple[Matcher, ...]:
    """``[ caller ] | matcher... | [ callee ]``, up to where ``at_rule_end`` says."""
    matchers: list[Matcher] = []
    scanner.skip_ws()
    if scanner.peek() == "[":
        scanner.pos += 1
        matchers.append(_matcher(scanner, keys, "caller"))
        scanner.expect("]")
        scanner.expect("|")
    while True:
        scanner.skip_ws()
        if scanner.at_end() or at_rule_end():
            break
        if scanner.peek() == "|":
            scanner.pos += 1
            scanner.expect("[")
            matchers.append(_matcher(scanner, keys, "callee"))
            scanner.expect("]")
            scanner.skip_ws()
            break
        matchers.append(_matcher(scanner, keys, "frame"))
    if not any(m.relation == "frame" for m in matchers):
        raise scanner.fail("expected a matcher such as error.type:ValueError")
    return tuple(matchers)


def _variable(scanner: _Scanner) -> str:
    end = scanner.text.find("}}", scanner.pos + 2)
    name = scanner.text[scanner.pos + 2:end].strip() if end >= 0 else ""
    if not name or any(char.isspace() for char in name):
        raise scanner.fail("expected a variable such as {{ default }}")
    scanner.pos = end + 2
    return "{{ " + name + " }}"


def _fingerprint(scanner: _Scanner) -> tuple[tuple[str, ...], str | None]:
    """``value, "quoted value" {{ variable }} title="..."`` after the arrow."""
    values: list[str] = []
    title = None
    while True:
        scanner.skip_ws()
        if scanner.at_end():
            break
        start = scanner.pos
        if scanner.peek() == '"':
            values.append(scanner.quoted())
        elif scanner.peek(2) == "{{":
            values.append(_variable(scanner))
        elif attribute := scanner.regex(_ATTRIBUTE):
            if attribute.group(1) != "title":
                scanner.pos = start
                raise scanner.fail(f"unknown attribute {attribute.group(1)!r} (only title)")
            scanner.pos -= 1  # back onto the opening quote
            title = scanner.quoted()
        else:
            word = scanner.word("{,")
            if not word:
                raise scanner.fail(f"unexpected {scanner.peek()!r} in the fingerprint")
            values.append(word)
        scanner.skip_ws()
        if scanner.peek() == ",":
            scanner.pos += 1
    if not values:
        raise scanner.fail("expected a fingerprint after '->'")
    # Sentry normalises every spelling of the default variable.
    return tuple("{{ default }}" if _DEFAULT.fullmatch(v) else v for v in values), title


def _fingerprint_rule(line: str) -> FingerprintRule:
    scanner = _Scanner(line)
    matchers = _matchers(scanner, FINGERPRINT_KEYS, lambda: scanner.peek(2) == "->")
    scanner.expect("->")
    fingerprint, title = _fingerprint(scanner)
    return FingerprintRule(matchers, fingerprint, title, line.strip())


def _at_action(scanner: _Scanner) -> bool:
    head = scanner.peek(2)
    return head[:1] in ("+", "-") or (head[:1] in ("v", "^") and head[1:] in ("+", "-")) \
        or _VAR_ACTION.match(scanner.text, scanner.pos) is not None


def _stacktrace_rule(line: str) -> StacktraceRule:
    scanner = _Scanner(line)
    matchers = _matchers(scanner, STACKTRACE_KEYS, lambda: _at_action(scanner))
    in_app: bool | None = None
    app_range: Literal["", "up", "down"] = ""
    if scanner.at_end():
        raise scanner.fail("expected an action: +app or -app")
    while not scanner.at_end():
        if flag := scanner.regex(_FLAG_ACTION):
            if flag.group(3) == "app":
                in_app = flag.group(2) == "+"
                app_range = "up" if flag.group(1) == "^" else "down" if flag.group(1) else ""
        elif variable := scanner.regex(_VAR_ACTION):
            value = scanner.regex(_KEY)
            if value is None:
                raise scanner.fail(f"expected a value after {variable.group(1)}=")
        else:
            raise scanner.fail("expected an action: +app, -app, +group or -group")
        scanner.skip_ws()
    return StacktraceRule(matchers, in_app, app_range, line.strip())


# -- rule texts --------------------------------------------------------------------------

_Rule = TypeVar("_Rule", FingerprintRule, StacktraceRule)


def _parse_text(text: str, field: str, parse_line: Callable[[str], _Rule]) -> tuple[_Rule, ...]:
    if len(text) > MAX_TEXT_LENGTH:
        raise RulesSyntaxError(1, f"the rules are longer than {MAX_TEXT_LENGTH} characters",
                               field=field)
    rules: list[_Rule] = []
    # Only CR/LF end a line (str.splitlines would also split on form feeds etc.).
    for number, line in enumerate(re.split(r"\r\n|\r|\n", text), start=1):
        if len(line) > MAX_LINE_LENGTH:
            raise RulesSyntaxError(number, f"line is longer than {MAX_LINE_LENGTH} characters",
                                   field=field)
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if len(rules) == MAX_RULES:
            raise RulesSyntaxError(number, f"more than {MAX_RULES} rules", field=field)
        try:
            rules.append(parse_line(line))
        except RulesSyntaxError as error:
            raise RulesSyntaxError(number, error.message, error.column, field) from None
    return tuple(rules)


def parse_fingerprint_rules(text: str) -> tuple[FingerprintRule, ...]:
    """Parse a project's fingerprint rules; raises :class:`RulesSyntaxError`."""
    return _parse_text(text, "fingerprinting", _fingerprint_rule)


def parse_stacktrace_rules(text: str) -> tuple[StacktraceRule, ...]:
    """Parse a project's stack trace rules; raises :class:`RulesSyntaxError`."""
    return _parse_text(text, "enhancements", _stacktrace_rule)
