"""The issue page's user feedback section: the newest reports about the issue's events."""

from __future__ import annotations

from dataclasses import dataclass

from faultline_web.context import WebContext
from faultline_web.feedback_store import StoredReport, issue_reports

MAX_SHOWN = 50


@dataclass(frozen=True)
class FeedbackSection:
    reports: list[StoredReport]
    more: bool
    """More reports exist than are shown (the API lists them all)."""
    api_url: str


async def issue_feedback(web: WebContext, project_id: int, issue_id: int) -> FeedbackSection:
    """The section's data; the template escapes every field (reports are user input)."""
    page = await issue_reports(web.pool, project_id, issue_id, MAX_SHOWN)
    return FeedbackSection(page.reports, bool(page.next_cursor),
                           f"/api/0/issues/{issue_id}/user-reports/")
