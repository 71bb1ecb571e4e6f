"""The legacy UDP listener, over a real socket, with the real embedded bus on PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import socket
import time
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any

import pytest
from prometheus_client import REGISTRY

from faultline_core.bus.base import BusProducer
from faultline_core.bus.embedded import EmbeddedConsumer, EmbeddedProducer
from faultline_core.settings import BusSettings, KafkaSettings, PostgresSettings, RelaySettings
from faultline_core.storage.postgres.pool import Pool
from faultline_relay.app import create_app
from faultline_relay.context import RelayContext
from faultline_relay.udp import SentryUdpProtocol, start_udp_listener
from tests.unit.relay.conftest import RELAY_LIMITS, Tenant
from tests.unit.relay.support import compact, published, scratch_blobs

Address = tuple[str, int]
ListenerFactory = Callable[..., Awaitable[Address]]


def _relay(pool: Pool, producer: BusProducer) -> RelayContext:
    return RelayContext(
        RELAY_LIMITS, BusSettings(publish_timeout_s=2.0), pool, producer, scratch_blobs()
    )


@pytest.fixture
async def start_listener(
    pool: Pool, producer: EmbeddedProducer
) -> AsyncIterator[ListenerFactory]:
    """Start a listener on a free loopback port (optionally with another producer)."""
    async with AsyncExitStack() as stack:

        async def start(bus_producer: BusProducer | None = None) -> Address:
            relay = _relay(pool, bus_producer or producer)
            transport = await start_udp_listener(relay, "127.0.0.1", 0)
            stack.callback(transport.close)
            address: Address = transport.get_extra_info("sockname")[:2]
            return address

        yield start


@pytest.fixture
async def listener(start_listener: ListenerFactory) -> Address:
    return await start_listener()


def _count(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "faultline_relay_udp_datagrams_total", {"outcome": outcome}
    )
    return value or 0.0


def _send(address: Address, *datagrams: bytes) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for datagram in datagrams:
            sock.sendto(datagram, address)


async def _wait_for_count(outcome: str, wanted: float) -> None:
    deadline = time.monotonic() + 10
    while _count(outcome) < wanted:
        assert time.monotonic() < deadline, f"{outcome}: {_count(outcome)} < {wanted}"
        await asyncio.sleep(0.01)


async def _send_and_wait(address: Address, outcome: str, *datagrams: bytes) -> None:
    """Send the datagrams; return once ``outcome`` was counted once more for each."""
    before = _count(outcome)
    _send(address, *datagrams)
    await _wait_for_count(outcome, before + len(datagrams))


def _auth(public_key: str) -> bytes:
    return f"Sentry sentry_version=6, sentry_client=raven-python/6.10.0, sentry_key={public_key}"\
        .encode()


def _datagram(public_key: str, body: bytes) -> bytes:
    return _auth(public_key) + b"\n\n" + body


def _event(**extra: Any) -> dict[str, Any]:
    return {"event_id": uuid.uuid4().hex, "message": "over udp", "level": "error", **extra}


async def test_raw_json_datagram_is_published_for_the_keys_project(
    listener: Address, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    event = _event()
    payload = compact(event)

    await _send_and_wait(listener, "accepted", _datagram(tenant.key, payload))

    [(key, message)] = await published(consumer)
    assert key == str(tenant.project_id).encode()
    assert message.project_id == tenant.project_id
    assert message.event_id == event["event_id"]
    assert message.payload == payload
    assert message.client_ip == "127.0.0.1"


async def test_base64_zlib_body_is_decoded_before_publishing(
    listener: Address, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    event = _event()
    body = base64.b64encode(zlib.compress(compact(event)))

    await _send_and_wait(listener, "accepted", _datagram(tenant.key, body))

    [(_, message)] = await published(consumer)
    assert message.project_id == tenant.project_id
    assert message.event_id == event["event_id"]
    assert message.payload == compact(event)


@pytest.mark.parametrize(
    ("case", "outcome"),
    [
        ("unknown key", "rejected_auth"),
        ("inactive key", "rejected_auth"),
        ("no auth header", "invalid"),
        ("garbage body", "invalid"),
        ("binary header", "invalid"),
        ("oversized event", "rejected_size"),
    ],
)
async def test_bad_datagrams_are_dropped_and_counted(
    listener: Address, tenant: Tenant, consumer: EmbeddedConsumer, case: str, outcome: str
) -> None:
    payload = compact(_event())
    datagram = {
        "unknown key": _datagram(uuid.uuid4().hex, payload),
        "inactive key": _datagram(tenant.inactive_key, payload),
        "no auth header": payload,
        "garbage body": _datagram(tenant.key, b"\x00\xffnot json at all"),
        "binary header": b"\xff\xfe sentry_key=x\n\n" + payload,
        "oversized event": _datagram(
            tenant.key, compact(_event(extra={"blob": "x" * RELAY_LIMITS.max_event_bytes}))
        ),
    }[case]
    accepted_before = _count("accepted")

    await _send_and_wait(listener, outcome, datagram)

    assert await published(consumer) == []
    assert _count("accepted") == accepted_before


async def test_the_keys_rate_limit_applies(
    listener: Address, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    # The limited key allows two events per minute; the third is dropped.
    datagrams = [_datagram(tenant.limited_key, compact(_event())) for _ in range(3)]

    accepted_before, limited_before = _count("accepted"), _count("rate_limited")

    _send(listener, *datagrams)

    await _wait_for_count("accepted", accepted_before + 2)
    await _wait_for_count("rate_limited", limited_before + 1)

    assert len(await published(consumer)) == 2


async def test_bus_unavailable_is_counted(
    start_listener: ListenerFactory, pool: Pool, tenant: Tenant
) -> None:
    closed = EmbeddedProducer(pool, publish_timeout_s=2.0)
    await closed.close()
    address = await start_listener(closed)

    await _send_and_wait(address, "unavailable", _datagram(tenant.key, compact(_event())))


async def test_datagrams_beyond_the_in_flight_bound_are_dropped(
    pool: Pool, producer: EmbeddedProducer, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    protocol = SentryUdpProtocol(_relay(pool, producer), max_in_flight=1)
    overloaded_before, accepted_before = _count("overloaded"), _count("accepted")
    sender = ("127.0.0.1", 5000)

    # Both arrive before the first one's handling has had a chance to run.
    protocol.datagram_received(_datagram(tenant.key, compact(_event())), sender)
    protocol.datagram_received(_datagram(tenant.key, compact(_event())), sender)

    assert _count("overloaded") == overloaded_before + 1
    await _wait_for_count("accepted", accepted_before + 1)
    assert len(await published(consumer)) == 1


async def test_standalone_relay_starts_and_stops_its_udp_listener(
    pg_settings: PostgresSettings, tenant: Tenant, consumer: EmbeddedConsumer
) -> None:
    port = _free_udp_port()
    app = create_app(
        RelaySettings(udp_port=port), BusSettings(), KafkaSettings(), pg_settings, scratch_blobs()
    )
    event = _event()

    async with app.router.lifespan_context(app):
        await _send_and_wait(("127.0.0.1", port), "accepted", _datagram(tenant.key, compact(event)))

    assert [m.event_id for _, m in await published(consumer)] == [event["event_id"]]
    # Closed with the app: the port can be bound again.
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", port))


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
