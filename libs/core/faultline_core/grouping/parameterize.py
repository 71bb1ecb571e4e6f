"""Replace the variable parts of a message with placeholders before grouping (pure).

``"User 42 (bob@example.com) timed out after 3.5s"`` →
``"User <int> (<email>) timed out after <float>s"``. One compiled alternation scans the
text once; every quantifier that could scan far is bounded or anchored at a token start,
and input is capped, so hostile text cannot trigger catastrophic backtracking.
"""

from __future__ import annotations

import ipaddress
import re
from functools import lru_cache
from typing import Final

MAX_LINE: Final = 1024
_HEX: Final = "[0-9a-fA-F]"

# Alternatives are tried in this order at each position, so the more specific kinds
# (a URL containing an email, a date containing ints) come first.
_KINDS: Final[tuple[tuple[str, str, str], ...]] = (
    ("url", r"\b[a-zA-Z][a-zA-Z0-9+.-]{0,31}://[^\s\"'<>`]+", "<url>"),
    ("email", r"(?<![\w.+%-])[\w.+%-]{1,64}@[\w-]{1,63}(?:\.[\w-]{1,63})+", "<email>"),
    ("uuid", rf"\b{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}\b", "<uuid>"),
    ("hash", rf"\b(?:{_HEX}{{64}}|{_HEX}{{40}}|{_HEX}{{32}})\b", "<hash>"),
    (
        "date",
        r"\b\d{4}-\d{2}-\d{2}"
        r"(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?\b",
        "<date>",
    ),
    ("time", r"\b\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?\b", "<date>"),
    ("ip4", r"\b(?:\d{1,3}\.){3}\d{1,3}\b", "<ip>"),
    # A loose IPv6 candidate (two colons at least); ipaddress decides if it really is one.
    ("ip6", rf"(?<![\w:.])(?={_HEX}{{0,4}}:{_HEX}{{0,4}}:)[0-9a-fA-F:]{{2,39}}(?![\w:])", "<ip>"),
    ("hex", r"\b0[xX][0-9a-fA-F]+\b", "<hex>"),
    # Numbers may carry a unit ("3.5s", "500ms") but not sit inside a word ("user42")
    # or a dotted version ("1.2.3", which stays as it is).
    ("float", r"(?<![\w.])\d+\.\d+(?:[eE][-+]?\d+)?(?!\.?\d)", "<float>"),
    ("int", r"(?<![\w.])\d+(?!\.?\d)", "<int>"),
)
_PLACEHOLDERS: Final = {name: placeholder for name, _, placeholder in _KINDS}
_PATTERN: Final = re.compile("|".join(f"(?P<{name}>{pattern})" for name, pattern, _ in _KINDS))


def _replace(match: re.Match[str]) -> str:
    kind = match.lastgroup or ""
    if kind == "ip6":
        try:
            ipaddress.IPv6Address(match.group(0))
        except ValueError:
            return match.group(0)
    return _PLACEHOLDERS[kind]


@lru_cache(maxsize=4096)
def parameterize(text: str) -> str:
    """Replace emails, URLs, IPs, UUIDs, hashes, dates, hex, floats and ints.

    Cached (at most 4096 lines of at most ``MAX_LINE`` characters are kept): log message
    templates repeat on every event, and the regex costs more than the rest of the
    event's grouping."""
    return _PATTERN.sub(_replace, text[:MAX_LINE])


def normalize_message(text: str, max_lines: int = 2) -> str:
    """The first ``max_lines`` non-empty lines, stripped and parameterised."""
    lines: list[str] = []
    # Only the head of the text can contribute, so never split a huge string whole.
    for line in text[: MAX_LINE * max_lines * 4].splitlines():
        stripped = line.strip()
        if stripped:
            lines.append(parameterize(stripped))
            if len(lines) == max_lines:
                break
    return "\n".join(lines)
