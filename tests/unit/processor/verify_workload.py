"""A mixed workload for ``faultline verify``: events through the real processor, then
resolves (plain and in the next release), an ignore with a count, a merge and an unmerge
through the query service's own functions, and the events that follow each of them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from faultline_core.storage.postgres.pool import Pool
from faultline_query.lifecycle import Details, Update, update_issues
from faultline_query.merge import merge_issues, unmerge_hashes
from tests.unit.processor.conftest import Pipeline, python_error
from tests.unit.processor.lifecycle_helpers import rows


@dataclass(frozen=True)
class Workload:
    """The issue ids the workload ended with, by role."""

    regressed: int
    """Resolved, then regressed by a later event (users u1, u2; production and staging)."""
    next_release: int
    """Resolved in the next release; a later event of the same release left it resolved."""
    unignored: int
    """Ignored for two more events, which came: unresolved again."""
    ignored: int
    """Ignored forever; a later event left it ignored."""
    merged: int
    """The merge target (after one hash was unmerged from it again)."""
    unmerged: int
    """The unmerge destination, which got another event afterwards."""
    events: int


def error(kind: str, **fields: Any) -> dict[str, Any]:
    """An event of issue ``kind`` (its exception type), with ``fields`` set on it."""
    payload = python_error(kind, f"{kind} happened")
    payload.update(fields)
    return payload


async def issue_of(pipeline: Pipeline, kind: str) -> int:
    found = await rows(pipeline.pool, "SELECT id FROM issues WHERE title LIKE %s",
                       f"{kind}:%")
    return int(found[0]["id"])


async def set_status(pool: Pool, project_id: int, issue_id: int, status: str,
                     details: Details | None = None) -> None:
    await update_issues(pool, project_id, [issue_id], Update(status, details or Details()),
                        0, datetime.now(UTC))


async def run_workload(pipeline: Pipeline) -> Workload:
    """Publish and process everything; returns the issues by role."""
    for payload in (error("RegressError", user={"id": "u1"}),
                    error("RegressError", user={"id": "u2"}, environment="staging"),
                    error("RegressError", user={"id": "u1"}),
                    error("NextReleaseError"), error("IgnoreCountError"),
                    error("IgnoreForeverError", user={"email": "a@example.com"}),
                    error("IgnoreForeverError"), error("MergeAError"),
                    error("MergeAError", release="shop@1.5.0"), error("MergeBError")):
        await pipeline.publish(payload)
    await pipeline.process_all()
    pool, project = pipeline.pool, pipeline.project_id
    ids = {kind: await issue_of(pipeline, kind) for kind in (
        "RegressError", "NextReleaseError", "IgnoreCountError", "IgnoreForeverError",
        "MergeAError", "MergeBError")}
    await set_status(pool, project, ids["RegressError"], "resolved")
    await set_status(pool, project, ids["NextReleaseError"], "resolved",
                     Details(in_next_release=True))
    await set_status(pool, project, ids["IgnoreCountError"], "ignored",
                     Details(ignore_count=2))
    await set_status(pool, project, ids["IgnoreForeverError"], "ignored")
    b_hashes = [r["hash"] for r in await rows(
        pool, "SELECT hash FROM grouphashes WHERE issue_id = %s", ids["MergeBError"])]
    merged = await merge_issues(pool, project, [ids["MergeAError"], ids["MergeBError"]], 0)
    unmerged = await unmerge_hashes(pool, project, merged.parent_id, b_hashes, 0)
    # The events after the status changes, merge and unmerge (latest release: shop@1.5.0).
    for payload in (error("RegressError", user={"id": "u3"}, release="shop@1.4.2"),
                    error("NextReleaseError", release="shop@1.5.0"),
                    error("IgnoreCountError"), error("IgnoreCountError"),
                    error("IgnoreForeverError"), error("MergeBError"),
                    error("MergeAError")):
        await pipeline.publish(payload)
    await pipeline.process_all()
    return Workload(ids["RegressError"], ids["NextReleaseError"], ids["IgnoreCountError"],
                    ids["IgnoreForeverError"], merged.parent_id, unmerged.destination_id,
                    events=17)
