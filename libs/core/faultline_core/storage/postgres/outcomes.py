"""Hourly outcome counters per project (accepted, rate_limited, client_discard...)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from faultline_core.storage.postgres.tenancy import Conn


@dataclass(frozen=True)
class OutcomeKey:
    project_id: int
    bucket: datetime
    """The start of the hour, UTC."""
    outcome: str
    category: str
    reason: str = ""


def hour_bucket(epoch_s: float) -> datetime:
    """The start of the UTC hour holding ``epoch_s``."""
    return datetime.fromtimestamp(epoch_s - epoch_s % 3600, UTC)


async def add_outcomes(conn: Conn, counts: Iterable[tuple[OutcomeKey, int]]) -> None:
    """Add quantities to the hourly counters (merging equal keys first)."""
    merged: Counter[OutcomeKey] = Counter()
    for key, quantity in counts:
        if quantity > 0:
            merged[key] += quantity
    if not merged:
        return
    keys = sorted(merged, key=lambda k: (k.project_id, k.bucket, k.outcome, k.category, k.reason))
    await conn.execute(
        "INSERT INTO outcomes (project_id, bucket, outcome, category, reason, quantity)"
        " SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::text[], %s::text[],"
        " %s::text[], %s::bigint[])"
        " ON CONFLICT (project_id, bucket, outcome, category, reason)"
        " DO UPDATE SET quantity = outcomes.quantity + EXCLUDED.quantity",
        (
            [k.project_id for k in keys], [k.bucket for k in keys], [k.outcome for k in keys],
            [k.category for k in keys], [k.reason for k in keys], [merged[k] for k in keys],
        ),
    )
