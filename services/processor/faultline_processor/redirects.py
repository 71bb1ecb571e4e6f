"""Events whose issue was retired between resolving and counting them.

A batch resolves its issues in one transaction and counts its events in a later one; an
issue merged away or retired by a regroup in between has an ``issue_redirects`` row, and
its events are counted on the issue it redirects to instead of being left uncounted.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection

from faultline_core.storage.postgres.redirects import redirected_issues
from faultline_processor.event_record import EventRecord


async def follow_redirects(
    conn: AsyncConnection[Any], records: Sequence[EventRecord]
) -> list[EventRecord]:
    """``records`` with retired issue ids replaced by the issue they redirect to."""
    moved = await redirected_issues(conn, {(r.project_id, r.issue_id) for r in records})
    if not moved:
        return list(records)
    return [
        dataclasses.replace(r, issue_id=moved[r.issue_id]) if r.issue_id in moved else r
        for r in records
    ]
