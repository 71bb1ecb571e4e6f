"""Grouping v2: what one stack frame contributes, per platform (pure).

Every platform identifies a frame by *where* (module, else filename) and *what*
(function); Python adds the source line, JavaScript adds it only for anonymous
functions. Line numbers, addresses and variables never count. Names that code
generators, bundlers and package managers vary between builds are normalised so a
rebuild or an upgrade does not split an issue:

- Java/JVM: ``lambda$main$0`` → ``lambda$main``, ``$$Lambda$12/0x…`` → ``$$Lambda``,
  anonymous classes ``$1`` → ``$<anon>``, ``$$EnhancerByCGLIB$$1a2b`` →
  ``$$EnhancerByCGLIB``, ``$ByteBuddy$x`` / ``$HibernateProxy$x``, ``$Proxy12`` →
  ``$Proxy``, ``GeneratedMethodAccessor12`` → ``GeneratedMethodAccessor``.
- Go: closures ``handler.func2.1`` → ``handler.func``; module versions (``@v1.2.3``,
  ``/v2``) dropped.
- Ruby: ``block (2 levels) in foo`` → ``block in foo``; template methods
  ``_app_views_x_html_erb__123_456`` → ``_app_views_x_html_erb``; gem versions dropped.
- JavaScript: URLs reduced to their path, query and fragment dropped, content hashes
  and versions stripped from file names; anonymous functions do not contribute.
- PHP: ``{closure:…}`` → ``{closure}``, ``class@anonymous…`` → ``class@anonymous``.
- C#: compiler-generated ``<Main>b__0_1``, ``<Run>d__5``, ``<>c__DisplayClass2_0``.

Normalisation results are memoised: the same few thousand names recur in every event.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, Final, NamedTuple

from faultline_core.grouping.components import GroupingComponent

MAX_CONTEXT_LINE: Final = 120
_CACHE_SIZE: Final = 8192

_FAMILIES: Final = {
    "python": "python", "javascript": "javascript", "node": "javascript",
    "java": "java", "kotlin": "java", "scala": "java", "groovy": "java", "clojure": "java",
    "go": "go", "ruby": "ruby", "php": "php", "csharp": "csharp",
}
_JS_ANONYMOUS: Final = frozenset({"?", "<anonymous>", "anonymous", "<anonymous function>", ""})

Sub = tuple[re.Pattern[str], str]


def _subs(*pairs: tuple[str, str]) -> tuple[Sub, ...]:
    return tuple((re.compile(pattern), replacement) for pattern, replacement in pairs)


_JAVA_NAME: Final = _subs(
    (r"^lambda\$(.*?)\$?\d+$", r"lambda$\1"),
    (r"\$\$Lambda(?:\$\d+)?(?:/(?:0x)?[0-9a-fA-F]+)?", "$$Lambda"),
    (r"\$\$(\w+?)\$\$\w+", r"$$\1"),
    (r"\$(ByteBuddy|HibernateProxy|MockitoMock)\$\w+", r"$\1"),
    (r"\$Proxy\d+", "$Proxy"),
    (r"\bjdk\.proxy\d+", "jdk.proxy"),
    (r"^access\$\d+$", "access$"),
    (r"Generated(\w*?)Accessor\d+", r"Generated\1Accessor"),
    (r"\$\d+(?=\$|$|\.)", "$<anon>"),
)
_GO_FUNCTION: Final = _subs((r"\.func\d+(?:\.\d+)*", ".func"), (r"\.gowrap\d+", ".gowrap"))
_GO_MODULE: Final = _subs((r"@v[\w.+-]+", ""), (r"/v\d+(?=/|$)", ""), (r"\.v\d+(?=/|$)", ""))
_RUBY_FUNCTION: Final = _subs(
    (r"^(block|rescue|ensure) \(\d+ levels\) in ", r"\1 in "),
    (r"(_(?:erb|haml|slim|builder|jbuilder|rabl|arb))__[-_]?\d+_[-_]?\d+", r"\1"),
)
_PHP_FUNCTION: Final = _subs(
    (r"\{closure[^}]*\}", "{closure}"),
    (r"class@anonymous[^\s:]*(?::\d+)?(?:\$[0-9a-fA-F]+)?", "class@anonymous"),
)
_CSHARP_FUNCTION: Final = _subs(
    (r"<(\w*)>b__\d+(?:_\d+)?", r"<\1>b"),
    (r"<(\w*)>d__\d+", r"<\1>d"),
    (r"__DisplayClass\d+(?:_\d+)?", "__DisplayClass"),
)
_JS_FUNCTION: Final = _subs((r"^(?:async |new )", ""), (r"^Object\.", ""))
_PATH: Final = _subs(
    (r"^[a-zA-Z][a-zA-Z0-9+.-]{0,31}://[^/]*", ""),
    (r"[?#].*$", ""),
    (r" \(\d+(?:\.\d+)+[\w.-]*\)", ""),
    (r"@v?\d+(?:\.\d+)+[\w.+-]*", ""),
    (r"-\d+(?:\.\d+)+(?:[-.][\w]+)?(?=/)", ""),
    (r"(?<=/)v?\d+(?:\.\d+)+/", ""),
    (r"(?<=/)[0-9a-f]{32,64}(?=\.\w+$)", "<hash>"),
    (r"[.-](?=[0-9a-f]*\d)[0-9a-f]{6,20}(?=\.[\w.-]*$)", ""),
)
_LEADING: Final = re.compile(r"^(?:\.?/)+")
_FUNCTION_SUBS: Final[dict[str, tuple[Sub, ...]]] = {
    "java": _JAVA_NAME, "go": _GO_FUNCTION, "ruby": _RUBY_FUNCTION,
    "php": _PHP_FUNCTION, "csharp": _CSHARP_FUNCTION, "javascript": _JS_FUNCTION,
}
_MODULE_SUBS: Final[dict[str, tuple[Sub, ...]]] = {
    "java": _JAVA_NAME, "go": _GO_MODULE, "csharp": _CSHARP_FUNCTION,
}


def family_of(platform: str) -> str:
    """The rule family of a platform name (``node`` → ``javascript``, ``kotlin`` → ``java``)."""
    return _FAMILIES.get(platform, "other")


def _apply(subs: tuple[Sub, ...], text: str) -> str:
    for pattern, replacement in subs:
        text = pattern.sub(replacement, text)
    return text


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_function(family: str, function: str) -> str:
    """The function name with generated-code noise removed (empty when anonymous)."""
    function = function.strip()
    if family == "javascript" and function in _JS_ANONYMOUS:
        return ""
    subs = _FUNCTION_SUBS.get(family)
    return _apply(subs, function) if subs else function


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_module(family: str, module: str) -> str:
    """The module with generated class names and package versions normalised."""
    subs = _MODULE_SUBS.get(family)
    module = _apply(subs, module) if subs else module
    return _apply(_PATH, module) if family == "javascript" else module


@lru_cache(maxsize=_CACHE_SIZE)
def normalize_filename(filename: str) -> str:
    """A path or URL without host, query, versions and content hashes."""
    return _LEADING.sub("", _apply(_PATH, filename.replace("\\", "/"))) or filename


def _leaf(kind: str, raw: str, normalized: str) -> GroupingComponent:
    hint = None if raw == normalized else f"normalised from {raw[:200]!r}"
    return GroupingComponent(kind, [normalized], hint=hint)


def _location(family: str, module: str | None, filename: str | None) -> GroupingComponent | None:
    if module:
        return _leaf("module", module, normalize_module(family, module))
    if filename:
        return _leaf("filename", filename, normalize_filename(filename))
    return None


def _context_line(raw: str) -> GroupingComponent | None:
    line = raw.strip()
    if not line:
        return None
    if len(line) > MAX_CONTEXT_LINE:
        return GroupingComponent("context-line", [line[:MAX_CONTEXT_LINE]], contributes=False,
                                 hint="ignored because the line is too long")
    return GroupingComponent("context-line", [line])


class FrameParts(NamedTuple):
    """What one frame contributes, shared by every event with the same names.

    ``children`` are the frame's leaf components, ``key`` its contributing leaves as
    hashed (``"function=main"``…; empty when the frame identifies nothing). The frame's
    own component is built here once per distinct frame, in each state a stack trace can
    put it in, so grouping an event allocates no per-frame components."""

    children: list[str | GroupingComponent]
    key: tuple[str, ...]
    contributing: GroupingComponent
    non_app: GroupingComponent
    recursion: GroupingComponent


_UNNAMED_HINT: Final = "ignored because the frame names no module, file or function"


def _frame_node(children: list[str | GroupingComponent], key: tuple[str, ...],
                hint: str | None) -> GroupingComponent:
    if not key:
        hint = _UNNAMED_HINT
    return GroupingComponent("frame", children, contributes=hint is None, hint=hint,
                             leaves=key)


def frame_parts(frame: dict[str, Any], event_platform: str) -> FrameParts:
    """The frame's :class:`FrameParts`, memoised on the fields that count, so the same
    frame in the next event costs one lookup; the returned components are shared and
    must never be mutated."""
    platform = frame.get("platform")
    family = _FAMILIES.get(platform if type(platform) is str and platform
                           else event_platform, "other")
    module = frame.get("module")
    if type(module) is not str or not module:
        module = None
    filename = None
    if module is None:
        filename = frame.get("filename")
        if type(filename) is not str or not filename:
            filename = frame.get("abs_path")
            filename = filename if type(filename) is str and filename else None
    line = frame.get("context_line") if family in ("python", "javascript") else None
    function = frame.get("function")
    key = (family, module, filename, function if type(function) is str and function else None,
           line if type(line) is str and line else None)
    parts = _PARTS.get(key)
    if parts is None:
        if len(_PARTS) >= _CACHE_SIZE:
            _PARTS.clear()  # cheaper than LRU bookkeeping on every hit; refills in a moment
        parts = _PARTS[key] = _frame_parts(*key)
    return parts


_PartsKey = tuple[str, str | None, str | None, str | None, str | None]
# A plain dict: an lru_cache hit costs several times a dict hit from compiled code.
_PARTS: Final[dict[_PartsKey, FrameParts]] = {}


def _frame_parts(
    family: str, module: str | None, filename: str | None, raw_function: str | None,
    context_line: str | None,
) -> FrameParts:
    children: list[str | GroupingComponent] = []
    key_parts: list[str] = []
    location = _location(family, module, filename)
    if location is not None:
        children.append(location)
        key_parts.append(f"{location.id}={location.values[0]}")
    function = normalize_function(family, raw_function) if raw_function else ""
    if function and raw_function:
        children.append(_leaf("function", raw_function, function))
        key_parts.append(f"function={function}")
    elif raw_function:
        children.append(GroupingComponent("function", [raw_function], contributes=False,
                                          hint="ignored because it is an anonymous function"))
    if context_line and (family == "python" or (not function and key_parts)):
        line = _context_line(context_line)
        if line is not None:
            children.append(line)
            if line.contributes:
                key_parts.append(f"context-line={line.values[0]}")
    key = tuple(key_parts)
    return FrameParts(children, key, _frame_node(children, key, None),
                      _frame_node(children, key, "non app frame"),
                      _frame_node(children, key, "ignored due to recursion"))


PreparedFrames = list[tuple[FrameParts, bool]]


def prepare_frames(frames: list[dict[str, Any]], platform: str) -> PreparedFrames:
    """Each frame's shared parts and in-app flag: computed once per event."""
    return [(frame_parts(frame, platform), frame.get("in_app") is True) for frame in frames]
