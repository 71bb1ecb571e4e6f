"""Which of two releases is newer, to decide whether an event regresses an issue that was
resolved in a release.

Releases follow Sentry's naming: ``package@version+build`` (the package is optional and
may itself start with ``@``, as in ``@acme/shop@1.2.3``). Two releases of the same
package whose versions both parse as (loose) semver, at least ``major.minor`` with
optional patch, revision, pre-release (``-rc.1`` or ``rc1``) and build (``+41``), are
compared by version: major,
minor, patch and revision, then a release without a pre-release tag ranks above one with
it (``1.2.0-rc.1 < 1.2.0``), pre-release identifiers compare as semver says, and numeric
build codes break the last tie. Everything else (commit hashes, dates, ``v1.2``, different
packages) is compared by when the project first saw each release.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

# At least major.minor: a lone number, or a commit hash that starts with digits ("3f2a9c1"),
# is not a version.
_VERSION = re.compile(
    r"""^(?P<major>\d+)\.(?P<minor>\d+)(?:\.(?P<patch>\d+))?(?:\.(?P<revision>\d+))?
        (?:-(?P<dashed_pre>[0-9A-Za-z][0-9A-Za-z.-]*)|(?P<pre>[A-Za-z][0-9A-Za-z.-]*))?
        (?:\+(?P<build>[0-9A-Za-z.-]+))?$""",
    re.VERBOSE,
)
_MAX_DIGITS = 18  # bigger "versions" are ids or timestamps, not semver


@dataclass(frozen=True)
class Version:
    """A parsed release version: what :func:`compare_versions` orders."""

    package: str
    numbers: tuple[int, int, int, int]
    pre: tuple[str, ...]
    build: str


def parse_release(release: str) -> Version | None:
    """``release`` as a version, or None when it is not semver-like."""
    package, at, raw = release.rpartition("@")
    if at and not package:
        return None  # "@1.2.3": an empty package name, not Sentry's format
    match = _VERSION.match(raw)
    if match is None:
        return None
    parts = [match.group(name) or "0" for name in ("major", "minor", "patch", "revision")]
    if any(len(part) > _MAX_DIGITS for part in parts):
        return None
    pre = match.group("dashed_pre") or match.group("pre") or ""
    numbers = (int(parts[0]), int(parts[1]), int(parts[2]), int(parts[3]))
    return Version(package, numbers, tuple(pre.split(".")) if pre else (), match.group("build")
                   or "")


def compare_versions(a: Version, b: Version) -> int | None:
    """-1, 0 or 1 as ``a`` is older than, as new as or newer than ``b``; None when the two
    are of different packages (their versions say nothing about each other)."""
    if a.package != b.package:
        return None
    key_a = (a.numbers, _pre_rank(a.pre), _build_rank(a.build))
    key_b = (b.numbers, _pre_rank(b.pre), _build_rank(b.build))
    return (key_a > key_b) - (key_a < key_b)


def _pre_rank(pre: tuple[str, ...]) -> tuple[int, tuple[tuple[int, int, str], ...]]:
    # No pre-release tag ranks above any; numeric identifiers rank below alphanumeric ones.
    if not pre:
        return (1, ())
    return (0, tuple((0, int(p), "") if p.isdigit() and len(p) <= _MAX_DIGITS else (1, 0, p)
                     for p in pre))


def _build_rank(build: str) -> int:
    # Only numeric build codes order releases; other build metadata is ignored, as semver says.
    return int(build) if build.isdigit() and len(build) <= _MAX_DIGITS else 0


def is_newer(
    release: str,
    than: str | None,
    first_seen: Mapping[str, datetime],
    resolved_at: datetime | None,
) -> bool:
    """Whether an event of ``release`` comes from a newer release than ``than``.

    ``first_seen`` maps the project's releases to their first appearance. When ``than`` is
    None (resolved "in the next release" while the project had no release yet) or the
    project never saw it, a release counts as newer when it first appeared after the
    resolution (``resolved_at``). An empty ``release`` (an event without one) is never
    newer: nothing says it runs the fix or not, and reopening on it would defeat
    resolving in a release for projects that only tag some of their events.
    """
    if not release or release == than:
        return False
    if than is not None:
        mine, theirs = parse_release(release), parse_release(than)
        if mine is not None and theirs is not None:
            order = compare_versions(mine, theirs)
            if order is not None:
                return order > 0
    seen = first_seen.get(release)
    if seen is None:
        return False  # cannot happen: the event's release was recorded just before
    reference = first_seen.get(than) if than is not None else None
    if reference is None:
        reference = resolved_at
    return reference is None or seen > reference
