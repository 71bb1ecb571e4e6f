"""The lifecycle RPCs of ``faultline.v1.QueryService``: status and assignment updates,
merge and unmerge, grouping hashes, comments and the activity log.

The logic lives in :mod:`lifecycle`, :mod:`merge` and :mod:`activity`; this class only
validates the messages and converts results. Errors map to gRPC codes as in
:mod:`servicer`: INVALID_ARGUMENT, NOT_FOUND (also for another project's ids),
UNAVAILABLE for backend failures, INTERNAL otherwise.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Awaitable, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

import grpc
import psycopg

from faultline.v1 import query_pb2, query_pb2_grpc
from faultline_core.storage.postgres.pool import Pool
from faultline_query import activity, convert, lifecycle, merge
from faultline_query.lifecycle_errors import Invalid, Missing

log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]
S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")


def _code_for(method: str, exc: Exception) -> tuple[grpc.StatusCode, str]:
    if isinstance(exc, Invalid):
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc)
    if isinstance(exc, Missing):
        return grpc.StatusCode.NOT_FOUND, str(exc)
    if isinstance(exc, psycopg.OperationalError | OSError):
        log.warning("%s: storage backend failed", method, exc_info=exc)
        return grpc.StatusCode.UNAVAILABLE, "a storage backend is unavailable"
    log.error("%s failed", method, exc_info=exc)
    return grpc.StatusCode.INTERNAL, "internal error"


def rpc_errors(
    handler: Callable[[S, Req, Context], Awaitable[Resp]],
) -> Callable[[S, Req, Context], Coroutine[Any, Any, Resp]]:
    """Turn the exceptions of a lifecycle handler into gRPC status codes."""

    @functools.wraps(handler)
    async def wrapper(self: S, request: Req, context: Context) -> Resp:
        try:
            return await handler(self, request, context)
        except Exception as exc:
            code, message = _code_for(handler.__name__, exc)
        return await context.abort(code, message)

    return wrapper


def _positive(value: int, name: str) -> int:
    if value <= 0:
        raise Invalid(f"{name} must be a positive integer")
    return value


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
    return query_pb2.Activity(
        id=row.id, issue_id=row.issue_id, type=row.type,
        data_json=json.dumps(row.data, sort_keys=True), user_id=row.user_id or 0,
        user_email=row.user_email or "", created=convert.timestamp(row.created_at),
    )


class LifecycleRpcs(query_pb2_grpc.QueryServiceServicer):
    """The lifecycle half of the query servicer; needs ``_pool`` and ``_clock``."""

    _pool: Pool
    _clock: Callable[[], datetime]

    @rpc_errors
    async def UpdateIssues(
        self, request: query_pb2.UpdateIssuesRequest, context: Context
    ) -> query_pb2.UpdateIssuesResponse:
        project_id = _positive(request.project_id, "project_id")
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

    @rpc_errors
    async def MergeIssues(
        self, request: query_pb2.MergeIssuesRequest, context: Context
    ) -> query_pb2.MergeIssuesResponse:
        project_id = _positive(request.project_id, "project_id")
        result = await merge.merge_issues(
            self._pool, project_id, list(request.issue_ids), request.acting_user_id
        )
        return query_pb2.MergeIssuesResponse(parent_id=result.parent_id,
                                             child_ids=result.child_ids)

    @rpc_errors
    async def UnmergeHashes(
        self, request: query_pb2.UnmergeHashesRequest, context: Context
    ) -> query_pb2.UnmergeHashesResponse:
        project_id = _positive(request.project_id, "project_id")
        issue_id = _positive(request.issue_id, "issue_id")
        result = await merge.unmerge_hashes(
            self._pool, project_id, issue_id, list(request.hashes), request.acting_user_id
        )
        return query_pb2.UnmergeHashesResponse(source_id=result.source_id,
                                               destination_id=result.destination_id)

    @rpc_errors
    async def ListHashes(
        self, request: query_pb2.ListHashesRequest, context: Context
    ) -> query_pb2.ListHashesResponse:
        project_id = _positive(request.project_id, "project_id")
        rows = await merge.list_hashes(
            self._pool, project_id, _positive(request.issue_id, "issue_id")
        )
        return query_pb2.ListHashesResponse(hashes=[
            query_pb2.GroupHash(hash=row.hash, latest_event_id=row.latest_event_id,
                                event_count=row.event_count)
            for row in rows
        ])

    @rpc_errors
    async def AddComment(
        self, request: query_pb2.AddCommentRequest, context: Context
    ) -> query_pb2.Activity:
        project_id = _positive(request.project_id, "project_id")
        row = await activity.add_comment(
            self._pool, project_id, _positive(request.issue_id, "issue_id"), request.text,
            request.acting_user_id,
        )
        return activity_message(row)

    @rpc_errors
    async def ListActivity(
        self, request: query_pb2.ListActivityRequest, context: Context
    ) -> query_pb2.ListActivityResponse:
        project_id = _positive(request.project_id, "project_id")
        rows = await activity.list_activity(
            self._pool, project_id, _positive(request.issue_id, "issue_id"),
            request.limit or activity.DEFAULT_LIMIT,
        )
        return query_pb2.ListActivityResponse(activities=[activity_message(r) for r in rows])
