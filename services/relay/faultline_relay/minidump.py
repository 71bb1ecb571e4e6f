"""The minidump endpoint: native crash reports from Breakpad, Crashpad and custom uploaders.

Sentry's protocol: a ``multipart/form-data`` POST with the dump in the file field
``upload_file_minidump`` (or, for ``application/octet-stream``/``application/x-dmp``
bodies, the whole body is the dump). The other fields describe the event:

* ``sentry`` (and ``sentry___<anything>``): JSON event attributes, merged in order;
* ``sentry__1``, ``sentry__2``...: one JSON document split into chunks (Electron);
* ``sentry[tags][key]=value``: one nested attribute per field (Breakpad's limit on
  annotation values rules out JSON);
* any other text field goes to the event's ``extra``; any other file is an attachment.

The dump may itself be gzip- or zstd-compressed, besides the body's Content-Encoding.
Faultline does not symbolicate: the dump is stored as an ``event.minidump`` attachment of
a synthetic ``native crash`` event. Like Sentry's relay, the answer is the event id as
plain text, and a rate-limited crash is answered 200 as well (crash reporters retry on
errors, which would only repeat the refusal).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import uuid
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import PlainTextResponse, Response

from faultline_core.compression import DecompressionError, PayloadTooLarge, decompress
from faultline_core.envelope import parse_event_id
from faultline_relay.auth import (
    authenticate,
    credentials_from_header,
    credentials_from_query,
    merge_credentials,
)
from faultline_relay.body import check_header_size, client_ip, decode_body, read_body
from faultline_relay.context import RelayContext
from faultline_relay.errors import CORS_HEADERS, RelayError, invalid, too_large
from faultline_relay.ingest import ATTACHMENT, IngestItem, IngestLimits
from faultline_relay.metrics import RECEIVED_BYTES
from faultline_relay.multipart import FormPart, MultipartError, boundary_of, parse_multipart
from faultline_relay.publish import ingest_limits, publish_items

log = logging.getLogger(__name__)

MINIDUMP_FIELD = "upload_file_minidump"
MINIDUMP_CONTENT_TYPE = "application/x-dmp"
MINIDUMP_ATTACHMENT_TYPE = "event.minidump"
RAW_FILENAME = "Minidump"
# Little- and big-endian minidump signatures.
_MAGICS = (b"MDMP", b"PMDM")
# Compression containers a dump may come in: magic bytes, coding, file name suffix.
_CONTAINERS = ((b"\x1f\x8b", "gzip", ".gz"), (b"\x28\xb5\x2f\xfd", "zstd", ".zst"))
_RAW_CONTENT_TYPES = frozenset({"application/octet-stream", "application/x-dmp"})
# The native SDK's msgpack event and breadcrumbs; not decoded yet, so not kept either
# (they are the SDK's transport, not files a user attached).
_SDK_PAYLOAD_FIELDS = frozenset({"__sentry-event", "__sentry-breadcrumb1", "__sentry-breadcrumb2"})
MAX_FORM_KEY_DEPTH = 7
_MAX_TEXT = 200
_BRACKETS = re.compile(r"sentry((?:\[[^\[\]]*\])+)")
_CHUNK = re.compile(r"sentry__([0-9]{1,4})")


@dataclass(frozen=True)
class MinidumpUpload:
    """What a minidump request carries, before the event is built."""

    dump: bytes
    filename: str
    fields: list[FormPart]
    """Text fields, in order."""
    files: list[FormPart]
    """Other files, to store as attachments."""


def _text(value: str | None, default: str) -> str:
    cleaned = "".join(ch for ch in (value or "") if ch.isprintable()).strip()
    return cleaned[:_MAX_TEXT] or default


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def read_upload(body: bytes, content_type: str | None) -> MinidumpUpload:
    """Split a minidump request body into the dump, text fields and other files; 400 if
    malformed or without ``upload_file_minidump``."""
    if _media_type(content_type) in _RAW_CONTENT_TYPES:
        return MinidumpUpload(body, RAW_FILENAME, [], [])
    try:
        parts = parse_multipart(body, boundary_of(content_type))
    except MultipartError as exc:
        raise invalid(f"invalid minidump upload: {exc}") from exc
    dumps = [part for part in parts if part.name == MINIDUMP_FIELD]
    if not dumps:
        raise invalid(f"missing minidump upload: no {MINIDUMP_FIELD} field")
    if len(dumps) > 1:
        raise invalid(f"several {MINIDUMP_FIELD} fields in one upload")
    others = [part for part in parts if part.name != MINIDUMP_FIELD]
    return MinidumpUpload(
        dumps[0].data,
        _text(dumps[0].filename, RAW_FILENAME),
        [part for part in others if not part.is_file],
        [part for part in others if part.is_file and part.name not in _SDK_PAYLOAD_FIELDS],
    )


def decode_dump(data: bytes, filename: str, max_bytes: int) -> tuple[bytes, str]:
    """The dump with any compression container undone (bounded), checked for the minidump
    signature; and its file name without the container's suffix. 400 or 413."""
    for magic, coding, suffix in _CONTAINERS:
        if data.startswith(magic):
            try:
                data = decompress(data, coding, max_bytes)
            except PayloadTooLarge as exc:
                raise too_large(f"decompressed minidump exceeds {max_bytes} bytes") from exc
            except DecompressionError as exc:
                raise invalid(f"invalid {coding} container around the minidump: {exc}") from exc
            filename = filename.removesuffix(suffix) or RAW_FILENAME
            break
    if len(data) > max_bytes:
        raise too_large(f"minidump exceeds {max_bytes} bytes")
    if not data.startswith(_MAGICS):
        raise invalid(f"{MINIDUMP_FIELD} is not a minidump (no MDMP signature)")
    return data, filename


def crash_event() -> dict[str, Any]:
    """What Faultline knows of a crash without symbolication."""
    return {
        "platform": "native",
        "level": "fatal",
        "exception": {"values": [{
            "type": "Minidump",
            "value": "native crash",
            "mechanism": {"type": "minidump", "handled": False, "synthetic": True},
        }]},
    }


def merge_into(target: dict[str, Any], incoming: dict[str, Any]) -> None:
    """Deep-merge ``incoming`` into ``target``: objects merge key by key, the rest replaces."""
    for key, value in incoming.items():
        current = target.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merge_into(current, value)
        else:
            target[key] = value


def _merge_json(target: dict[str, Any], text: str) -> None:
    try:
        value = json.loads(text)
    except ValueError:
        return  # as in Sentry: a broken attribute document is ignored, the crash is kept
    if isinstance(value, dict):
        merge_into(target, value)


def _set_nested(target: dict[str, Any], keys: list[str], value: str) -> None:
    node = target
    for key in keys[:-1]:
        child = node.get(key)
        if not isinstance(child, dict):
            child = node[key] = {}
        node = child
    node[keys[-1]] = value


def event_from_fields(fields: list[FormPart]) -> dict[str, Any]:
    """The event attributes the form's text fields describe (Sentry's rules, see above)."""
    event: dict[str, Any] = {}
    chunks: dict[int, str] = {}
    for field in fields:
        name, value = field.name, field.text()
        chunk = _CHUNK.fullmatch(name)
        brackets = _BRACKETS.fullmatch(name)
        if name == "sentry" or name.startswith("sentry___"):
            _merge_json(event, value)
        elif chunk is not None:
            chunks[int(chunk.group(1))] = value
        elif brackets is not None:
            keys = brackets.group(1)[1:-1].split("][")
            if len(keys) <= MAX_FORM_KEY_DEPTH:
                _set_nested(event, keys, value)
        else:
            _set_nested(event, ["extra", name], value)
    if chunks:
        _merge_json(event, "".join(chunks[index] for index in sorted(chunks)))
    return event


def _event_item(fields: list[FormPart], max_event_bytes: int) -> IngestItem:
    event = crash_event()
    try:
        merge_into(event, event_from_fields(fields))
        raw_id = event.get("event_id")
        event_id = uuid.uuid4().hex if raw_id is None else parse_event_id(raw_id)
        if event_id is None:
            raise invalid("event_id must be 32 hex characters or a UUID")
        event["event_id"] = event_id
        payload = json.dumps(event, separators=(",", ":")).encode()
    except RecursionError as exc:
        raise invalid("minidump event attributes are nested too deeply") from exc
    if len(payload) > max_event_bytes:
        raise too_large(f"minidump event attributes exceed {max_event_bytes} bytes")
    return IngestItem(event_id, payload)


def _attachment(event_id: str, data: bytes, meta: dict[str, Any]) -> IngestItem:
    return IngestItem(
        event_id, b"", ATTACHMENT, uuid.uuid4().hex, {**meta, "size": len(data)}, data
    )


def minidump_items(
    body: bytes, content_type: str | None, limits: IngestLimits
) -> list[IngestItem]:
    """The event and attachments of a minidump upload (the event first); 400 or 413."""
    upload = read_upload(body, content_type)
    dump, filename = decode_dump(upload.dump, upload.filename, limits.max_attachment_bytes)
    event = _event_item(upload.fields, limits.max_event_bytes)
    items = [event, _attachment(event.event_id, dump, {
        "filename": filename, "content_type": MINIDUMP_CONTENT_TYPE,
        "attachment_type": MINIDUMP_ATTACHMENT_TYPE,
    })]
    for part in upload.files:
        if len(part.data) > limits.max_attachment_bytes:
            raise too_large(f"attachment {part.name!r} exceeds {limits.max_attachment_bytes} bytes")
        meta = {"filename": _text(part.filename, _text(part.name, "attachment")),
                "attachment_type": "event.attachment"}
        if part.content_type:
            meta["content_type"] = _text(part.content_type, "application/octet-stream")
        items.append(_attachment(event.event_id, part.data, meta))
    return items


async def _read(request: Request, relay: RelayContext) -> bytes:
    raw = await read_body(request, relay.settings.max_compressed_bytes, relay.body_read_timeout_s)
    RECEIVED_BYTES.labels("minidump").inc(len(raw))
    return await decode_body(
        raw, request.headers.get("content-encoding"), relay.settings.max_decompressed_bytes,
        relay.heavy_work,
    )


async def ingest_minidump(request: Request, relay: RelayContext, project_id: str) -> Response:
    """Authenticate, parse and publish one minidump upload; the event id as plain text."""
    check_header_size(request)
    credentials = merge_credentials(
        credentials_from_header(request.headers.get("x-sentry-auth")),
        credentials_from_query(request.query_params),
    )
    key = await authenticate(relay.keys, credentials, project_id)
    body = await _read(request, relay)
    # Always off the event loop: a small body may hold a compressed dump that inflates
    # to max_attachment_bytes, so its size says nothing about the work.
    async with relay.heavy_work:
        items = await asyncio.to_thread(
            minidump_items, body, request.headers.get("content-type"), ingest_limits(relay)
        )
    try:
        await publish_items(relay, key, items, client_ip(request, relay.trust_forwarded_for))
    except RelayError as error:
        if error.status_code != 429:
            raise
        log.debug("minidump %s dropped: rate limited", items[0].event_id)
    return PlainTextResponse(items[0].event_id, headers=dict(CORS_HEADERS))
