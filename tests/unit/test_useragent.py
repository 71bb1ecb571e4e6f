"""User-Agent parsing against real User-Agent strings."""

from __future__ import annotations

import time

import pytest

from faultline_core.useragent import Software, parse_browser, parse_os

CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.109 Safari/537.36"
)
FIREFOX_LINUX = "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0"
SAFARI_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.2 Safari/605.1.15"
)
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1"
)
SAFARI_IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/16.6 Mobile/15E148 Safari/604.1"
)
CHROME_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.6099.144 Mobile Safari/537.36"
)
CHROME_IOS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1"
)
EDGE_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91"
)
OPERA_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0"
)
CHROME_OS = (
    "Mozilla/5.0 (X11; CrOS x86_64 15633.69.0) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.6045.212 Safari/537.36"
)
FIREFOX_ANDROID = "Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0"
IE11 = "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko"
SAMSUNG = (
    "Mozilla/5.0 (Linux; Android 13; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) "
    "SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36"
)


@pytest.mark.parametrize(
    ("user_agent", "browser", "os"),
    [
        (CHROME_WINDOWS, Software("Chrome", "120.0.6099"), Software("Windows", "10")),
        (FIREFOX_LINUX, Software("Firefox", "121.0"), Software("Linux")),
        (SAFARI_MAC, Software("Safari", "17.2"), Software("Mac OS X", "10.15.7")),
        (SAFARI_IPHONE, Software("Mobile Safari", "17.2"), Software("iOS", "17.2.1")),
        (SAFARI_IPAD, Software("Mobile Safari", "16.6"), Software("iOS", "16.6")),
        (CHROME_ANDROID, Software("Chrome Mobile", "120.0.6099"), Software("Android", "14")),
        (CHROME_IOS, Software("Chrome Mobile iOS", "120.0.6099"), Software("iOS", "17.2")),
        (EDGE_WINDOWS, Software("Edge", "120.0.2210"), Software("Windows", "10")),
        (OPERA_MAC, Software("Opera", "105.0.0"), Software("Mac OS X", "10.15.7")),
        (CHROME_OS, Software("Chrome", "119.0.6045"), Software("Chrome OS", "15633.69.0")),
        (FIREFOX_ANDROID, Software("Firefox Mobile", "121.0"), Software("Android", "14")),
        (IE11, Software("IE", "11.0"), Software("Windows", "7")),
        (SAMSUNG, Software("Samsung Internet", "23.0"), Software("Android", "13")),
        ("curl/8.5.0", Software("curl", "8.5.0"), None),
        ("python-requests/2.31.0", Software("python-requests", "2.31.0"), None),
        ("Go-http-client/1.1", Software("Go-http-client", "1.1"), None),
        ("Wget/1.21.3", Software("Wget", "1.21.3"), None),
        ("", None, None),
        ("something odd", None, None),
    ],
)
def test_real_user_agents(user_agent: str, browser: Software | None, os: Software | None) -> None:
    assert parse_browser(user_agent) == browser
    assert parse_os(user_agent) == os


def test_software_renders_like_sentrys_tags() -> None:
    assert str(Software("Chrome", "120.0.6099")) == "Chrome 120.0.6099"
    assert str(Software("Linux")) == "Linux"


def test_macos_11_and_later_is_named_macos() -> None:
    os = parse_os("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15")

    assert os == Software("macOS", "14.2")


def test_hostile_user_agents_are_cheap() -> None:
    hostile = [
        "Mozilla/5.0 " + "Trident/7.0; " * 10_000,
        "Opera/" + "x" * 100_000,
        "CrOS " + "a" * 100_000,
        "Mac OS X " + "1_" * 50_000,
    ]
    started = time.perf_counter()
    for user_agent in hostile:
        parse_browser(user_agent)
        parse_os(user_agent)

    assert time.perf_counter() - started < 0.05
