"""Server-side grouping rules per project: fingerprint rules and stack trace rules (pure).

Sentry's two settings, same syntax (see :mod:`faultline_core.grouping.rules_syntax`):

- **Stack trace rules** (``enhancements``) run first, over every frame of every stack
  (exception chain, ``stacktrace``, threads), rule by rule: each matching ``+app``/``-app``
  sets ``in_app``, so the last matching rule wins. ``app:`` matchers see the SDK's
  ``in_app``. ``+group``/``-group`` and the ``max-frames``-style actions are accepted so
  Sentry configs paste cleanly, but have no effect here; ``category:`` tests the frame's
  ``data.category``, which only Sentry's built-in rules set, so it matches nothing here.
- **Fingerprint rules** then pick the first rule whose matchers all match and set the
  event's ``fingerprint`` to the rule's (replacing the SDK's, as in Sentry); variables
  such as ``{{ default }}`` are left for the grouping strategy to expand. Matchers on the
  same kind of data must match the same thing: all frame matchers one frame of a stack
  (with ``[ caller ] |`` / ``| [ callee ]`` its neighbours), all exception matchers one
  exception of the chain. ``_fingerprint_info.matched_rule`` records the rule and its
  ``title`` attribute, if any.

:func:`apply_grouping_rules` never mutates its input and copies only the dicts and lists
on the path to what it changes, so an event the rules leave alone is returned as is.

Cost is bounded: at most ``MAX_FRAME_CHECKS`` (rule, frame) tests per event. Typical
configs use a tiny fraction of it; past it (500 rules against thousands of frames) the
remaining rules are skipped, deterministically, so the event still groups the same way
every time and a hostile config cannot stall the processor.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from faultline_core.grouping.rules_syntax import (
    MAX_LINE_LENGTH,
    MAX_RULES,
    FingerprintRule,
    Matcher,
    RulesSyntaxError,
    StacktraceRule,
    parse_fingerprint_rules,
    parse_stacktrace_rules,
)

__all__ = [
    "MAX_FRAME_CHECKS",
    "MAX_LINE_LENGTH",
    "MAX_RULES",
    "FingerprintRule",
    "GroupingRules",
    "Matcher",
    "RulesSyntaxError",
    "StacktraceRule",
    "apply_grouping_rules",
    "family_of",
    "parse_grouping_rules",
]

JsonDict = dict[str, Any]
_NATIVE_PLATFORMS = frozenset({"native", "c", "cocoa", "objc", "swift"})
_JAVASCRIPT_PLATFORMS = frozenset({"javascript", "node"})
_EXCEPTION_FIELDS = frozenset({"type", "value", "mechanism"})
MAX_FRAME_CHECKS = 100_000


class _Budget:
    """(rule, frame) tests left for one event; shared by both kinds of rules."""

    def __init__(self) -> None:
        self.left = MAX_FRAME_CHECKS

    def take(self, checks: int) -> bool:
        self.left -= checks
        return self.left >= 0


@dataclass(frozen=True)
class GroupingRules:
    """A project's parsed rules; ``GroupingRules()`` means "no rules"."""

    fingerprinting: tuple[FingerprintRule, ...] = ()
    enhancements: tuple[StacktraceRule, ...] = ()

    @property
    def is_empty(self) -> bool:
        return not self.fingerprinting and not self.enhancements


def parse_grouping_rules(fingerprinting: str, enhancements: str) -> GroupingRules:
    """Parse a project's fingerprint rules and stack trace rules texts.

    Raises :class:`RulesSyntaxError` (``.line``, ``.field``, a message saying what is
    wrong) for a malformed line, more than ``MAX_RULES`` rules in one text or a line
    longer than ``MAX_LINE_LENGTH`` characters."""
    return GroupingRules(parse_fingerprint_rules(fingerprinting),
                         parse_stacktrace_rules(enhancements))


def apply_grouping_rules(data: dict[str, Any], rules: GroupingRules) -> dict[str, Any]:
    """The normalised event ``data`` with stack trace rules' ``in_app`` marks and the
    first matching fingerprint rule's ``fingerprint`` applied (input never mutated)."""
    budget = _Budget()
    if rules.enhancements:
        data = _apply_stacktrace_rules(data, rules.enhancements, budget)
    view = _EventView(data)
    for rule in rules.fingerprinting:
        if not budget.take(view.size(rule)):
            break
        if _fingerprint_rule_matches(rule, view):
            matched: JsonDict = {"text": rule.text, "fingerprint": list(rule.fingerprint)}
            if rule.title is not None:
                matched["attributes"] = {"title": rule.title}
            return {**data, "fingerprint": list(rule.fingerprint),
                    "_fingerprint_info": {"matched_rule": matched}}
    return data


def family_of(platform: object) -> str:
    """Sentry's platform family: ``native``, ``javascript`` or ``other``."""
    if platform in _NATIVE_PLATFORMS:
        return "native"
    return "javascript" if platform in _JAVASCRIPT_PLATFORMS else "other"


# -- frames ------------------------------------------------------------------------------

def _frame_matches(matcher: Matcher, frame: JsonDict, platform: object) -> bool:
    key = matcher.key
    if key == "path":
        return matcher.matches_any((frame.get("abs_path"), frame.get("filename")))
    if key == "function":
        return matcher.matches(frame.get("function") or "<unknown>")
    if key == "app":
        return matcher.matches(frame.get("in_app"))
    if key == "family":
        return matcher.matches(family_of(frame.get("platform") or platform))
    if key == "category":
        extra = frame.get("data")
        return matcher.matches(extra.get("category") if isinstance(extra, dict) else None)
    return matcher.matches(frame.get(key))


def _exception_field(exception: JsonDict | None, key: str) -> object:
    if exception is None:
        return "<unknown>"
    if key == "mechanism":
        mechanism = exception.get("mechanism")
        return mechanism.get("type") if isinstance(mechanism, dict) else None
    value = exception.get(key)
    return value.strip() if isinstance(value, str) else value


def _matches_at(matchers: Iterable[Matcher], frames: list[JsonDict], index: int,
                platform: object, exception: JsonDict | None) -> bool:
    """Whether every matcher holds at ``frames[index]`` (callers are earlier frames:
    stacks are ordered oldest call first)."""
    for matcher in matchers:
        if matcher.key in _EXCEPTION_FIELDS:
            if not matcher.matches(_exception_field(exception, matcher.key)):
                return False
            continue
        at = index - 1 if matcher.relation == "caller" else index + (matcher.relation == "callee")
        if not 0 <= at < len(frames) or not _frame_matches(matcher, frames[at], platform):
            return False
    return True


def _dict_frames(raw: list[Any]) -> tuple[list[int], list[JsonDict]]:
    positions = [i for i, frame in enumerate(raw) if isinstance(frame, dict)]
    return positions, [raw[i] for i in positions]


# -- stack trace rules -------------------------------------------------------------------

def _range(rule: StacktraceRule, index: int, count: int) -> range:
    if rule.app_range == "up":
        return range(index + 1, count)
    if rule.app_range == "down":
        return range(index)
    return range(index, index + 1)


def _marked_frames(raw: list[Any], rules: tuple[StacktraceRule, ...], platform: object,
                   exception: JsonDict | None, budget: _Budget) -> list[Any] | None:
    """``raw`` with the rules' ``in_app`` marks, or ``None`` when nothing changes."""
    positions, frames = _dict_frames(raw)
    original = [frame.get("in_app") for frame in frames]
    marks = list(original)
    for rule in rules:
        if not budget.take(len(frames)):
            break
        for index in range(len(frames)):
            if _matches_at(rule.matchers, frames, index, platform, exception):
                for target in _range(rule, index, len(frames)):
                    marks[target] = rule.in_app
    changed = [k for k in range(len(frames)) if marks[k] is not original[k]]
    if not changed:
        return None
    copy = list(raw)
    for k in changed:
        copy[positions[k]] = {**frames[k], "in_app": marks[k]}
    return copy


def _marked_stacktrace(stacktrace: object, rules: tuple[StacktraceRule, ...],
                       platform: object, exception: JsonDict | None,
                       budget: _Budget) -> JsonDict | None:
    if not isinstance(stacktrace, dict) or not isinstance(stacktrace.get("frames"), list):
        return None
    frames = _marked_frames(stacktrace["frames"], rules, platform, exception, budget)
    return None if frames is None else {**stacktrace, "frames": frames}


def _marked_values(container: object, rules: tuple[StacktraceRule, ...], platform: object,
                   exceptions: bool, budget: _Budget) -> JsonDict | None:
    """An ``exception``/``threads`` container with its stacks marked, or ``None``."""
    values = container.get("values") if isinstance(container, dict) else None
    if not isinstance(container, dict) or not isinstance(values, list):
        return None
    copy: list[Any] | None = None
    for index, holder in enumerate(values):
        if not isinstance(holder, dict):
            continue
        stacktrace = _marked_stacktrace(holder.get("stacktrace"), rules, platform,
                                        holder if exceptions else None, budget)
        if stacktrace is not None:
            copy = copy if copy is not None else list(values)
            copy[index] = {**holder, "stacktrace": stacktrace}
    return None if copy is None else {**container, "values": copy}


def _apply_stacktrace_rules(data: JsonDict, rules: tuple[StacktraceRule, ...],
                            budget: _Budget) -> JsonDict:
    active = tuple(rule for rule in rules if rule.in_app is not None)
    if not active:
        return data
    platform = data.get("platform")
    changes: JsonDict = {}
    for key in ("exception", "threads"):
        marked = _marked_values(data.get(key), active, platform, key == "exception", budget)
        if marked is not None:
            changes[key] = marked
    stacktrace = _marked_stacktrace(data.get("stacktrace"), active, platform, None, budget)
    if stacktrace is not None:
        changes["stacktrace"] = stacktrace
    return {**data, **changes} if changes else data


# -- fingerprint rules -------------------------------------------------------------------

def _scope(matcher: Matcher) -> str:
    """Which of the event's values a matcher is tested against (``_EventView`` attrs)."""
    if matcher.relation != "frame":
        return "stacks"
    return {
        "type": "exceptions", "value": "exceptions", "message": "toplevel",
        "logger": "log", "level": "log", "tags": "tags", "family": "event",
        "release": "event",
    }.get(matcher.key, "stacks")  # fmt: skip


class _EventView:
    """The values fingerprint matchers look at, each computed on first use."""

    def __init__(self, data: JsonDict) -> None:
        self.data = data
        self._cache: dict[str, list[JsonDict]] = {}

    def entries(self, scope: str) -> list[JsonDict]:
        if scope not in self._cache:
            self._cache[scope] = getattr(self, f"_{scope}")()
        return self._cache[scope]

    def size(self, rule: FingerprintRule) -> int:
        """How many frames testing ``rule`` may look at (its budget charge)."""
        if not any(_scope(m) == "stacks" for m in rule.matchers):
            return 1
        return max(1, sum(len(stack["frames"]) for stack in self.entries("stacks")))

    def _holders(self, key: str) -> list[JsonDict]:
        container = self.data.get(key)
        values = container.get("values") if isinstance(container, dict) else None
        return [v for v in values if isinstance(v, dict)] if isinstance(values, list) else []

    def _exceptions(self) -> list[JsonDict]:
        return [{"type": exc.get("type"), "value": _exception_field(exc, "value")}
                for exc in self._holders("exception")]

    def _toplevel(self) -> list[JsonDict]:
        logentry = self.data.get("logentry")
        message = (logentry.get("formatted") or logentry.get("message")
                   if isinstance(logentry, dict) else None)
        messages = [{"message": message.strip()}] if isinstance(message, str) else []
        return messages + self.entries("exceptions")

    def _log(self) -> list[JsonDict]:
        entry = {k: self.data[k] for k in ("logger", "level") if self.data.get(k)}
        return [entry] if entry else []

    def _tags(self) -> list[JsonDict]:
        tags = self.data.get("tags")
        pairs = tags if isinstance(tags, list) else []
        return [{f"tags.{p[0]}": p[1] for p in pairs if isinstance(p, list) and len(p) == 2}]

    def _event(self) -> list[JsonDict]:
        return [{"family": family_of(self.data.get("platform")),
                 "release": self.data.get("release")}]

    def _stacks(self) -> list[JsonDict]:
        # Each "entry" of this scope is one stack: {"frames": [...]}.
        holders = self._holders("exception") + self._holders("threads")
        stacks = [h.get("stacktrace") for h in holders] + [self.data.get("stacktrace")]
        return [{"frames": _dict_frames(s["frames"])[1]} for s in stacks
                if isinstance(s, dict) and isinstance(s.get("frames"), list)]


def _entry_matches(matcher: Matcher, entry: JsonDict) -> bool:
    if matcher.key == "message":
        # As in Sentry, message: also tests exception values ("what users expect").
        return matcher.matches_any((entry.get("message"), entry.get("value")))
    key = f"tags.{matcher.tag}" if matcher.key == "tags" else matcher.key
    return matcher.matches(entry.get(key))


def _fingerprint_rule_matches(rule: FingerprintRule, view: _EventView) -> bool:
    by_scope: dict[str, list[Matcher]] = {}
    for matcher in rule.matchers:
        by_scope.setdefault(_scope(matcher), []).append(matcher)
    platform = view.data.get("platform")
    for scope, matchers in by_scope.items():
        if scope == "stacks":
            found = any(_matches_at(matchers, stack["frames"], index, platform, None)
                        for stack in view.entries(scope)
                        for index in range(len(stack["frames"])))
        else:
            found = any(all(_entry_matches(m, entry) for m in matchers)
                        for entry in view.entries(scope))
        if not found:
            return False
    return True
