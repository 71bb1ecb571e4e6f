"""Request bodies under hard limits: reading, decompressing, and the client's address.

Decompression runs on the event loop only up to :data:`INLINE_WORK_BYTES` of output;
bigger bodies are decoded again in a worker thread, a few at a time, so neither a large
envelope nor a decompression bomb can stall the loop that serves everyone else.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Callable
from typing import TypeVar

from starlette.requests import ClientDisconnect, Request

from faultline_core.compression import (
    DecompressionError,
    PayloadTooLarge,
    UnsupportedEncoding,
    decompress,
)
from faultline_relay.errors import Outcome, RelayError, invalid, too_large

INLINE_WORK_BYTES = 1024 * 1024
# A client gets this long to send its whole body; a slow trickle (slowloris) would
# otherwise hold a connection and a pending request open indefinitely.
BODY_READ_TIMEOUT_S = 60.0

# SDKs send a handful of short headers. The HTTP server (httptools) puts no bound on
# them, so the relay refuses an oversized header block before doing any work for it.
MAX_HEADER_BYTES = 32 * 1024

T = TypeVar("T")


def check_header_size(request: Request) -> None:
    """431 when the request's headers together exceed :data:`MAX_HEADER_BYTES`."""
    size = sum(len(name) + len(value) + 4 for name, value in request.headers.raw)
    if size > MAX_HEADER_BYTES:
        raise RelayError(
            431, f"request headers exceed {MAX_HEADER_BYTES} bytes", Outcome.INVALID
        )


def _declared_length(request: Request) -> int | None:
    text = request.headers.get("content-length")
    if text is None:
        return None
    text = text.strip()
    if not text.isascii() or not text.isdigit():
        raise invalid("invalid Content-Length header")
    return int(text)


async def read_body(
    request: Request, max_bytes: int, timeout_s: float = BODY_READ_TIMEOUT_S
) -> bytes:
    """The raw (still compressed) body; 413 as soon as it is known to pass ``max_bytes``,
    408 when it has not fully arrived within ``timeout_s``.

    A declared ``Content-Length`` over the limit is refused before reading anything;
    a chunked body is refused at the first chunk that passes it.
    """
    declared = _declared_length(request)
    if declared is not None and declared > max_bytes:
        raise too_large(f"request body exceeds {max_bytes} bytes")
    chunks: list[bytes] = []
    received = 0
    try:
        async with asyncio.timeout(timeout_s):
            async for chunk in request.stream():
                received += len(chunk)
                if received > max_bytes:
                    raise too_large(f"request body exceeds {max_bytes} bytes")
                chunks.append(chunk)
    except ClientDisconnect as exc:
        raise invalid("client disconnected before sending the whole body") from exc
    except TimeoutError as exc:
        raise RelayError(
            408, f"request body not received within {timeout_s:g} s", Outcome.INVALID
        ) from exc
    return b"".join(chunks)


def _decompress(raw: bytes, content_encoding: str | None, max_bytes: int) -> bytes:
    try:
        return decompress(raw, content_encoding, max_bytes)
    except UnsupportedEncoding as exc:
        raise RelayError(415, str(exc), Outcome.INVALID) from exc
    except DecompressionError as exc:
        raise invalid(str(exc)) from exc


async def run_heavy(
    slots: asyncio.Semaphore, size: int, work: Callable[..., T], *args: object
) -> T:
    """Run ``work(*args)`` inline when ``size`` is small, else in a thread holding a slot."""
    if size <= INLINE_WORK_BYTES:
        return work(*args)
    async with slots:
        return await asyncio.to_thread(work, *args)


async def decode_body(
    raw: bytes, content_encoding: str | None, max_bytes: int, slots: asyncio.Semaphore
) -> bytes:
    """``raw`` with its ``Content-Encoding`` undone; 400, 413 or 415 on bad input."""
    inline_limit = min(max_bytes, INLINE_WORK_BYTES)
    try:
        return _decompress(raw, content_encoding, inline_limit)
    except PayloadTooLarge as exc:
        if max_bytes <= inline_limit:
            raise too_large(f"decompressed body exceeds {max_bytes} bytes") from exc
    try:
        async with slots:
            return await asyncio.to_thread(_decompress, raw, content_encoding, max_bytes)
    except PayloadTooLarge as exc:
        raise too_large(f"decompressed body exceeds {max_bytes} bytes") from exc


def client_ip(request: Request, trust_forwarded_for: bool) -> str | None:
    """The client's address: the socket peer, or the first valid ``X-Forwarded-For`` hop
    when the relay sits behind a trusted proxy."""
    if trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        first = forwarded.split(",", 1)[0].strip()
        if first:
            try:
                return str(ipaddress.ip_address(first))
            except ValueError:
                pass
    return request.client.host if request.client else None
