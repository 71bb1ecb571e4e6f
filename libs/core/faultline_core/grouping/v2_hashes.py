"""Grouping v2's hashes without its component trees: the processor's path (pure).

:mod:`~faultline_core.grouping.v2` builds, per variant, the component tree that the
grouping-info API shows, and hashes its contributing leaves. The processor only needs
the hashes, so this module collects the same leaves directly, in the same order, from
the same memoised frame parts: no component is allocated. It covers events without a
custom fingerprint (nearly all of them); :class:`~faultline_core.grouping.v2.GroupingV2`
takes the tree path for the rest. ``tests/unit/test_grouping_v2_hashes.py`` checks both
paths agree on every fixture and on generated events.

A variant's leaves are ``None`` when it does not contribute; a contributing variant
always has at least one leaf (a frame key, ``type=…``, ``value=…``, ``message=…`` or
``fallback=…``), so "contributes" and "has leaves" are the same test.
"""

from __future__ import annotations

from typing import Any

from faultline_core.event_summary import event_stacktrace_frames, exception_values, frames_of
from faultline_core.grouping.base import hash_components
from faultline_core.grouping.parameterize import normalize_message
from faultline_core.grouping.v2_frames import PreparedFrames, prepare_frames

JsonDict = dict[str, Any]
Leaves = list[str] | None


def stack_leaves(prepared: PreparedFrames, app_only: bool) -> Leaves:
    """The contributing frame keys: in-app ones only for the app variant, a frame that
    repeats the previous contributing one (recursion) once."""
    leaves: list[str] = []
    previous: tuple[str, ...] | None = None
    for parts, in_app in prepared:
        key = parts.key
        if not key or (app_only and not in_app) or key == previous:
            continue
        previous = key
        leaves.extend(key)
    return leaves if previous is not None else None


class ExceptionInput:
    """One exception's frames and flags, shared by the app and system variants (and, in
    :mod:`~faultline_core.grouping.v2`, by their trees)."""

    __slots__ = ("exc", "prepared", "has_in_app", "synthetic", "type_leaf", "_value")

    def __init__(self, exc: JsonDict, platform: str) -> None:
        self.exc = exc
        self.prepared = prepare_frames(frames_of(exc), platform)
        self.has_in_app = any(in_app for _, in_app in self.prepared)
        mechanism = exc.get("mechanism")
        self.synthetic = isinstance(mechanism, dict) and mechanism.get("synthetic") is True
        exc_type = exc.get("type")
        self.type_leaf = "type=" + str(exc_type) if exc_type and not self.synthetic else None
        self._value: str | None = None

    def value(self) -> str:
        """The parameterised value. Parameterising is the costly part: only when a
        variant needs it, and once."""
        if self._value is None:
            raw = self.exc.get("value")
            self._value = normalize_message(str(raw)) if raw else ""
        return self._value

    def value_leaf(self) -> str | None:
        value = self.value()
        return "value=" + value if value else None

    def leaves(self, stack: Leaves, chain_stack: bool) -> Leaves:
        """Its stack's leaves, its type, and its value when no stack of the chain counts."""
        out: list[str] = list(stack) if stack is not None else []
        if self.type_leaf is not None:
            out.append(self.type_leaf)
        if not chain_stack:
            value = self.value_leaf()
            if value is not None:
                out.append(value)
        return out or None


def _exception_variants(data: JsonDict, platform: str) -> tuple[Leaves, Leaves] | None:
    """The app and system leaves of an event with exceptions (chained: oldest first)."""
    values = exception_values(data)
    if not values:
        return None
    inputs = [ExceptionInput(exc, platform) for exc in values]
    no_in_app = any(i.prepared for i in inputs) and not any(i.has_in_app for i in inputs)
    result: list[Leaves] = []
    for app_only in (True, False):
        stacks = [stack_leaves(i.prepared, app_only) if i.prepared else None for i in inputs]
        chain_stack = any(stack is not None for stack in stacks)
        leaves: list[str] = []
        for exc_input, stack in zip(inputs, stacks, strict=True):
            leaves.extend(exc_input.leaves(stack, chain_stack) or ())
        result.append(None if not leaves or (app_only and no_in_app) else leaves)
    return result[0], result[1]


def _stacktrace_variants(data: JsonDict, platform: str) -> tuple[Leaves, Leaves] | None:
    prepared = prepare_frames(event_stacktrace_frames(data), platform)
    if not prepared:
        return None
    no_in_app = not any(in_app for _, in_app in prepared)
    return (None if no_in_app else stack_leaves(prepared, True)), stack_leaves(prepared, False)


def message_template(data: JsonDict) -> str:
    """The parameterised log message template (else its formatted text), or ``""``."""
    logentry = data.get("logentry")
    template = None
    if isinstance(logentry, dict):
        template = logentry.get("message") or logentry.get("formatted")
    return normalize_message(template) if isinstance(template, str) else ""


def fallback_title(data: JsonDict) -> str:
    return str(data.get("title") or "<unlabeled event>")


def default_leaves(data: JsonDict) -> list[str]:
    """The parameterised message template, else the title."""
    message = message_template(data)
    return ["message=" + message] if message else ["fallback=" + fallback_title(data)]


def variant_hashes(data: JsonDict) -> tuple[list[str], list[str]]:
    """The hashes of the app, system (and default) variants, deduplicated in that order,
    and the leaves of the first: what ``GroupingV2.explain`` would hash."""
    platform = str(data.get("platform") or "")
    pair = _exception_variants(data, platform) or _stacktrace_variants(data, platform)
    variants: list[Leaves] = list(pair) if pair is not None else []
    if not any(leaves is not None for leaves in variants):
        variants.append(default_leaves(data))
    hashes: list[str] = []
    primary: list[str] | None = None
    for leaves in variants:
        if leaves is None:
            continue
        digest = hash_components(leaves)
        if digest not in hashes:
            hashes.append(digest)
            primary = primary if primary is not None else leaves
    assert primary is not None  # the default variant always has a leaf
    return hashes, primary
