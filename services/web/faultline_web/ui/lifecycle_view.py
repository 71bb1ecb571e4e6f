"""What the issue page shows of the lifecycle: the status buttons and the activity log."""

from __future__ import annotations

import json
from typing import Any

from faultline.v1 import query_pb2
from faultline_web.context import WebContext
from faultline_web.serializers import iso8601

RESOLVED = query_pb2.ISSUE_STATUS_RESOLVED
IGNORED = query_pb2.ISSUE_STATUS_IGNORED
# A status button: (status, statusDetails, label).
StatusAction = tuple[query_pb2.IssueStatus, query_pb2.StatusDetails, str]
# The status buttons by form value.
STATUS_ACTIONS: dict[str, StatusAction] = {
    "resolved": (RESOLVED, query_pb2.StatusDetails(), "Resolve"),
    "resolved_next_release": (RESOLVED, query_pb2.StatusDetails(in_next_release=True),
                              "Resolve in next release"),
    "ignored": (IGNORED, query_pb2.StatusDetails(), "Ignore forever"),
    "ignored_30m": (IGNORED, query_pb2.StatusDetails(ignore_duration_minutes=30),
                    "Ignore for 30 minutes"),
    "ignored_100": (IGNORED, query_pb2.StatusDetails(ignore_count=100),
                    "Ignore until 100 more events"),
    "unresolved": (query_pb2.ISSUE_STATUS_UNRESOLVED, query_pb2.StatusDetails(), "Unresolve"),
}


def status_buttons() -> list[tuple[str, str]]:
    """(form value, label) of every status button, for the issue page."""
    return [(value, label) for value, (_, _, label) in STATUS_ACTIONS.items()]


async def activity_rows(web: WebContext, project_id: int, issue_id: int) -> list[
    dict[str, Any]
]:
    """The issue's activity for the page: newest first, with who and what."""
    reply = await web.query.list_activity(project_id, issue_id)
    return [
        {"type": item.type.replace("_", " "), "who": item.user_email or "Faultline",
         "when": iso8601(item.created), "text": json.loads(item.data_json).get("text", "")
         if item.type == "note" else ""}
        for item in reply.activities
    ]
