"""Parsing of Sentry's issue-update bodies (``PUT /issues/{id}/`` and the bulk form).

Accepted: ``status`` (resolved, unresolved, ignored, and Sentry's resolvedInNextRelease),
``statusDetails`` (inNextRelease, inRelease, ignoreDuration, ignoreCount,
ignoreUserCount, ignoreUntil), ``assignedTo`` (``user:<id>``, an email, or null) and, in
bulk, ``merge``. Anything else that is malformed raises :class:`BodyError` (a 400).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faultline.v1 import query_pb2

STATUSES: dict[str, query_pb2.IssueStatus] = {
    "resolved": query_pb2.ISSUE_STATUS_RESOLVED,
    "resolvedInNextRelease": query_pb2.ISSUE_STATUS_RESOLVED,
    "unresolved": query_pb2.ISSUE_STATUS_UNRESOLVED,
    "ignored": query_pb2.ISSUE_STATUS_IGNORED,
}
_INT_DETAILS = {
    "ignoreDuration": "ignore_duration_minutes",
    "ignoreCount": "ignore_count",
    "ignoreUserCount": "ignore_user_count",
}
MAX_COUNT = 10**12


def is_issue_id(text: str) -> bool:
    """Whether ``text`` is a positive id that fits PostgreSQL's BIGINT."""
    return text.isascii() and text.isdigit() and 0 < int(text) < 2**63


class BodyError(ValueError):
    """The body is not a valid update; the message is the 400's ``detail``."""


@dataclass(frozen=True)
class Assignee:
    """``assignedTo``: a user id, an email to look up, or nobody (both empty)."""

    user_id: int = 0
    email: str = ""


@dataclass(frozen=True)
class IssueUpdate:
    status: query_pb2.IssueStatus
    details: query_pb2.StatusDetails
    assignee: Assignee | None
    merge: bool


def _status_details(status: str, raw: Any) -> query_pb2.StatusDetails:
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise BodyError("statusDetails must be an object")
    details = query_pb2.StatusDetails()
    details.in_next_release = status == "resolvedInNextRelease"
    if "inNextRelease" in raw:
        if not isinstance(raw["inNextRelease"], bool):
            raise BodyError("statusDetails.inNextRelease must be a boolean")
        details.in_next_release = details.in_next_release or raw["inNextRelease"]
    if raw.get("inRelease") is not None:
        if not isinstance(raw["inRelease"], str) or not 0 < len(raw["inRelease"]) <= 250:
            raise BodyError("statusDetails.inRelease must be a release version")
        details.in_release = raw["inRelease"]
    for key, field in _INT_DETAILS.items():
        value = raw.get(key)
        if value is None:
            continue
        if type(value) is not int or not 0 < value <= MAX_COUNT:
            raise BodyError(f"statusDetails.{key} must be a positive integer")
        setattr(details, field, value)
    if raw.get("ignoreUntil") is not None:
        details.ignore_until.FromDatetime(_moment(raw["ignoreUntil"]))
    return details


def _moment(value: Any) -> datetime:
    try:
        if not isinstance(value, str):
            raise ValueError
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise BodyError("statusDetails.ignoreUntil must be an ISO 8601 timestamp") from exc
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _assignee(value: Any) -> Assignee:
    if value is None or value == "":
        return Assignee()
    if isinstance(value, str) and value.startswith("user:"):
        digits = value.removeprefix("user:")
        if is_issue_id(digits):
            return Assignee(user_id=int(digits))
    elif isinstance(value, str) and "@" in value and len(value) <= 320:
        return Assignee(email=value)
    raise BodyError("assignedTo must be 'user:<id>', a user's email, or null")


def parse_update(body: Any, *, bulk: bool = False) -> IssueUpdate:
    """The update a JSON body asks for; BodyError when it asks for nothing valid."""
    if not isinstance(body, dict):
        raise BodyError("the body must be a JSON object")
    merge = bool(bulk and body.get("merge") in (1, True, "1", "true"))
    status = query_pb2.ISSUE_STATUS_UNSPECIFIED
    details = query_pb2.StatusDetails()
    if "status" in body:
        name = body["status"]
        if not isinstance(name, str) or name not in STATUSES:
            raise BodyError(f"status must be one of {', '.join(STATUSES)}")
        status = STATUSES[name]
        details = _status_details(name, body.get("statusDetails"))
    elif body.get("statusDetails"):
        raise BodyError("statusDetails needs a status")
    assignee = _assignee(body["assignedTo"]) if "assignedTo" in body else None
    if status == query_pb2.ISSUE_STATUS_UNSPECIFIED and assignee is None and not merge:
        raise BodyError(f"status must be one of {', '.join(STATUSES)}")
    return IssueUpdate(status, details, assignee, merge)
