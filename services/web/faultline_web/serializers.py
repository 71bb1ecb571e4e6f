"""Query-service replies rendered in the JSON shapes of Sentry's web API.

Sentry quirks kept on purpose: ids and ``count`` are strings, ``userCount`` is a number,
timestamps are ISO 8601 in UTC with a ``Z`` suffix.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from faultline.v1 import query_pb2
from faultline_core.storage.postgres.tenancy import Project
from faultline_web import eventdata
from faultline_web.store import IssueStatusName

_STATUS_NAMES: dict[int, IssueStatusName] = {
    query_pb2.ISSUE_STATUS_UNRESOLVED: "unresolved",
    query_pb2.ISSUE_STATUS_RESOLVED: "resolved",
    query_pb2.ISSUE_STATUS_IGNORED: "ignored",
}
_SHORT_ID_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_TAG_LABELS = {"url": "URL", "os": "OS", "os.name": "OS Name", "user": "User"}
_HEX = re.compile(r"[0-9a-f]+")


def to_datetime(timestamp: Timestamp) -> datetime:
    return timestamp.ToDatetime(tzinfo=UTC)


def iso8601(moment: Timestamp | datetime) -> str:
    """Sentry's timestamp format: UTC with a ``Z``, microseconds only when there are any."""
    if isinstance(moment, Timestamp):
        moment = to_datetime(moment)
    moment = moment.astimezone(UTC)
    spec = "microseconds" if moment.microsecond else "seconds"
    return moment.isoformat(timespec=spec).replace("+00:00", "Z")


def status_name(status: int) -> IssueStatusName:
    return _STATUS_NAMES.get(status, "unresolved")


def short_id(project_slug: str, issue_id: int) -> str:
    """A readable issue reference in Sentry's ``PROJECT-XYZ`` form (base 36 of the id)."""
    digits = ""
    number = issue_id
    while True:
        number, remainder = divmod(number, 36)
        digits = _SHORT_ID_DIGITS[remainder] + digits
        if number == 0:
            break
    return f"{project_slug.upper()}-{digits}"


def issue_permalink(base_url: str, project: Project, issue_id: int) -> str:
    base = base_url.rstrip("/")
    return f"{base}/{project.organization_slug}/{project.slug}/issues/{issue_id}/"


def project_json(project: Project) -> dict[str, Any]:
    return {
        "id": str(project.id),
        "slug": project.slug,
        "name": project.name,
        "platform": project.platform,
    }


def _metadata(metadata_json: str) -> dict[str, Any]:
    try:
        metadata = json.loads(metadata_json) if metadata_json else {}
    except ValueError:
        return {}
    return metadata if isinstance(metadata, dict) else {}


def issue_json(issue: query_pb2.Issue, project: Project, base_url: str) -> dict[str, Any]:
    """One issue in the shape of Sentry's group list and group details."""
    return {
        "id": str(issue.id),
        "shortId": short_id(project.slug, issue.id),
        "title": issue.title,
        "culprit": issue.culprit,
        "level": issue.level or "error",
        "status": status_name(issue.status),
        "statusDetails": _metadata(issue.status_details_json),
        "substatus": issue.substatus or None,
        "count": str(issue.count),
        "userCount": int(issue.user_count),
        "firstSeen": iso8601(issue.first_seen),
        "lastSeen": iso8601(issue.last_seen),
        "project": project_json(project),
        "metadata": _metadata(issue.metadata_json),
        "type": issue.type or "default",
        "platform": issue.platform or project.platform or "other",
        "permalink": issue_permalink(base_url, project, issue.id),
        "logger": None,
        "isPublic": False,
        "shareId": None,
        "hasSeen": False,
        "isBookmarked": False,
        "isSubscribed": False,
        "assignedTo": assignee_json(issue.assignee_user_id, issue.assignee_email),
        "numComments": 0,
        "annotations": [],
    }


def seen_in_json(seen: query_pb2.IssueSeenIn) -> dict[str, Any]:
    """One environment or release of an issue with its own first/last seen and count."""
    return {
        "name": seen.name,
        "firstSeen": iso8601(seen.first_seen),
        "lastSeen": iso8601(seen.last_seen),
        "count": int(seen.times_seen),
    }


def short_version(version: str) -> str:
    """Sentry's display form of a release: without its ``package@`` prefix, and a commit
    hash cut to 12 characters."""
    at = version.find("@", 1)  # a leading "@" belongs to a scoped npm package name
    short = version[at + 1:] if at > 0 else version
    if len(short) in (32, 40, 64) and _HEX.fullmatch(short):
        return short[:12]
    return short or version


def release_json(seen: query_pb2.IssueSeenIn) -> dict[str, Any]:
    """Sentry's ``firstRelease`` / ``lastRelease`` object. Faultline knows a release only
    from its events, so ``dateCreated`` is when the issue first saw it."""
    return {
        "version": seen.name,
        "shortVersion": short_version(seen.name),
        "dateCreated": iso8601(seen.first_seen),
        "firstEvent": iso8601(seen.first_seen),
        "lastEvent": iso8601(seen.last_seen),
    }


def seen_in_details(issue: query_pb2.Issue) -> dict[str, Any]:
    """The group-details fields about where the issue was seen: Sentry's ``firstRelease``
    and ``lastRelease`` (the releases first seen earliest and latest, or None) and
    Faultline's ``environments`` and ``releases`` lists."""
    releases = list(issue.releases)  # first seen first
    return {
        "firstRelease": release_json(releases[0]) if releases else None,
        "lastRelease": release_json(releases[-1]) if releases else None,
        "environments": [seen_in_json(seen) for seen in issue.environments],
        "releases": [seen_in_json(seen) for seen in releases],
    }


def assignee_json(user_id: int, email: str) -> dict[str, Any] | None:
    """Sentry's ``assignedTo``: the assigned user, or None."""
    if not user_id:
        return None
    return {"type": "user", "id": str(user_id), "name": email, "email": email}


def volume_points(volume: query_pb2.EventVolumeResponse) -> list[list[int]]:
    """Sentry's ``[[unix_seconds, count], ...]`` series, oldest first."""
    return [[int(bucket.start.seconds), int(bucket.count)] for bucket in volume.buckets]


def tag_label(key: str) -> str:
    return _TAG_LABELS.get(key) or key.replace("_", " ").replace(".", " ").title()


def tag_key_json(tag: query_pb2.TagKeyBreakdown, with_values: bool) -> dict[str, Any]:
    body: dict[str, Any] = {
        "key": tag.key,
        "name": tag_label(tag.key),
        "totalValues": int(tag.total),
        "uniqueValues": int(tag.unique_values),
    }
    if with_values:
        body["topValues"] = [
            {
                "key": tag.key,
                "name": value.value,
                "value": value.value,
                "count": int(value.count),
                "firstSeen": iso8601(value.first_seen),
                "lastSeen": iso8601(value.last_seen),
            }
            for value in tag.top_values
        ]
    return body


def tags_json(breakdown: query_pb2.TagBreakdownResponse, with_values: bool) -> list[dict[str, Any]]:
    return [tag_key_json(tag, with_values) for tag in breakdown.tags]


def _request_entry(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "request",
        "data": {
            "method": request.get("method"),
            "url": request.get("url"),
            "query": [list(pair) for pair in eventdata.query_pairs(request.get("query_string"))],
            "fragment": request.get("fragment"),
            "data": request.get("data"),
            "inferredContentType": request.get("inferred_content_type"),
            "headers": [list(pair) for pair in eventdata.pairs(request.get("headers"))],
            "cookies": [list(pair) for pair in eventdata.cookie_pairs(request.get("cookies"))],
            "env": request.get("env"),
        },
    }


def event_entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    """Sentry's ``entries`` list: the event's interfaces in display order."""
    entries: list[dict[str, Any]] = []
    exceptions = eventdata.exceptions_of(data)
    if exceptions:
        has_system = any(
            frame.get("in_app") is not True
            for exception in exceptions
            for frame in eventdata.frames_of(exception)
        )
        entries.append(
            {"type": "exception", "data": {"values": exceptions, "hasSystemFrames": has_system}}
        )
    message = eventdata.message_of(data)
    if message:
        entries.append({"type": "message", "data": {"formatted": message}})
    request = eventdata.request_of(data)
    if request:
        entries.append(_request_entry(request))
    breadcrumbs = eventdata.breadcrumbs_of(data)
    if breadcrumbs:
        entries.append({"type": "breadcrumbs", "data": {"values": breadcrumbs}})
    return entries


def event_json(event: query_pb2.Event) -> dict[str, Any]:
    """The full stored event plus Sentry's event-details fields."""
    data = eventdata.load_event_data(event.data_json)
    body = dict(data)
    body.update(
        {
            "id": event.event_id,
            "eventID": event.event_id,
            "groupID": str(event.issue_id),
            "projectID": str(event.project_id),
            "dateCreated": iso8601(event.timestamp),
            "tags": [{"key": key, "value": value} for key, value in eventdata.tags_of(data)],
            "entries": event_entries(data),
        }
    )
    return body
