"""The server around the servicer: health checking, latency metrics, request validation
and the status codes clients get when a backend is down."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import REGISTRY
from pydantic import SecretStr

from faultline.v1 import query_pb2
from faultline_core.settings import PostgresSettings
from faultline_core.storage.clickhouse.chdb import ChdbClickHouse
from faultline_core.storage.postgres.pool import open_pool
from faultline_query.server import SERVICE_NAME
from tests.unit.query.conftest import QueryService, insert_issue, running_service

Call = Callable[[QueryService], Awaitable[Any]]


async def test_health_reports_serving(service: QueryService) -> None:
    health = health_pb2_grpc.HealthStub(service.channel)
    for name in ("", SERVICE_NAME):
        response = await health.Check(health_pb2.HealthCheckRequest(service=name))
        assert response.status == health_pb2.HealthCheckResponse.SERVING
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await health.Check(health_pb2.HealthCheckRequest(service="no.such.Service"))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


def _observations(method: str, code: str) -> float:
    value = REGISTRY.get_sample_value(
        "faultline_grpc_request_seconds_count",
        {"method": f"/faultline.v1.QueryService/{method}", "code": code},
    )
    return value or 0.0


async def test_latency_is_recorded_by_method_and_status(service: QueryService) -> None:
    project = service.tenants.project_a
    ok_before = _observations("ListIssues", "OK")
    missing_before = _observations("GetIssue", "NOT_FOUND")
    invalid_before = _observations("GetIssue", "INVALID_ARGUMENT")
    await service.stub.ListIssues(query_pb2.ListIssuesRequest(project_id=project))
    for request in (query_pb2.GetIssueRequest(project_id=project, issue_id=999),
                    query_pb2.GetIssueRequest(project_id=0, issue_id=1)):
        with pytest.raises(grpc.aio.AioRpcError):
            await service.stub.GetIssue(request)
    assert _observations("ListIssues", "OK") == ok_before + 1
    assert _observations("GetIssue", "NOT_FOUND") == missing_before + 1
    assert _observations("GetIssue", "INVALID_ARGUMENT") == invalid_before + 1


INVALID_REQUESTS: dict[str, Call] = {
    "list_project_zero": lambda s: s.stub.ListIssues(query_pb2.ListIssuesRequest(project_id=0)),
    "list_project_negative": lambda s: s.stub.ListIssues(
        query_pb2.ListIssuesRequest(project_id=-4)),
    "list_limit_too_big": lambda s: s.stub.ListIssues(
        query_pb2.ListIssuesRequest(project_id=1, limit=101)),
    "list_limit_negative": lambda s: s.stub.ListIssues(
        query_pb2.ListIssuesRequest(project_id=1, limit=-1)),
    "list_bad_cursor": lambda s: s.stub.ListIssues(
        query_pb2.ListIssuesRequest(project_id=1, cursor="garbage!")),
    "list_unknown_status": lambda s: s.stub.ListIssues(
        query_pb2.ListIssuesRequest(project_id=1, status=42)),  # type: ignore[arg-type]
    "list_unknown_sort": lambda s: s.stub.ListIssues(
        query_pb2.ListIssuesRequest(project_id=1, sort=42)),  # type: ignore[arg-type]
    "issue_zero": lambda s: s.stub.GetIssue(query_pb2.GetIssueRequest(project_id=1)),
    "event_id_short": lambda s: s.stub.GetEvent(
        query_pb2.GetEventRequest(project_id=1, event_id="abc")),
    "event_id_not_hex": lambda s: s.stub.GetEvent(
        query_pb2.GetEventRequest(project_id=1, event_id="g" * 32)),
    "event_id_sql": lambda s: s.stub.GetEvent(
        query_pb2.GetEventRequest(project_id=1, event_id="' OR 1=1 --")),
    "event_id_trailing_newline": lambda s: s.stub.GetEvent(
        query_pb2.GetEventRequest(project_id=1, event_id="a" * 32 + "\n")),
    "event_project_zero": lambda s: s.stub.GetEvent(
        query_pb2.GetEventRequest(project_id=0, event_id="a" * 32)),
    "latest_issue_zero": lambda s: s.stub.LatestEvent(
        query_pb2.LatestEventRequest(project_id=1, issue_id=0)),
    "volume_issue_negative": lambda s: s.stub.EventVolume(
        query_pb2.EventVolumeRequest(project_id=1, issue_id=-1)),
    "volume_day_buckets_over_24h": lambda s: s.stub.EventVolume(query_pb2.EventVolumeRequest(
        project_id=1, range=query_pb2.VOLUME_RANGE_24H, interval=query_pb2.VOLUME_INTERVAL_DAY)),
    "volume_unknown_range": lambda s: s.stub.EventVolume(
        query_pb2.EventVolumeRequest(project_id=1, range=9)),  # type: ignore[arg-type]
    "tags_top_n_too_big": lambda s: s.stub.TagBreakdown(
        query_pb2.TagBreakdownRequest(project_id=1, top_n=101)),
    "tags_empty_key": lambda s: s.stub.TagBreakdown(
        query_pb2.TagBreakdownRequest(project_id=1, keys=["browser", ""])),
    "tags_too_many_keys": lambda s: s.stub.TagBreakdown(
        query_pb2.TagBreakdownRequest(project_id=1, keys=[f"k{n}" for n in range(51)])),
}


@pytest.mark.parametrize("name", sorted(INVALID_REQUESTS))
async def test_invalid_arguments(service: QueryService, name: str) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await INVALID_REQUESTS[name](service)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert error.value.details()


async def test_clickhouse_down_is_unavailable_without_internals(
    service: QueryService, chdb_path: Path
) -> None:
    project = service.tenants.project_a
    await insert_issue(service.pool, project)
    database = getattr(service.clickhouse, "database")  # noqa: B009 - chDB adapter attribute
    broken = await ChdbClickHouse.open(chdb_path, database)
    await broken.close()
    async with running_service(broken, service.pool, service.tenants) as down:
        calls: list[Awaitable[Any]] = [
            down.stub.GetEvent(query_pb2.GetEventRequest(project_id=project, event_id="a" * 32)),
            down.stub.ListIssues(query_pb2.ListIssuesRequest(project_id=project)),
            down.stub.EventVolume(query_pb2.EventVolumeRequest(project_id=project)),
        ]
        for call in calls:
            with pytest.raises(grpc.aio.AioRpcError) as error:
                await call
            assert error.value.code() == grpc.StatusCode.UNAVAILABLE
            assert error.value.details() == "a storage backend is unavailable"


async def test_postgres_down_is_unavailable(service: QueryService, pg_dsn: str) -> None:
    closed_pool = await open_pool(PostgresSettings(dsn=SecretStr(pg_dsn)))
    await closed_pool.close()
    async with running_service(service.clickhouse, closed_pool, service.tenants) as down:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await down.stub.ListIssues(
                query_pb2.ListIssuesRequest(project_id=service.tenants.project_a)
            )
    assert error.value.code() == grpc.StatusCode.UNAVAILABLE
    assert error.value.details() == "a storage backend is unavailable"
