"""A thin async client for the query service (gRPC), with a deadline on every call.

gRPC failures become :class:`QueryError`, an ``HTTPException`` carrying the HTTP status
the gateway should answer with, so route handlers need no translation code of their own.
"""

from __future__ import annotations

import logging
import time
from typing import Any, TypeVar

import grpc
from fastapi import HTTPException
from grpc_health.v1 import health_pb2, health_pb2_grpc

from faultline.v1 import query_pb2, query_pb2_grpc
from faultline_web.metrics import QUERY_RPC_LATENCY

log = logging.getLogger(__name__)

QUERY_SERVICE_NAME = "faultline.v1.QueryService"

_Response = TypeVar("_Response")

# What the gateway answers when the query service fails; anything unexpected is a 502.
_HTTP_STATUS = {
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 503,
}


class QueryError(HTTPException):
    """A failed query-service call, as the HTTP error the gateway returns."""

    def __init__(self, status_code: int, detail: str, code: grpc.StatusCode) -> None:
        super().__init__(status_code=status_code, detail=detail)
        self.code = code


def query_error(exc: grpc.aio.AioRpcError) -> QueryError:
    code = exc.code()
    status = _HTTP_STATUS.get(code, 502)
    if status == 404:
        detail = "The requested resource does not exist"
    elif status == 400:
        detail = exc.details() or "Invalid request"
    elif status == 503:
        detail = "The query service is unavailable"
    else:
        detail = "The query service failed"
        log.warning("query service error %s: %s", code.name, exc.details())
    return QueryError(status, detail, code)


class QueryClient:
    """Typed calls to ``faultline.v1.QueryService`` over one shared channel."""

    def __init__(self, channel: grpc.aio.Channel, timeout_s: float = 5.0) -> None:
        self._channel = channel
        self._timeout_s = timeout_s
        self._stub: Any = query_pb2_grpc.QueryServiceStub(channel)  # type: ignore[no-untyped-call]
        self._health: Any = health_pb2_grpc.HealthStub(channel)

    @classmethod
    def connect(cls, address: str, timeout_s: float = 5.0) -> QueryClient:
        """A client on a new insecure channel to ``address`` (``host:port``)."""
        return cls(grpc.aio.insecure_channel(address), timeout_s)

    async def close(self) -> None:
        await self._channel.close(None)

    async def _call(self, method: str, request: Any, response_type: type[_Response]) -> _Response:
        started = time.perf_counter()
        code = grpc.StatusCode.OK
        try:
            response = await getattr(self._stub, method)(request, timeout=self._timeout_s)
        except grpc.aio.AioRpcError as exc:
            code = exc.code()
            raise query_error(exc) from exc
        finally:
            QUERY_RPC_LATENCY.labels(method, code.name).observe(time.perf_counter() - started)
        if not isinstance(response, response_type):
            raise QueryError(502, "The query service sent an unexpected reply", code)
        return response

    async def list_issues(
        self, request: query_pb2.ListIssuesRequest
    ) -> query_pb2.ListIssuesResponse:
        return await self._call("ListIssues", request, query_pb2.ListIssuesResponse)

    async def get_issue(self, project_id: int, issue_id: int) -> query_pb2.Issue:
        request = query_pb2.GetIssueRequest(project_id=project_id, issue_id=issue_id)
        return await self._call("GetIssue", request, query_pb2.Issue)

    async def get_event(self, project_id: int, event_id: str) -> query_pb2.Event:
        request = query_pb2.GetEventRequest(project_id=project_id, event_id=event_id)
        return await self._call("GetEvent", request, query_pb2.Event)

    async def latest_event(self, project_id: int, issue_id: int) -> query_pb2.Event:
        request = query_pb2.LatestEventRequest(project_id=project_id, issue_id=issue_id)
        return await self._call("LatestEvent", request, query_pb2.Event)

    async def event_volume(
        self, project_id: int, issue_id: int, volume_range: query_pb2.VolumeRange
    ) -> query_pb2.EventVolumeResponse:
        request = query_pb2.EventVolumeRequest(
            project_id=project_id, issue_id=issue_id, range=volume_range
        )
        return await self._call("EventVolume", request, query_pb2.EventVolumeResponse)

    async def tag_breakdown(
        self, project_id: int, issue_id: int, top_n: int = 10
    ) -> query_pb2.TagBreakdownResponse:
        request = query_pb2.TagBreakdownRequest(
            project_id=project_id, issue_id=issue_id, top_n=top_n
        )
        return await self._call("TagBreakdown", request, query_pb2.TagBreakdownResponse)

    async def search_logs(
        self, request: query_pb2.SearchLogsRequest
    ) -> query_pb2.SearchLogsResponse:
        return await self._call("SearchLogs", request, query_pb2.SearchLogsResponse)

    # --- the issue lifecycle (writes go through the query service only) ---

    async def update_issues(
        self, request: query_pb2.UpdateIssuesRequest
    ) -> query_pb2.UpdateIssuesResponse:
        return await self._call("UpdateIssues", request, query_pb2.UpdateIssuesResponse)

    async def merge_issues(
        self, project_id: int, issue_ids: list[int], user_id: int
    ) -> query_pb2.MergeIssuesResponse:
        request = query_pb2.MergeIssuesRequest(
            project_id=project_id, issue_ids=issue_ids, acting_user_id=user_id
        )
        return await self._call("MergeIssues", request, query_pb2.MergeIssuesResponse)

    async def unmerge_hashes(
        self, project_id: int, issue_id: int, hashes: list[str], user_id: int
    ) -> query_pb2.UnmergeHashesResponse:
        request = query_pb2.UnmergeHashesRequest(
            project_id=project_id, issue_id=issue_id, hashes=hashes, acting_user_id=user_id
        )
        return await self._call("UnmergeHashes", request, query_pb2.UnmergeHashesResponse)

    async def list_hashes(self, project_id: int, issue_id: int) -> query_pb2.ListHashesResponse:
        request = query_pb2.ListHashesRequest(project_id=project_id, issue_id=issue_id)
        return await self._call("ListHashes", request, query_pb2.ListHashesResponse)

    async def add_comment(
        self, project_id: int, issue_id: int, text: str, user_id: int
    ) -> query_pb2.Activity:
        request = query_pb2.AddCommentRequest(
            project_id=project_id, issue_id=issue_id, text=text, acting_user_id=user_id
        )
        return await self._call("AddComment", request, query_pb2.Activity)

    async def list_activity(
        self, project_id: int, issue_id: int
    ) -> query_pb2.ListActivityResponse:
        request = query_pb2.ListActivityRequest(project_id=project_id, issue_id=issue_id)
        return await self._call("ListActivity", request, query_pb2.ListActivityResponse)

    async def is_serving(self) -> bool:
        """Whether the query service's ``grpc.health.v1`` check says SERVING."""
        request = health_pb2.HealthCheckRequest(service=QUERY_SERVICE_NAME)
        try:
            reply = await self._health.Check(request, timeout=min(self._timeout_s, 2.0))
        except grpc.aio.AioRpcError as exc:
            log.info("query service health check failed: %s", exc.code().name)
            return False
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)
