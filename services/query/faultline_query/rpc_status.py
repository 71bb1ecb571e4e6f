"""How every RPC of ``faultline.v1.QueryService`` turns an exception into a gRPC status.

INVALID_ARGUMENT for malformed requests, NOT_FOUND for missing objects (also for another
project's ids), UNAVAILABLE when PostgreSQL or ClickHouse fails, INTERNAL (with a generic
message, the details only in the log) for anything unexpected. No stack trace ever
reaches a client.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import grpc
import psycopg

from faultline_core.storage.clickhouse.normalize import ClickHouseError
from faultline_query import issues

log = logging.getLogger(__name__)

Context = grpc.aio.ServicerContext[Any, Any]
S = TypeVar("S")
Req = TypeVar("Req")
Resp = TypeVar("Resp")

# A backend failure is the backend's fault, not the caller's: the client may retry.
BACKEND_ERRORS: tuple[type[Exception], ...] = (psycopg.OperationalError, ClickHouseError, OSError)


class InvalidArgument(Exception):
    """The request is malformed; the message is safe to show to the caller."""


class NotFound(Exception):
    """The object does not exist in the request's project; the message is safe to show."""


def grpc_errors(
    handler: Callable[[S, Req, Context], Awaitable[Resp]],
) -> Callable[[S, Req, Context], Coroutine[Any, Any, Resp]]:
    """Turn the exceptions of a handler into gRPC status codes with safe messages."""

    @functools.wraps(handler)
    async def wrapper(self: S, request: Req, context: Context) -> Resp:
        try:
            return await handler(self, request, context)
        except Exception as exc:
            code, message = _status_for(handler.__name__, exc)
        # abort() raises: the call ends with this status and message.
        return await context.abort(code, message)

    return wrapper


def _status_for(method: str, exc: Exception) -> tuple[grpc.StatusCode, str]:
    if isinstance(exc, InvalidArgument | issues.InvalidCursor):
        return grpc.StatusCode.INVALID_ARGUMENT, str(exc)
    if isinstance(exc, NotFound):
        return grpc.StatusCode.NOT_FOUND, str(exc)
    if isinstance(exc, BACKEND_ERRORS):
        log.warning("%s: storage backend failed", method, exc_info=exc)
        return grpc.StatusCode.UNAVAILABLE, "a storage backend is unavailable"
    log.error("%s failed", method, exc_info=exc)
    return grpc.StatusCode.INTERNAL, "internal error"


def positive(value: int, name: str) -> int:
    """``value`` if it is a positive id; INVALID_ARGUMENT otherwise."""
    if value <= 0:
        raise InvalidArgument(f"{name} must be a positive integer")
    return value
