"""Building request bodies for the relay tests, and capturing what a real SDK sends."""

from __future__ import annotations

import json
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sentry_sdk
from sentry_sdk.transport import HttpTransport

from faultline_core.blobstore.local import LocalDirectoryBlobStore
from faultline_core.bus.embedded import EmbeddedConsumer
from faultline_core.messages import IngestMessage, decode_ingest_message

TOPIC = "ingest-events"


def compact(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def envelope(
    *items: tuple[dict[str, Any], bytes], header: dict[str, Any] | None = None
) -> bytes:
    """An envelope whose items carry explicit lengths (as the SDKs write them)."""
    lines = [compact(header or {})]
    for item_header, payload in items:
        lines.append(compact({**item_header, "length": len(payload)}))
        lines.append(payload)
    return b"\n".join(lines) + b"\n"


def event_item(event: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    return {"type": "event", "content_type": "application/json"}, compact(event)


def event_envelope(event: dict[str, Any], header: dict[str, Any] | None = None) -> bytes:
    return envelope(event_item(event), header=header)


def auth_header(public_key: str, secret: str | None = None) -> dict[str, str]:
    value = f"Sentry sentry_version=7, sentry_client=tests/1.0, sentry_key={public_key}"
    if secret is not None:
        value += f", sentry_secret={secret}"
    return {"X-Sentry-Auth": value}


async def published(consumer: EmbeddedConsumer) -> list[tuple[bytes | None, IngestMessage]]:
    """Everything on the events topic since the last call, as (key, message)."""
    messages = await consumer.poll(1000, 0)
    return [(m.key, decode_ingest_message(m.value)) for m in messages]


@dataclass
class SdkRequest:
    body: bytes
    headers: dict[str, str]


class _CapturingTransport(HttpTransport):
    """The SDK's own HTTP transport (serialisation, compression, auth header), minus
    the network: each request is recorded instead of sent."""

    def __init__(self, options: dict[str, Any]) -> None:
        super().__init__(options)
        self.sent: list[SdkRequest] = []

    def _send_request(
        self, body: bytes, headers: dict[str, str], endpoint_type: Any, envelope: Any = None
    ) -> None:
        self._update_headers(headers)
        self.sent.append(SdkRequest(bytes(body), dict(headers)))


def capture_sdk_exception(dsn: str) -> tuple[str, SdkRequest]:
    """Let the real sentry-sdk report an exception; return its event id and request."""
    client = sentry_sdk.Client(dsn=dsn, transport=_CapturingTransport, default_integrations=False)
    with sentry_sdk.isolation_scope() as scope:
        scope.set_client(client)
        try:
            raise ValueError("relay test failure")
        except ValueError as exc:
            event_id = scope.capture_exception(exc)
    client.flush(timeout=5)
    transport = client.transport
    client.close()
    assert isinstance(transport, _CapturingTransport)
    assert event_id is not None and len(transport.sent) == 1
    return str(event_id), transport.sent[0]


def scratch_blobs() -> LocalDirectoryBlobStore:
    """A blob store in a fresh temporary directory (created on the first put)."""
    directory = Path(tempfile.gettempdir()) / f"faultline-blobs-{uuid.uuid4().hex}"
    return LocalDirectoryBlobStore(directory)
