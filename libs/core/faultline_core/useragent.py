"""A small, dependency-free User-Agent parser (pure).

It recognises the browsers and operating systems that matter for error reports, plus
command-line and library HTTP clients (``curl/8.5.0``, ``python-requests/2.31``). Names
follow ua-parser's (what Sentry shows): "Chrome", "Chrome Mobile", "Mobile Safari",
"Mac OS X"… Anything unrecognised yields ``None`` rather than a guess.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Final

# Real User-Agents are a few hundred characters; cap hostile ones before regex work.
_MAX_LENGTH: Final = 512
_VERSION: Final = r"(\d+(?:\.\d+){0,5})"


@dataclass(frozen=True)
class Software:
    """A browser or operating system: ``Software("Chrome", "120.0.6099")``."""

    name: str
    version: str = ""

    def __str__(self) -> str:
        return f"{self.name} {self.version}" if self.version else self.name


def _search(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


_EDGE: Final = _search(r"\b(?:Edg|Edge|EdgA|EdgiOS)/" + _VERSION)
_OPERA: Final = _search(r"\b(?:OPR|OPiOS|OPT)/" + _VERSION)
_OPERA_PRESTO: Final = _search(r"^Opera/.*?\bVersion/" + _VERSION)
_SAMSUNG: Final = _search(r"\bSamsungBrowser/" + _VERSION)
_FIREFOX_IOS: Final = _search(r"\bFxiOS/" + _VERSION)
_FIREFOX: Final = _search(r"\bFirefox/" + _VERSION)
_CHROME_IOS: Final = _search(r"\bCriOS/" + _VERSION)
_HEADLESS_CHROME: Final = _search(r"\bHeadlessChrome/" + _VERSION)
_CHROMIUM: Final = _search(r"\bChromium/" + _VERSION)
_CHROME: Final = _search(r"\bChrome/" + _VERSION)
_SAFARI_VERSION: Final = _search(r"\bVersion/" + _VERSION)
_MSIE: Final = _search(r"\bMSIE (\d+(?:\.\d+)?)")
_TRIDENT: Final = _search(r"\bTrident/[\d.]+;.{0,40}?\brv:(\d+(?:\.\d+)?)")
_TOOL: Final = _search(r"^([A-Za-z][\w.+-]{0,63})/(\d[\w.+-]{0,31})")

_WINDOWS: Final = _search(r"\bWindows NT (\d+\.\d+)")
_IOS: Final = _search(r"\bOS (\d+(?:_\d+){0,3}) like Mac OS X")
_ANDROID: Final = _search(r"\bAndroid(?: (\d+(?:\.\d+){0,3}))?")
_CHROME_OS: Final = _search(r"\bCrOS \S{1,20} " + _VERSION)
_MAC: Final = _search(r"\bMac OS X(?: (\d+(?:[_.]\d+){0,3}))?")

_WINDOWS_NAMES: Final = {
    "10.0": "10",
    "6.3": "8.1",
    "6.2": "8",
    "6.1": "7",
    "6.0": "Vista",
    "5.2": "XP",
    "5.1": "XP",
    "5.0": "2000",
}


def _short(version: str, parts: int = 3) -> str:
    return ".".join(version.split(".")[:parts])


def _first(ua: str, rules: list[tuple[re.Pattern[str], str]]) -> Software | None:
    for pattern, name in rules:
        match = pattern.search(ua)
        if match:
            return Software(name, _short(match.group(1)))
    return None


def _is_mobile(ua: str) -> bool:
    return "Mobile" in ua


# Cached: a service sees the same few User-Agent strings over and over, and the regex
# cascade costs more than the rest of an event's normalisation.
_CACHE_SIZE: Final = 4096


@functools.lru_cache(maxsize=_CACHE_SIZE)
def parse_browser(user_agent: str) -> Software | None:
    """The browser (or HTTP client) a User-Agent names, if recognisable."""
    ua = user_agent[:_MAX_LENGTH]
    found = _first(
        ua,
        [
            (_EDGE, "Edge"),
            (_OPERA, "Opera"),
            (_OPERA_PRESTO, "Opera"),
            (_SAMSUNG, "Samsung Internet"),
            (_FIREFOX_IOS, "Firefox iOS"),
            (_FIREFOX, "Firefox Mobile" if "Android" in ua and _is_mobile(ua) else "Firefox"),
            (_CHROME_IOS, "Chrome Mobile iOS"),
            (_HEADLESS_CHROME, "HeadlessChrome"),
            (_CHROMIUM, "Chromium"),
            (_CHROME, "Chrome Mobile" if "Android" in ua and _is_mobile(ua) else "Chrome"),
        ],
    )
    if found:
        return found
    if "Safari/" in ua:
        match = _SAFARI_VERSION.search(ua)
        if match:
            name = "Mobile Safari" if _is_mobile(ua) else "Safari"
            return Software(name, _short(match.group(1)))
    found = _first(ua, [(_MSIE, "IE"), (_TRIDENT, "IE")])
    if found:
        return found
    if not ua.startswith("Mozilla/"):
        match = _TOOL.match(ua)
        if match:
            return Software(match.group(1), match.group(2))
    return None


@functools.lru_cache(maxsize=_CACHE_SIZE)
def parse_os(user_agent: str) -> Software | None:
    """The operating system a User-Agent names, if recognisable."""
    ua = user_agent[:_MAX_LENGTH]
    match = _WINDOWS.search(ua)
    if match:
        return Software("Windows", _WINDOWS_NAMES.get(match.group(1), match.group(1)))
    match = _IOS.search(ua)
    if match and ("iPhone" in ua or "iPad" in ua or "iPod" in ua):
        return Software("iOS", match.group(1).replace("_", "."))
    match = _ANDROID.search(ua)
    if match:
        return Software("Android", match.group(1) or "")
    match = _CHROME_OS.search(ua)
    if match:
        return Software("Chrome OS", match.group(1))
    match = _MAC.search(ua)
    if match:
        version = (match.group(1) or "").replace("_", ".")
        major = version.split(".", 1)[0]
        # Apple froze the UA at 10_15_7 on macOS 11+, so most real UAs say 10.x.
        name = "Mac OS X" if major in ("", "10") else "macOS"
        return Software(name, version)
    if "Windows" in ua:
        return Software("Windows")
    if "Linux" in ua:
        return Software("Linux")
    return None
