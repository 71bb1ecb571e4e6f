"""uvicorn's httptools protocol with a bound on the request line plus headers.

httptools buffers a request's URL and headers for as long as a client keeps sending
them, so one connection could make the process hold gigabytes before any application
code (and its 431 check) runs. This protocol counts the bytes received while a request's
head is incomplete and answers 431, then closes the connection, once they pass
:data:`MAX_REQUEST_HEAD_BYTES`. Memory held per connection is then bounded by the limit
plus one read (asyncio reads at most 256 KiB at a time).

The refusal is a lingering close: the reply is written, the write side shut, reading
stopped, and the socket closed a moment later. Closing at once, with the client's bytes
still unread, would make the kernel reset the connection and the client might never
see the 431.
"""

from __future__ import annotations

import json
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

LINGER_S = 1.0

MAX_REQUEST_HEAD_BYTES = 64 * 1024
"""Above the relay's own 32 KiB header check, which answers in Sentry's error format."""


def _head_too_large_response(limit: int) -> bytes:
    detail = f"request line and headers exceed {limit} bytes"
    body = json.dumps({"detail": detail}).encode()
    return b"".join([
        b"HTTP/1.1 431 Request Header Fields Too Large\r\n",
        b"content-type: application/json\r\n",
        b"x-sentry-error: ", detail.encode("ascii"), b"\r\n",
        b"content-length: ", str(len(body)).encode("ascii"), b"\r\n",
        b"connection: close\r\n\r\n",
        body,
    ])


class BoundedHeadHttpToolsProtocol(HttpToolsProtocol):
    """Pass as ``uvicorn.Config(http=...)``; otherwise identical to uvicorn's default."""

    max_head_bytes = MAX_REQUEST_HEAD_BYTES

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head = True
        self._head_bytes = 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        started_in_head = self._in_head
        super().data_received(data)
        # A read that ends a body and starts the next request is not counted: that
        # undercounts by at most one read, and never counts body bytes as head bytes.
        if not (started_in_head and self._in_head) or self.transport.is_closing():
            return
        self._head_bytes += len(data)
        if self._head_bytes > self.max_head_bytes:
            self._refuse()

    def _refuse(self) -> None:
        transport = self.transport
        transport.write(_head_too_large_response(self.max_head_bytes))
        if transport.can_write_eof():
            transport.write_eof()
        transport.pause_reading()
        self.loop.call_later(LINGER_S, transport.close)
