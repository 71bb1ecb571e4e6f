"""Release ordering: semver when both releases parse, else first appearance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from faultline_processor.release_order import compare_versions, is_newer, parse_release

T0 = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("older", "newer"),
    [
        ("shop@1.4.2", "shop@1.4.10"),
        ("shop@1.9.0", "shop@1.10.0"),
        ("shop@1.2", "shop@1.2.1"),
        ("shop@1.2.0-rc.1", "shop@1.2.0"),
        ("shop@1.2.0-alpha", "shop@1.2.0-beta"),
        ("shop@1.2.0-rc.2", "shop@1.2.0-rc.10"),
        ("shop@1.2.0-1", "shop@1.2.0-alpha"),
        ("shop@1.0rc1", "shop@1.0"),
        ("shop@1.2.3+41", "shop@1.2.3+100"),
        ("@acme/web@2.0.0", "@acme/web@2.0.1"),
        ("1.2.3", "2.0"),
        ("2025.3.1", "2025.11.2"),
    ],
)
def test_semver_order(older: str, newer: str) -> None:
    a, b = parse_release(older), parse_release(newer)
    assert a is not None and b is not None
    assert (compare_versions(a, b), compare_versions(b, a)) == (-1, 1)


def test_equal_versions_and_other_packages() -> None:
    same = parse_release("shop@1.2.0+build.abc"), parse_release("shop@1.2.0")
    assert same[0] is not None and same[1] is not None
    assert compare_versions(same[0], same[1]) == 0
    other = parse_release("admin@2.0.0")
    assert other is not None and compare_versions(other, same[1]) is None


@pytest.mark.parametrize(
    "release", ["3f2a9c1e", "v1.2.3", "2025-03-01", "42", "@1.2.3", "", "shop@"]
)
def test_not_semver(release: str) -> None:
    assert parse_release(release) is None


def test_is_newer_falls_back_to_first_appearance() -> None:
    seen = {"abc": T0, "def": T0 + timedelta(hours=1), "shop@2.0.0": T0}
    assert is_newer("def", "abc", seen, T0)
    assert not is_newer("abc", "def", seen, T0)
    assert not is_newer("abc", "abc", seen, T0)
    # semver says older, although it appeared later
    assert not is_newer("shop@1.0.0", "shop@2.0.0", {**seen, "shop@1.0.0": T0 + timedelta(1)},
                        T0)


def test_is_newer_without_a_release_or_a_known_reference() -> None:
    seen = {"abc": T0, "def": T0 + timedelta(hours=2)}
    assert not is_newer("", "abc", seen, T0)
    # resolved in the next release while the project had none: later releases are newer
    assert is_newer("def", None, seen, T0 + timedelta(hours=1))
    assert not is_newer("abc", None, seen, T0 + timedelta(hours=1))
    # resolved in a release never seen: compared with the resolution time
    assert is_newer("def", "zzz", seen, T0 + timedelta(hours=1))
