"""The ingestion endpoints SDKs post to: ``/api/{project_id}/envelope/`` and ``/store/``,
and the one browsers post CSP reports to: ``/api/{project_id}/security/``.

A request is answered 200 only after each of its events is durably on the bus; every
refusal is a ``{"detail": ...}`` body with an ``X-Sentry-Error`` header. Each endpoint is
registered with and without the trailing slash because SDKs do not follow redirects of
POST requests.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from faultline_core.security_reports import (
    SecurityReportError,
    csp_event,
    parse_security_reports,
)
from faultline_core.storage.postgres.tenancy import ProjectKey
from faultline_relay.auth import (
    Credentials,
    authenticate,
    credentials_from_dsn,
    credentials_from_header,
    credentials_from_query,
    merge_credentials,
)
from faultline_relay.body import (
    check_header_size,
    client_ip,
    decode_body,
    read_body,
    run_heavy,
)
from faultline_relay.context import RelayContext
from faultline_relay.errors import (
    CORS_ALLOW_HEADERS,
    CORS_HEADERS,
    Outcome,
    RelayError,
    error_response,
    invalid,
    ok_response,
    too_large,
)
from faultline_relay.ingest import IngestItem, parse_envelope_items, store_event
from faultline_relay.metrics import (
    RECEIVED_BYTES,
    REQUESTS,
)
from faultline_relay.minidump import ingest_minidump
from faultline_relay.publish import ingest_limits, publish_items

log = logging.getLogger(__name__)


def get_relay(request: Request) -> RelayContext:
    relay = getattr(request.app.state, "relay", None)
    if not isinstance(relay, RelayContext):
        raise RuntimeError("app.state.relay is not set: the relay was not started")
    return relay


async def _get_relay_dependency(request: Request) -> RelayContext:
    # async on purpose: FastAPI runs a plain ``def`` dependency in a worker thread, which
    # would cost a thread hop on every request.
    return get_relay(request)


Relay = Annotated[RelayContext, Depends(_get_relay_dependency)]

router = APIRouter()


async def _respond(endpoint: str, handle: Callable[[], Awaitable[Response]]) -> Response:
    """Run a handler; render its refusal, and never let an unexpected error escape."""
    try:
        response = await handle()
    except RelayError as error:
        REQUESTS.labels(endpoint, error.outcome.value).inc()
        return error_response(error)
    except Exception:
        log.exception("unexpected error while handling an %s request", endpoint)
        REQUESTS.labels(endpoint, Outcome.INTERNAL.value).inc()
        return error_response(RelayError(500, "internal error", Outcome.INTERNAL))
    REQUESTS.labels(endpoint, Outcome.ACCEPTED.value).inc()
    return response


async def _admit(
    relay: RelayContext, credentials: Credentials | None, project_id: str
) -> ProjectKey:
    """The authenticated key, unless one of its quotas is already used up.

    Only for bodies that hold events (store, security), so a refused client costs no body
    read; an envelope may carry nothing the quotas count, so it is charged once its items
    are known.
    """
    key = await authenticate(relay.keys, credentials, project_id)
    relay.probe_quotas(key)
    return key


async def _decoded_body(request: Request, relay: RelayContext, endpoint: str) -> bytes:
    raw = await read_body(
        request, relay.settings.max_compressed_bytes, relay.body_read_timeout_s
    )
    RECEIVED_BYTES.labels(endpoint).inc(len(raw))
    return await decode_body(
        raw,
        request.headers.get("content-encoding"),
        relay.settings.max_decompressed_bytes,
        relay.heavy_work,
    )


async def _publish(
    relay: RelayContext, request: Request, key: ProjectKey, items: list[IngestItem]
) -> Response:
    """Publish every item (after charging the rate limits); 200 once all are durable."""
    await publish_items(relay, key, items, client_ip(request, relay.trust_forwarded_for))
    event_ids = [item.event_id for item in items if item.is_event]
    return ok_response({"id": event_ids[0]} if event_ids else {})


async def _ingest_envelope(request: Request, relay: RelayContext, project_id: str) -> Response:
    check_header_size(request)
    # Credentials outside the body are checked first, so a bad key costs no decompression.
    outer = merge_credentials(
        credentials_from_header(request.headers.get("x-sentry-auth")),
        credentials_from_query(request.query_params),
    )
    key = await authenticate(relay.keys, outer, project_id) if outer is not None else None
    body = await _decoded_body(request, relay, "envelope")
    envelope, items = await run_heavy(
        relay.heavy_work, len(body), parse_envelope_items, body, ingest_limits(relay)
    )
    from_dsn = credentials_from_dsn(envelope.headers.get("dsn"))
    credentials = merge_credentials(outer, from_dsn)
    if key is None or credentials != outer:
        key = await authenticate(relay.keys, credentials, project_id)
    if not items:
        return ok_response({})
    return await _publish(relay, request, key, items)


async def _ingest_store(request: Request, relay: RelayContext, project_id: str) -> Response:
    check_header_size(request)
    credentials = merge_credentials(
        credentials_from_header(request.headers.get("x-sentry-auth")),
        credentials_from_query(request.query_params),
    )
    key = await _admit(relay, credentials, project_id)
    body = await _decoded_body(request, relay, "store")
    event = store_event(body, relay.settings.max_event_bytes)
    return await _publish(relay, request, key, [event])


def security_events(
    body: bytes, user_agent: str | None, max_event_bytes: int
) -> list[IngestItem]:
    """One event per CSP violation in a ``security`` body; 400 if malformed, 413 if huge."""
    try:
        reports = parse_security_reports(body)
    except SecurityReportError as exc:
        raise invalid(f"invalid security report: {exc}") from exc
    events: list[IngestItem] = []
    for report in reports:
        event_id = uuid.uuid4().hex
        payload = json.dumps(csp_event(report, event_id, user_agent)).encode()
        if len(payload) > max_event_bytes:
            raise too_large(f"security report exceeds {max_event_bytes} bytes")
        events.append(IngestItem(event_id, payload))
    return events


async def _ingest_security(request: Request, relay: RelayContext, project_id: str) -> Response:
    check_header_size(request)
    # Browsers cannot add headers to reports, so the key usually rides in the query string.
    credentials = merge_credentials(
        credentials_from_header(request.headers.get("x-sentry-auth")),
        credentials_from_query(request.query_params),
    )
    key = await _admit(relay, credentials, project_id)
    body = await _decoded_body(request, relay, "security")
    events = await run_heavy(
        relay.heavy_work, len(body), security_events, body,
        request.headers.get("user-agent"), relay.settings.max_event_bytes,
    )
    if events:
        await publish_items(
            relay, key, events, client_ip(request, relay.trust_forwarded_for)
        )
    # Sentry answers a report with 201 and no body; browsers ignore the response anyway.
    return Response(status_code=201, headers=dict(CORS_HEADERS))


@router.post("/api/{project_id}/envelope/")
@router.post("/api/{project_id}/envelope", include_in_schema=False)
async def envelope_endpoint(project_id: str, request: Request, relay: Relay) -> Response:
    """Accept a Sentry envelope; the items Faultline keeps go to the bus, others are skipped."""
    return await _respond("envelope", lambda: _ingest_envelope(request, relay, project_id))


@router.post("/api/{project_id}/store/")
@router.post("/api/{project_id}/store", include_in_schema=False)
async def store_endpoint(project_id: str, request: Request, relay: Relay) -> Response:
    """Accept one JSON event (the legacy endpoint)."""
    return await _respond("store", lambda: _ingest_store(request, relay, project_id))


@router.post("/api/{project_id}/security/")
@router.post("/api/{project_id}/security", include_in_schema=False)
async def security_endpoint(project_id: str, request: Request, relay: Relay) -> Response:
    """Accept browser CSP reports (``csp-report`` or Reporting API); each becomes an event."""
    return await _respond("security", lambda: _ingest_security(request, relay, project_id))


@router.post("/api/{project_id}/minidump/")
@router.post("/api/{project_id}/minidump", include_in_schema=False)
async def minidump_endpoint(project_id: str, request: Request, relay: Relay) -> Response:
    """Accept a native crash (Breakpad/Crashpad multipart upload); see :mod:`.minidump`."""
    return await _respond("minidump", lambda: ingest_minidump(request, relay, project_id))


@router.options("/api/{project_id}/envelope/", include_in_schema=False)
@router.options("/api/{project_id}/envelope", include_in_schema=False)
@router.options("/api/{project_id}/store/", include_in_schema=False)
@router.options("/api/{project_id}/store", include_in_schema=False)
@router.options("/api/{project_id}/security/", include_in_schema=False)
@router.options("/api/{project_id}/security", include_in_schema=False)
@router.options("/api/{project_id}/minidump/", include_in_schema=False)
@router.options("/api/{project_id}/minidump", include_in_schema=False)
async def cors_preflight(project_id: str) -> Response:
    """Let browser SDKs post from any origin."""
    return Response(
        status_code=200,
        headers={
            **CORS_HEADERS,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
            "Access-Control-Max-Age": "3600",
        },
    )
