"""The query service's gRPC server: the QueryService, grpc.health.v1 and latency metrics."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from faultline.v1 import query_pb2, query_pb2_grpc
from faultline_query.metrics import GRPC_REQUEST_SECONDS
from faultline_query.servicer import QueryServicer

log = logging.getLogger(__name__)

SERVICE_NAME: str = query_pb2.DESCRIPTOR.services_by_name["QueryService"].full_name
UnaryBehavior = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Awaitable[Any]]


def _status_label(context: grpc.aio.ServicerContext[Any, Any], failed: bool) -> str:
    """The status the call ended with: what the handler set, else OK or UNKNOWN."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    return "UNKNOWN" if failed else "OK"


def _timed(behavior: UnaryBehavior, method: str) -> UnaryBehavior:
    async def timed(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        started = time.perf_counter()
        failed = False
        try:
            return await behavior(request, context)
        except BaseException:
            failed = True
            raise
        finally:
            GRPC_REQUEST_SECONDS.labels(
                method=method, code=_status_label(context, failed)
            ).observe(time.perf_counter() - started)

    return timed


if TYPE_CHECKING:
    _ServerInterceptor = grpc.aio.ServerInterceptor[Any, Any]
else:  # generic only in grpc-stubs, not at run time
    _ServerInterceptor = grpc.aio.ServerInterceptor


class LatencyInterceptor(_ServerInterceptor):
    """Records each unary call's duration in ``faultline_grpc_request_seconds``.

    The method label is the full gRPC method name, a fixed set, so cardinality stays low.
    Streaming calls (the health service's Watch) are passed through untimed: their
    duration is how long a client watches, not how long the server worked.
    """

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any]]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any]:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        behavior: UnaryBehavior = handler.unary_unary  # type: ignore[assignment]
        return grpc.unary_unary_rpc_method_handler(
            _timed(behavior, handler_call_details.method),
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def _address(host: str, port: int) -> str:
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"{host}:{port}"


async def start_query_server_on(
    servicer: QueryServicer, host: str, port: int
) -> tuple[grpc.aio.Server, int]:
    """Start the server on ``host:port`` (``port`` 0: any free port); return it and the
    port it listens on. Health reports SERVING, for the server and for the
    QueryService, once the server has started."""
    server = grpc.aio.server(
        interceptors=[LatencyInterceptor()],
        # Without this, a second server could silently share the port (SO_REUSEPORT).
        options=[("grpc.so_reuseport", 0)],
    )
    query_pb2_grpc.add_QueryServiceServicer_to_server(servicer, server)  # type: ignore[no-untyped-call]
    # grpc-stubs only describes the threaded servicer; the asyncio one lives in ``aio``.
    health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    bound_port = server.add_insecure_port(_address(host, port))
    await server.start()
    for service in ("", SERVICE_NAME):
        await health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
    log.info("query service listening on %s:%d", host, bound_port)
    return server, bound_port


async def start_query_server(servicer: QueryServicer, host: str, port: int) -> grpc.aio.Server:
    """Start the query gRPC server on ``host:port``; stop it with ``await server.stop(grace)``."""
    server, _ = await start_query_server_on(servicer, host, port)
    return server
