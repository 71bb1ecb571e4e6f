"""The pure comparisons of ``faultline verify``: release-aware regressions, ignore
thresholds, the ledger and the slicing of event ids."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from faultline_processor.verify import _slices
from faultline_processor.verify_diff import LedgerRow, StoredEvent, compare_ledger, to_ms
from faultline_processor.verify_lifecycle import IssueStatus, LateEvents, check_lifecycle

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def status(status: str = "resolved", release: str | None = None, next_release: bool = False,
           until: datetime | None = None, times: int | None = None,
           users: int | None = None) -> IssueStatus:
    return IssueStatus(
        id=7, status=status, substatus=None, status_changed_at=T0,
        resolved_in_release=release, resolved_in_next_release=next_release,
        ignore_until=until, ignore_until_times_seen=times, ignore_until_users_seen=users,
    )


def late(release: str, at: datetime = T0 + HOUR) -> LateEvents:
    return LateEvents(7, release, 1, at, at)


def kinds(issue: IssueStatus, *events: LateEvents, times: int = 1, users: int = 0,
          first_seen: dict[str, datetime] | None = None) -> list[str]:
    found = check_lifecycle([issue], list(events), first_seen or {}, {7: times}, {7: users},
                            [])
    return [d.kind for d in found]


def test_plain_resolution_with_a_later_event_should_have_regressed() -> None:
    assert kinds(status(), late("")) == ["missed_regression"]
    assert kinds(status()) == []


def test_resolved_in_release_uses_the_processors_release_order() -> None:
    resolved = status(release="shop@2.0.0")
    seen = {"shop@1.9.0": T0 + HOUR, "shop@2.0.0": T0 - HOUR, "shop@2.1.0": T0 + HOUR}

    assert kinds(resolved, late("shop@1.9.0"), late(""), first_seen=seen) == []
    assert kinds(resolved, late("shop@2.0.0"), first_seen=seen) == []
    assert kinds(resolved, late("shop@2.1.0"), first_seen=seen) == ["missed_regression"]


def test_next_release_with_non_semver_releases_compares_first_appearance() -> None:
    resolved = status(release="abc123", next_release=True)
    seen = {"abc123": T0 - HOUR, "def456": T0 + HOUR}

    assert kinds(resolved, late("abc123"), first_seen=seen) == []
    assert kinds(resolved, late("def456"), first_seen=seen) == ["missed_regression"]


def test_ignored_issue_past_a_threshold_with_a_later_event_should_be_unresolved() -> None:
    assert kinds(status("ignored"), late("")) == []
    assert kinds(status("ignored", times=5), late(""), times=4) == []
    assert kinds(status("ignored", times=5), late(""), times=5) == ["missed_unignore"]
    assert kinds(status("ignored", users=2), late(""), users=2) == ["missed_unignore"]
    assert kinds(status("ignored", until=T0 + 2 * HOUR), late("")) == []
    assert kinds(status("ignored", until=T0 + HOUR / 2), late("")) == ["missed_unignore"]
    # Past the threshold but no event since: nothing could have unignored it.
    assert kinds(status("ignored", times=5), times=9) == []


def test_regressed_issue_without_activity_is_reported() -> None:
    found = check_lifecycle([], [], {}, {}, {}, [3])
    assert [(d.kind, d.issue_id) for d in found] == [("regression_without_activity", 3)]


def test_ledger_comparison_names_each_kind_of_mismatch() -> None:
    ids = [uuid.uuid4().hex for _ in range(5)]
    stored = [StoredEvent(ids[0], "a" * 32, to_ms(T0)), StoredEvent(ids[0], "b" * 32,
                                                                      to_ms(T0)),
              StoredEvent(ids[1], "a" * 32, to_ms(T0)), StoredEvent(ids[2], "c" * 32,
                                                                      to_ms(T0)),
              StoredEvent(ids[3], "a" * 32, to_ms(T0))]
    ledger = [LedgerRow(ids[0], 1, "a" * 32, T0), LedgerRow(ids[1], 2, "a" * 32, T0),
              LedgerRow(ids[2], 1, "c" * 32, T0 + HOUR), LedgerRow(ids[4], 1, None, T0)]

    found = compare_ledger(stored, ledger, {"a" * 32: 1, "b" * 32: 2})

    assert sorted((d.kind, d.subject) for d in found) == sorted([
        ("duplicate_event", ids[0]), ("ledger_issue", ids[1]), ("unknown_hash", "c" * 32),
        ("ledger_field", f"{ids[2]} timestamp"), ("ledger_missing", ids[3]),
        ("ledger_orphan", ids[4])])


def test_slices_cover_every_event_id_once() -> None:
    assert _slices(0, 10) == [("00000000-0000-0000-0000-000000000000", None)]
    slices = _slices(30, 10)
    assert len(slices) == 3
    assert [hi for _, hi in slices[:-1]] == [lo for lo, _ in slices[1:]]
    assert slices[0][0] == "00000000-0000-0000-0000-000000000000"
    assert slices[-1][1] is None
