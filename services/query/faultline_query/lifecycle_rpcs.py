"""The lifecycle RPCs of ``faultline.v1.QueryService``: status and assignment updates,
merge and unmerge, grouping hashes, comments and the activity log.

The logic lives in :mod:`lifecycle`, :mod:`merge` and :mod:`activity`; this class only
validates the messages and converts results. Errors map to gRPC codes as in
:mod:`rpc_status`: INVALID_ARGUMENT, NOT_FOUND (also for another project's ids),
UNAVAILABLE for backend failures, INTERNAL otherwise.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime

from faultline.v1 import query_pb2, query_pb2_grpc
from faultline_core.storage.postgres.pool import Pool
from faultline_query import activity, convert, lifecycle, merge
from faultline_query.lifecycle_errors import Invalid
from faultline_query.rpc_status import Context, grpc_errors, positive


def _details(message: query_pb2.StatusDetails) -> lifecycle.Details:
    until = None
    if message.HasField("ignore_until"):
        until = message.ignore_until.ToDatetime(tzinfo=UTC)
    return lifecycle.Details(
        in_next_release=message.in_next_release, in_release=message.in_release,
        ignore_duration_minutes=message.ignore_duration_minutes,
        ignore_count=message.ignore_count, ignore_user_count=message.ignore_user_count,
        ignore_until=until,
    )


def _update(request: query_pb2.UpdateIssuesRequest) -> lifecycle.Update:
    status = None
    if request.status != query_pb2.ISSUE_STATUS_UNSPECIFIED:
        status = convert.STATUS_FROM_PROTO.get(request.status)
        if status is None:
            raise Invalid("unknown status")
    if request.assignee_user_id < 0:
        raise Invalid("assignee_user_id must not be negative")
    return lifecycle.Update(status, _details(request.status_details), request.set_assignee,
                            request.assignee_user_id)


def activity_message(row: activity.ActivityRow) -> query_pb2.Activity:
    """An activity row as its proto message (no user: 0 and an empty email)."""
    return query_pb2.Activity(
        id=row.id, issue_id=row.issue_id, type=row.type,
        data_json=json.dumps(row.data, sort_keys=True), user_id=row.user_id or 0,
        user_email=row.user_email or "", created=convert.timestamp(row.created_at),
    )


class LifecycleRpcs(query_pb2_grpc.QueryServiceServicer):
    """The lifecycle half of the query servicer; needs ``_pool`` and ``_clock``."""

    _pool: Pool
    _clock: Callable[[], datetime]

    @grpc_errors
    async def UpdateIssues(
        self, request: query_pb2.UpdateIssuesRequest, context: Context
    ) -> query_pb2.UpdateIssuesResponse:
        project_id = positive(request.project_id, "project_id")
        outcome = await lifecycle.update_issues(
            self._pool, project_id, list(request.issue_ids), _update(request),
            request.acting_user_id, self._clock(),
        )
        return query_pb2.UpdateIssuesResponse(
            issue_ids=outcome.issue_ids,
            status=convert.STATUS_TO_PROTO[outcome.status],
            status_details_json=json.dumps(outcome.details, sort_keys=True),
            assignee_user_id=outcome.assignee_id or 0,
            assignee_email=outcome.assignee_email or "",
            substatus=outcome.substatus or "",
        )

    @grpc_errors
    async def MergeIssues(
        self, request: query_pb2.MergeIssuesRequest, context: Context
    ) -> query_pb2.MergeIssuesResponse:
        project_id = positive(request.project_id, "project_id")
        result = await merge.merge_issues(
            self._pool, project_id, list(request.issue_ids), request.acting_user_id
        )
        return query_pb2.MergeIssuesResponse(parent_id=result.parent_id,
                                             child_ids=result.child_ids)

    @grpc_errors
    async def UnmergeHashes(
        self, request: query_pb2.UnmergeHashesRequest, context: Context
    ) -> query_pb2.UnmergeHashesResponse:
        project_id = positive(request.project_id, "project_id")
        issue_id = positive(request.issue_id, "issue_id")
        result = await merge.unmerge_hashes(
            self._pool, project_id, issue_id, list(request.hashes), request.acting_user_id
        )
        return query_pb2.UnmergeHashesResponse(source_id=result.source_id,
                                               destination_id=result.destination_id)

    @grpc_errors
    async def ListHashes(
        self, request: query_pb2.ListHashesRequest, context: Context
    ) -> query_pb2.ListHashesResponse:
        project_id = positive(request.project_id, "project_id")
        rows = await merge.list_hashes(
            self._pool, project_id, positive(request.issue_id, "issue_id")
        )
        return query_pb2.ListHashesResponse(hashes=[
            query_pb2.GroupHash(hash=row.hash, latest_event_id=row.latest_event_id,
                                event_count=row.event_count)
            for row in rows
        ])

    @grpc_errors
    async def AddComment(
        self, request: query_pb2.AddCommentRequest, context: Context
    ) -> query_pb2.Activity:
        project_id = positive(request.project_id, "project_id")
        row = await activity.add_comment(
            self._pool, project_id, positive(request.issue_id, "issue_id"), request.text,
            request.acting_user_id,
        )
        return activity_message(row)

    @grpc_errors
    async def ListActivity(
        self, request: query_pb2.ListActivityRequest, context: Context
    ) -> query_pb2.ListActivityResponse:
        project_id = positive(request.project_id, "project_id")
        rows = await activity.list_activity(
            self._pool, project_id, positive(request.issue_id, "issue_id"),
            request.limit or activity.DEFAULT_LIMIT,
        )
        return query_pb2.ListActivityResponse(activities=[activity_message(r) for r in rows])
