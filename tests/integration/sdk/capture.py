"""A stand-in Sentry endpoint for the SDK golden-fixture tests: it keeps what an SDK sends.

Each request's path, headers and body are recorded exactly as they came over the wire
(Content-Encoding is *not* undone: some tests assert the SDK compressed its body), and the
answer is the relay's: 200 with ``{"id": <event id>}``.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from faultline_core.compression import decompress

# Enough for any envelope an SDK test sends; only used to read the event id for the answer.
MAX_BODY_BYTES = 20 * 1024 * 1024
DEFAULT_PUBLIC_KEY = "0123456789abcdef0123456789abcdef"


@dataclass(frozen=True)
class CapturedRequest:
    """One request as received: header names lower-cased, body still content-encoded."""

    path: str
    headers: dict[str, str]
    body: bytes


class CaptureServer(ThreadingHTTPServer):
    """An HTTP server on 127.0.0.1 (a free port) that records every POST it receives."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _CaptureHandler)
        self._recorded: list[CapturedRequest] = []
        self._changed = threading.Condition()

    @property
    def port(self) -> int:
        return self.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def dsn(self, project_id: int = 42, public_key: str = DEFAULT_PUBLIC_KEY) -> str:
        """A DSN that makes an SDK send its events here."""
        return f"http://{public_key}@127.0.0.1:{self.port}/{project_id}"

    @property
    def requests(self) -> list[CapturedRequest]:
        """A snapshot of the requests received so far, in arrival order."""
        with self._changed:
            return list(self._recorded)

    def record(self, request: CapturedRequest) -> None:
        with self._changed:
            self._recorded.append(request)
            self._changed.notify_all()

    def wait_for_requests(self, count: int, timeout_s: float = 15) -> list[CapturedRequest]:
        """The requests once at least ``count`` arrived; TimeoutError if they do not."""
        deadline = time.monotonic() + timeout_s
        with self._changed:
            while len(self._recorded) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"expected {count} requests, got {len(self._recorded)}")
                self._changed.wait(remaining)
            return list(self._recorded)


class _CaptureHandler(BaseHTTPRequestHandler):
    # HTTP/1.1 because @sentry/node streams its bodies with chunked transfer encoding.
    protocol_version = "HTTP/1.1"
    server: CaptureServer

    def do_POST(self) -> None:
        body = self._read_body()
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.record(CapturedRequest(self.path, headers, body))
        answer = json.dumps({"id": _event_id(body, headers.get("content-encoding"))}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def _read_body(self) -> bytes:
        if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))
        chunks: list[bytes] = []
        while size := int(self.rfile.readline().split(b";")[0], 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()  # the CRLF that ends each chunk
        self.rfile.readline()  # the CRLF after the last (empty) chunk; no trailers expected
        return b"".join(chunks)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        """Keep the test output quiet."""


def _event_id(body: bytes, encoding: str | None) -> str:
    """The envelope header's event id, as the relay answers; a fresh one if there is none."""
    try:
        header = json.loads(decompress(body, encoding, MAX_BODY_BYTES).split(b"\n", 1)[0])
    except (ValueError, UnicodeDecodeError):  # compression errors are ValueErrors too
        return uuid.uuid4().hex
    event_id = header.get("event_id") if isinstance(header, dict) else None
    return event_id if isinstance(event_id, str) else uuid.uuid4().hex


@contextmanager
def capture_server() -> Iterator[CaptureServer]:
    """Serve a :class:`CaptureServer` in a background thread until the block ends."""
    server = CaptureServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
