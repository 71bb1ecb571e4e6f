"""Lifecycle consistency for ``faultline verify``: statuses that the events say should have
changed, by the processor's own rules (:mod:`faultline_processor.lifecycle`).

* A resolved issue with an event received after the resolution should have regressed,
  unless it was resolved in a release and the event's release is not newer
  (:func:`release_order.is_newer`, the processor's ordering, not a copy of it).
* An ignored issue with an event received after it was ignored should be unresolved once
  past its ``ignore_until`` (that event came later), or its count or user thresholds (the
  counts rebuilt from the events).
* A regressed issue has a ``set_regression`` activity.

"After" means after both the status change and the issue's last merge: events that were
counted on another issue that was merged in later never saw this issue's status. An event
counted in the instant between an API transaction starting and its commit can still be
reported; running verify again tells such a race from a real inconsistency.

Pure: :mod:`faultline_processor.verify` reads the rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from faultline_processor.release_order import is_newer
from faultline_processor.verify_diff import Difference


@dataclass(frozen=True)
class IssueStatus:
    """An issue's lifecycle columns."""

    id: int
    status: str
    substatus: str | None
    status_changed_at: datetime | None
    resolved_in_release: str | None
    resolved_in_next_release: bool
    ignore_until: datetime | None
    ignore_until_times_seen: int | None
    ignore_until_users_seen: int | None


@dataclass(frozen=True)
class LateEvents:
    """An issue's events of one release (``""``: none) received after its status changed
    and after its last merge."""

    issue_id: int
    release: str
    count: int
    first_received: datetime
    last_received: datetime


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _regression(issue: IssueStatus, late: Sequence[LateEvents],
                first_seen: Mapping[str, datetime]) -> Difference | None:
    release_resolved = issue.resolved_in_release is not None or issue.resolved_in_next_release
    for group in sorted(late, key=lambda g: g.first_received):
        if not release_resolved or is_newer(group.release, issue.resolved_in_release,
                                            first_seen, issue.status_changed_at):
            subject = (f"event of release {group.release!r} received"
                       f" {group.first_received.isoformat()} after resolution"
                       f" {_iso(issue.status_changed_at)}")
            return Difference("missed_regression", issue.id, subject, "unresolved",
                              "resolved")
    return None


def _unignore(issue: IssueStatus, late: Sequence[LateEvents], times_seen: int,
              users: int) -> Difference | None:
    if not late:
        return None
    last = max(group.last_received for group in late)
    reason = None
    if issue.ignore_until is not None and last > issue.ignore_until:
        reason = f"event received {last.isoformat()} after ignore_until"
    elif (issue.ignore_until_times_seen is not None
          and times_seen >= issue.ignore_until_times_seen):
        reason = f"times_seen {times_seen} reached {issue.ignore_until_times_seen}"
    elif (issue.ignore_until_users_seen is not None
          and users >= issue.ignore_until_users_seen):
        reason = f"users_seen {users} reached {issue.ignore_until_users_seen}"
    if reason is None:
        return None
    return Difference("missed_unignore", issue.id, reason, "unresolved", "ignored")


def check_lifecycle(
    issues: Sequence[IssueStatus],
    late: Sequence[LateEvents],
    first_seen: Mapping[str, datetime],
    times_seen: Mapping[int, int],
    users: Mapping[int, int],
    regressed_without_activity: Sequence[int],
) -> list[Difference]:
    """Status differences of resolved, ignored and regressed issues.

    ``first_seen``: the project's releases and their first appearance; ``times_seen`` and
    ``users``: the counts rebuilt from the events.
    """
    by_issue: dict[int, list[LateEvents]] = {}
    for group in late:
        by_issue.setdefault(group.issue_id, []).append(group)
    found: list[Difference] = []
    for issue in sorted(issues, key=lambda i: i.id):
        events = by_issue.get(issue.id, [])
        difference = None
        if issue.status == "resolved" and events:
            difference = _regression(issue, events, first_seen)
        elif issue.status == "ignored":
            difference = _unignore(issue, events, times_seen.get(issue.id, 0),
                                   users.get(issue.id, 0))
        if difference is not None:
            found.append(difference)
    found.extend(Difference("regression_without_activity", issue_id, "set_regression",
                            "an activity", None)
                 for issue_id in sorted(regressed_without_activity))
    return found
