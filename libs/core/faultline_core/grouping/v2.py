"""Grouping v2: variants with component trees, per-platform frame rules (pure).

An event gets one or more *variants*, each a component tree whose contributing leaves
are hashed (see :mod:`faultline_core.grouping.components`):

- ``app``: exceptions / stack trace with only in-app frames contributing. It has no
  hash when the event has frames but none of them is in-app.
- ``system``: the same with every frame contributing.
- ``default``: for events with neither (nor anything contributing in them): the
  parameterised message template, else the title as a last resort.
- a custom ``fingerprint`` replaces them all (variant ``custom-fingerprint``; the others
  stay in the explanation without a hash), unless it contains ``{{ default }}``: then
  each variant becomes a ``salted-component`` hashed with the fingerprint appended.

Per exception (chained ones each contribute one component, oldest first): the stack
trace's frames (:mod:`~faultline_core.grouping.v2_frames`; a frame repeating the previous
contributing one is recursion and counts once), the ``type`` unless
``mechanism.synthetic``, and the parameterised ``value`` only when no frame of the
whole chain contributes. ``hashes`` lists the contributing variants' hashes, deduplicated:
custom fingerprint, else app then system (then default), so an event joins an issue
if any of them matches.
"""

from __future__ import annotations

from typing import Any, Final

from faultline_core.event_summary import event_stacktrace_frames, exception_values
from faultline_core.grouping.base import GroupingResult, hash_components
from faultline_core.grouping.components import GroupingComponent, GroupingVariant
from faultline_core.grouping.v2_fingerprint import DEFAULT_MARKER, resolve_fingerprint
from faultline_core.grouping.v2_frames import PreparedFrames, prepare_frames
from faultline_core.grouping.v2_hashes import (
    ExceptionInput,
    fallback_title,
    message_template,
    variant_hashes,
)

CONFIG_ID: Final = "v2"
JsonDict = dict[str, Any]


def _stacktrace(prepared: PreparedFrames, app_only: bool) -> GroupingComponent:
    nodes: list[str | GroupingComponent] = []
    leaves: list[str] = []  # collected here so hashing never walks the frames again
    previous: tuple[str, ...] | None = None
    for parts, in_app in prepared:
        key = parts.key
        if not key:
            nodes.append(parts.contributing)  # built with the "names nothing" hint
        elif app_only and not in_app:
            nodes.append(parts.non_app)
        elif key == previous:
            nodes.append(parts.recursion)
        else:
            previous = key
            leaves.extend(key)
            nodes.append(parts.contributing)
    contributes = previous is not None
    hint = None if contributes else (
        "ignored because it contains no in-app frames" if app_only
        else "ignored because no frame contributes")
    return GroupingComponent("stacktrace", nodes, contributes=contributes, hint=hint,
                             leaves=tuple(leaves))


class _Exception(ExceptionInput):
    """One exception's prepared inputs, shared by the app and system trees."""

    __slots__ = ()

    def stack(self, app_only: bool) -> GroupingComponent | None:
        return _stacktrace(self.prepared, app_only) if self.prepared else None

    def component(self, stack: GroupingComponent | None, chain_stack: bool) -> GroupingComponent:
        """``chain_stack``: a frame of some exception in the chain contributes, which
        makes every value of the chain ignored (a wrapped error's message often holds
        ids that would split the issue)."""
        values: list[str | GroupingComponent] = []
        leaves: list[str] = []  # the contributing leaves, so hashing never walks the tree
        if stack is not None:
            values.append(stack)
            if stack.contributes and stack.leaves:
                leaves.extend(stack.leaves)
        exc_type = self.exc.get("type")
        if exc_type:
            hint = "ignored because the exception is synthetic" if self.synthetic else None
            values.append(GroupingComponent("type", [str(exc_type)],
                                            contributes=not self.synthetic, hint=hint))
            if not self.synthetic:
                leaves.append("type=" + str(exc_type))
        if chain_stack:
            raw = self.exc.get("value")
            if raw:  # shown as sent: parameterising it would cost time for nothing
                values.append(GroupingComponent("value", [str(raw)[:200]], contributes=False,
                                                hint="ignored because the stack trace counts"))
        elif self.value():
            values.append(GroupingComponent("value", [self.value()]))
            leaves.append(f"value={self.value()}")
        contributes = any(isinstance(v, GroupingComponent) and v.contributes for v in values)
        return GroupingComponent("exception", values, contributes=contributes,
                                 leaves=tuple(leaves))


def _root(name: str, child: GroupingComponent, no_in_app: bool) -> GroupingComponent:
    contributes = child.contributes and not no_in_app
    hint = "ignored because the event has no in-app frames" if no_in_app else None
    return GroupingComponent(name, [child], contributes=contributes, hint=hint,
                             leaves=tuple(child.contributing_values()))


def _exception_roots(data: JsonDict, platform: str) -> tuple[GroupingComponent, ...] | None:
    values = exception_values(data)
    if not values:
        return None
    prepared = [_Exception(exc, platform) for exc in values]
    has_frames = any(p.prepared for p in prepared)
    no_in_app = has_frames and not any(p.has_in_app for p in prepared)
    roots = []
    for name, app_only in (("app", True), ("system", False)):
        stacks = [p.stack(app_only) for p in prepared]
        chain_stack = any(stack is not None and stack.contributes for stack in stacks)
        children: list[str | GroupingComponent] = [
            p.component(stack, chain_stack) for p, stack in zip(prepared, stacks, strict=True)]
        if len(children) == 1:
            child = children[0]
            assert isinstance(child, GroupingComponent)
        else:
            chain_leaves: list[str] = []
            contributes = False
            for c in children:
                if isinstance(c, GroupingComponent) and c.contributes:
                    contributes = True
                    chain_leaves.extend(c.contributing_values())
            child = GroupingComponent("chained-exception", children, contributes=contributes,
                                      leaves=tuple(chain_leaves))
        roots.append(_root(name, child, no_in_app and app_only))
    return tuple(roots)


def _stacktrace_roots(data: JsonDict, platform: str) -> tuple[GroupingComponent, ...] | None:
    prepared = prepare_frames(event_stacktrace_frames(data), platform)
    if not prepared:
        return None
    no_in_app = not any(f[1] for f in prepared)
    return (_root("app", _stacktrace(prepared, True), no_in_app),
            _root("system", _stacktrace(prepared, False), False))


def _default_root(data: JsonDict) -> GroupingComponent:
    message = message_template(data)
    if message:
        return GroupingComponent("default", [GroupingComponent("message", [message])])
    return GroupingComponent("default", [GroupingComponent(
        "fallback", [fallback_title(data)],
        hint="nothing else contributes: grouped by the event's title")])


_DESCRIPTIONS: Final = {
    "exception": "exception stack trace", "chained-exception": "chained exception stack traces",
    "stacktrace": "stack trace", "message": "message template",
    "fallback": "event title (nothing else contributes)",
}


def _describe(root: GroupingComponent) -> str:
    child = root.values[0]
    what = _DESCRIPTIONS.get(child.id, child.id) if isinstance(child, GroupingComponent) else ""
    return f"{'in-app' if root.id == 'app' else root.id} {what}" if root.id != "default" else what


def default_variants(data: JsonDict) -> list[GroupingVariant]:
    """The component variants (app/system, or default), each with its hash."""
    platform = str(data.get("platform") or "")
    roots = _exception_roots(data, platform) or _stacktrace_roots(data, platform) or ()
    if not any(root.contributes for root in roots):
        roots = (*roots, _default_root(data))
    return [GroupingVariant(name=root.id, type="component", description=_describe(root),
                            component=root, hash=root.get_hash()) for root in roots]


def _matched_rule(data: JsonDict) -> str | None:
    """The text of the server-side fingerprint rule that set the fingerprint, if one did
    (:func:`faultline_core.grouping.rules.apply_grouping_rules` records it)."""
    info = data.get("_fingerprint_info")
    rule = info.get("matched_rule") if isinstance(info, dict) else None
    text = rule.get("text") if isinstance(rule, dict) else None
    return text if isinstance(text, str) else None


def _fingerprinted(variants: list[GroupingVariant], resolved: list[str],
                   rule: str | None) -> list[GroupingVariant]:
    source = "server fingerprint rule" if rule is not None else "fingerprint"
    if DEFAULT_MARKER in resolved:
        salt = [f"fingerprint={entry}" for entry in resolved]
        return [GroupingVariant(
            name=v.name, type="salted-component", description=f"{v.description} and {source}",
            component=v.component, values=tuple(resolved), matched_rule=rule,
            hash=hash_components([*v.component.contributing_values(), *salt])
            if v.component is not None and v.hash is not None else None) for v in variants]
    component = GroupingComponent("fingerprint", list(resolved))
    custom = GroupingVariant(name="custom-fingerprint", type="custom-fingerprint",
                             description=f"custom {source}", component=component,
                             values=tuple(resolved), hash=component.get_hash(),
                             matched_rule=rule)
    shadowed = []
    for v in variants:
        root = v.component
        if root is not None:
            root = GroupingComponent(root.id, root.values, contributes=False,
                                     hint="ignored because a custom fingerprint takes precedence")
        shadowed.append(GroupingVariant(name=v.name, type=v.type, description=v.description,
                                        component=root, hash=None))
    return [custom, *shadowed]


def _fingerprint_entries(data: JsonDict) -> list[str] | None:
    fingerprint = data.get("fingerprint")
    if not isinstance(fingerprint, list) or not fingerprint:
        return None
    return [str(entry) for entry in fingerprint]


class GroupingV2:
    """Grouping config ``v2``."""

    config_id = CONFIG_ID
    changelog = "Variants with component trees, per-platform frame rules."

    def explain(self, data: dict[str, Any]) -> dict[str, GroupingVariant]:
        variants = default_variants(data)
        entries = _fingerprint_entries(data)
        if entries is not None:
            resolved = resolve_fingerprint(data, entries)
            if any(entry != DEFAULT_MARKER for entry in resolved):
                variants = _fingerprinted(variants, resolved, _matched_rule(data))
        return {v.name: v for v in variants}

    def compute(self, data: dict[str, Any]) -> GroupingResult:
        if _fingerprint_entries(data) is None:
            # No fingerprint (nearly every event): the leaves without the trees.
            hashes, components = variant_hashes(data)
            return GroupingResult(config=CONFIG_ID, hashes=hashes, components=components)
        hashes = []
        primary: GroupingVariant | None = None
        for variant in self.explain(data).values():
            if variant.hash is not None and variant.hash not in hashes:
                hashes.append(variant.hash)
                primary = primary or variant
        assert primary is not None and primary.component is not None  # default always hashes
        components = primary.component.contributing_values()
        if primary.type == "salted-component":
            components += [f"fingerprint={entry}" for entry in primary.values]
        return GroupingResult(config=CONFIG_ID, hashes=hashes, components=components)
