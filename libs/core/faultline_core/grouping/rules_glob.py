"""Glob patterns for grouping rules, matched without backtracking (pure).

Patterns come from project settings, so a hostile one must not be able to stall the
processor: ``re`` translations of globs such as ``*a*a*a*a*b`` backtrack exponentially.
Here a pattern is compiled to a small automaton simulated with integer bit sets
(shift-and), so matching costs O(len(value)) big-int operations whatever the pattern.
Common shapes (a literal, ``prefix*``, ``*part*``...) take ``str`` fast paths.

Syntax (Sentry's): ``?`` is one character, ``*`` any run of characters. In *path* mode
(``stack.abs_path``, ``stack.package``), ``*`` and ``?`` stop at ``/`` and ``**`` crosses
it; backslashes count as ``/`` and matching ignores case.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_ONE = "?"
_STAR = "*"  # a run that may not cross "/" (path mode only)
_STARSTAR = "**"  # any run


def _tokens(pattern: str, path_like: bool) -> list[str]:
    """Literal characters and wildcard tokens (``?``, ``*``, ``**``)."""
    tokens: list[str] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char != "*":
            tokens.append(char if char != "?" else _ONE)
            index += 1
            continue
        end = index
        while end < len(pattern) and pattern[end] == "*":
            end += 1
        # A whole run of stars is one token, so no two star tokens are adjacent and the
        # epsilon closure in ``Glob._simulate`` takes a single step.
        tokens.append(_STAR if path_like and end - index == 1 else _STARSTAR)
        index = end
    return tokens


@dataclass(frozen=True)
class Glob:
    """A compiled glob; :meth:`matches` never backtracks."""

    pattern: str
    path_like: bool = False
    ignore_case: bool = False
    _segments: tuple[str, ...] | None = field(init=False, repr=False, compare=False)
    _literal_masks: dict[str, int] = field(init=False, repr=False, compare=False)
    _one_mask: int = field(init=False, repr=False, compare=False)
    _star_mask: int = field(init=False, repr=False, compare=False)
    _starstar_mask: int = field(init=False, repr=False, compare=False)
    _accept: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tokens = _tokens(self._normalise(self.pattern), self.path_like)
        literal_masks: dict[str, int] = {}
        one = star = starstar = 0
        for position, token in enumerate(tokens, start=1):
            bit = 1 << position
            if token == _ONE:
                one |= bit
            elif token == _STAR:
                star |= bit
            elif token == _STARSTAR:
                starstar |= bit
            else:
                literal_masks[token] = literal_masks.get(token, 0) | bit
        simple = not one and not star
        segments = tuple("".join(tokens).split(_STARSTAR)) if simple else None
        object.__setattr__(self, "_segments", segments)
        object.__setattr__(self, "_literal_masks", literal_masks)
        object.__setattr__(self, "_one_mask", one)
        object.__setattr__(self, "_star_mask", star)
        object.__setattr__(self, "_starstar_mask", starstar)
        object.__setattr__(self, "_accept", 1 << len(tokens))

    def _normalise(self, text: str) -> str:
        if self.path_like:
            text = text.replace("\\", "/")
        return text.lower() if self.ignore_case or self.path_like else text

    def matches(self, value: str) -> bool:
        """Whether the whole of ``value`` matches (path mode also tries ``"/" + value``,
        so ``**/node_modules/**`` matches a relative ``node_modules/x.js``)."""
        value = self._normalise(value)
        if self._match(value):
            return True
        return self.path_like and not value.startswith("/") and self._match("/" + value)

    def _match(self, value: str) -> bool:
        if self._segments is not None:
            return _match_segments(self._segments, value)
        return self._simulate(value)

    def _simulate(self, value: str) -> bool:
        stars = self._star_mask | self._starstar_mask
        state = 1 | (2 & stars)  # state 0, plus the first token when it is a star
        literal_masks, one = self._literal_masks, self._one_mask
        for char in value:
            slash = self.path_like and char == "/"
            advance = literal_masks.get(char, 0) | (0 if slash else one)
            stay = self._starstar_mask | (0 if slash else self._star_mask)
            state = ((state << 1) & advance) | (state & stay)
            # A star may match nothing: reaching the state before it reaches it too.
            state |= (state << 1) & stars
            if not state:
                return False
        return bool(state & self._accept)


def _match_segments(segments: tuple[str, ...], value: str) -> bool:
    """Literal segments separated by any-run stars: leftmost placement is optimal."""
    if len(segments) == 1:
        return value == segments[0]
    first, *middle, last = segments
    if len(value) < len(first) + len(last):
        return False
    if not value.startswith(first) or not value.endswith(last):
        return False
    position, end = len(first), len(value) - len(last)
    for segment in middle:
        found = value.find(segment, position, end)
        if found < 0:
            return False
        position = found + len(segment)
    return True
