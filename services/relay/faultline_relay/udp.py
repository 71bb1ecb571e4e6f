"""The legacy Sentry UDP listener: one event per datagram, nothing ever answered.

A datagram is ``<X-Sentry-Auth value>\\n\\n<body>``, the body raw JSON or
base64(zlib(JSON)) as raven-python sent it. There is no URL, so the DSN key alone names
the project. Authentication, rate limits, size limits and publishing are the HTTP
``/store/`` path's own functions; since no refusal can reach the sender, every datagram
is counted in ``faultline_relay_udp_datagrams_total{outcome}`` and drops are logged at
debug level only (a flood of junk must not flood the logs).
"""

from __future__ import annotations

import asyncio
import logging

from faultline_relay.auth import authenticate_key, credentials_from_header
from faultline_relay.context import RelayContext
from faultline_relay.errors import Outcome, RelayError, invalid, too_large
from faultline_relay.ingest import store_event
from faultline_relay.metrics import UDP_DATAGRAMS
from faultline_relay.publish import publish_items

log = logging.getLogger(__name__)

# The largest UDP payload there is (IPv4); the protocol's "up to 64 KiB".
MAX_DATAGRAM_BYTES = 65_535
# Each datagram in flight holds its bytes and possibly a database connection; beyond
# this many, new datagrams are dropped rather than queued without bound.
DEFAULT_MAX_IN_FLIGHT = 256
OVERLOADED = "overloaded"
_SEPARATOR = b"\n\n"


def split_datagram(data: bytes, max_bytes: int) -> tuple[str, bytes]:
    """The auth header value and the body of one datagram; 400/413 when malformed."""
    if len(data) > max_bytes:
        raise too_large(f"datagram exceeds {max_bytes} bytes")
    header, separator, body = data.partition(_SEPARATOR)
    if not separator:
        raise invalid("datagram has no blank line between auth header and body")
    try:
        return header.decode("ascii"), body
    except UnicodeDecodeError as exc:
        raise invalid("datagram auth header is not ASCII") from exc


async def handle_datagram(relay: RelayContext, data: bytes, ip: str | None) -> None:
    """Authenticate, check and publish one datagram's event; raises :class:`RelayError`."""
    max_bytes = min(MAX_DATAGRAM_BYTES, relay.settings.max_compressed_bytes)
    header, body = split_datagram(data, max_bytes)
    key = await authenticate_key(relay.keys, credentials_from_header(header))
    event = store_event(body, relay.settings.max_event_bytes)
    await publish_items(relay, key, [event], ip)


class SentryUdpProtocol(asyncio.DatagramProtocol):
    """Hands each datagram to :func:`handle_datagram` in its own task, at most
    ``max_in_flight`` at a time."""

    def __init__(self, relay: RelayContext, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT) -> None:
        self._relay = relay
        self._max_in_flight = max_in_flight
        # Holding the tasks keeps them from being garbage-collected mid-flight.
        self._in_flight: set[asyncio.Task[None]] = set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(self._in_flight) >= self._max_in_flight:
            UDP_DATAGRAMS.labels(OVERLOADED).inc()
            log.debug("UDP datagram dropped: %d already in flight", len(self._in_flight))
            return
        ip = str(addr[0]) if addr else None
        task = asyncio.get_running_loop().create_task(self._handle(data, ip))
        self._in_flight.add(task)
        task.add_done_callback(self._in_flight.discard)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP listener socket error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        # UDP promises nothing, so events still in flight at shutdown may be dropped.
        for task in self._in_flight:
            task.cancel()

    async def _handle(self, data: bytes, ip: str | None) -> None:
        try:
            await handle_datagram(self._relay, data, ip)
        except RelayError as error:
            UDP_DATAGRAMS.labels(error.outcome.value).inc()
            log.debug("UDP datagram dropped (%s): %s", error.outcome.value, error.detail)
            return
        except Exception:
            UDP_DATAGRAMS.labels(Outcome.INTERNAL.value).inc()
            log.exception("unexpected error while handling a UDP datagram")
            return
        UDP_DATAGRAMS.labels(Outcome.ACCEPTED.value).inc()


async def start_udp_listener(
    context: RelayContext, host: str, port: int, *, max_in_flight: int = DEFAULT_MAX_IN_FLIGHT
) -> asyncio.DatagramTransport:
    """Listen for legacy Sentry datagrams on ``host:port``; close the transport to stop."""
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: SentryUdpProtocol(context, max_in_flight), local_addr=(host, port)
    )
    log.info("legacy Sentry UDP listener on %s:%d", host, port)
    return transport
