"""The bounded-head HTTP protocol, on a real uvicorn server and real sockets."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn

from faultline_core.http_protocol import MAX_REQUEST_HEAD_BYTES, BoundedHeadHttpToolsProtocol


async def _echo_length(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers with the number of body bytes it read."""
    if scope["type"] != "http":
        return
    size = 0
    while True:
        message = await receive()
        size += len(message.get("body", b""))
        if not message.get("more_body"):
            break
    body = str(size).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(_echo_length, http=BoundedHeadHttpToolsProtocol, log_level="error",
                            lifespan="off")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(1000):  # uvicorn offers no event for "listening"
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "uvicorn did not start within 10 s"
    yield sock.getsockname()[1]
    server.should_exit = True
    await task
    sock.close()


async def _send(port: int, *parts: bytes) -> bytes:
    """Send ``parts`` (until the server stops reading) while reading the reply."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def write_all() -> None:
        with contextlib.suppress(ConnectionError):
            for part in parts:
                writer.write(part)
                await writer.drain()

    sending = asyncio.create_task(write_all())
    try:
        reply = b""
        with contextlib.suppress(ConnectionError):
            while chunk := await asyncio.wait_for(reader.read(65536), 10):
                reply += chunk
        return reply
    finally:
        sending.cancel()
        await asyncio.gather(sending, return_exceptions=True)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()


async def test_an_endless_header_is_cut_off_with_431(port: int) -> None:
    chunk = b"a" * 65536
    # 32 MiB of one header: the server must hang up long before it has all of it.
    parts = [b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ", *([chunk] * 512), b"\r\n\r\n"]

    reply = await _send(port, *parts)

    assert reply.startswith(b"HTTP/1.1 431 ")
    assert b'"detail"' in reply


async def test_an_endless_url_is_cut_off_with_431(port: int) -> None:
    reply = await _send(port, b"GET /" + b"a" * (MAX_REQUEST_HEAD_BYTES * 4))

    assert reply.startswith(b"HTTP/1.1 431 ")


async def test_large_bodies_and_keep_alive_requests_are_untouched(port: int) -> None:
    body = b"x" * (MAX_REQUEST_HEAD_BYTES * 8)
    request = (b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: "
               + str(len(body)).encode() + b"\r\n\r\n" + body)
    last = b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"

    # Head and body in one write, then three more requests on the same connection.
    reply = await _send(port, request, request, request, last)

    assert reply.count(b"HTTP/1.1 200 OK") == 4
    assert reply.count(b"\r\n\r\n" + str(len(body)).encode()) == 3
    assert b"431" not in reply


async def test_a_head_just_under_the_limit_is_served(port: int) -> None:
    header = b"X-Fill: " + b"b" * (MAX_REQUEST_HEAD_BYTES - 200) + b"\r\n"
    reply = await _send(port, b"GET / HTTP/1.1\r\nHost: x\r\n" + header
                        + b"Connection: close\r\n\r\n")

    assert reply.startswith(b"HTTP/1.1 200 OK")
