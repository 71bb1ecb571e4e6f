"""What the processor counts an event with: its ledger row (``processed_events``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class EventRecord:
    """One stored event, to be counted on its issue.

    The last four fields are what the issue's other counters are made of; empty means the
    event has none (stored as NULL in the ledger).
    """

    project_id: int
    event_id: str
    issue_id: int
    timestamp: datetime
    received: datetime
    level: str
    title: str
    culprit: str
    primary_hash: str = ""
    user_key: str = ""
    """The event's user id, else email, else username, else IP (``UserInfo.key``)."""
    environment: str = ""
    release: str = ""


@dataclass(frozen=True)
class RecordResult:
    new: list[EventRecord]
    """The events counted now, in batch order."""
    duplicates: int
    """Events already counted before (redelivered), or repeated within the batch."""
