"""The standalone relay on the Kafka bus when Kafka is down at start-up.

Kafka is a real broker (``tests/integration/harness/kafka.py``, one per module, or the one
named by ``FAULTLINE_TEST_KAFKA_BOOTSTRAP``). The relay is pointed at a local port: with
nothing listening there, Kafka is "down"; a TCP forwarder to the broker opened on that port
later is Kafka "coming back" (after bootstrap the clients talk to the broker's advertised
address directly). A listener that accepts connections and never answers stands for a
Kafka that hangs.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient, Response

from faultline_core.bus.kafka import KafkaConsumerAdapter
from faultline_core.messages import decode_ingest_message
from faultline_core.ports import free_port
from faultline_core.settings import BusSettings, KafkaSettings, PostgresSettings, RelaySettings
from faultline_relay import create_app
from tests.unit.relay.conftest import Tenant
from tests.unit.relay.support import auth_header, event_envelope, scratch_blobs

PUBLISH_TIMEOUT_S = 1.0
# A request must be answered within the publish timeout plus the relay's margin (1 s);
# the rest is slack for a loaded test machine.
ANSWER_BOUND_S = PUBLISH_TIMEOUT_S + 1.0 + 0.5
RECOVERY_DEADLINE_S = 20.0




async def _create_topic(bootstrap: str) -> str:
    name = f"relay-{uuid.uuid4().hex[:10]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, 1, 1)])
    finally:
        await admin.close()
    return name


class _Listener:
    """A TCP listener on a fixed port: forwarding to ``upstream``, or (without one)
    accepting connections and never answering."""

    def __init__(self, port: int, upstream: str | None) -> None:
        self.port = port
        self._upstream = upstream
        self._server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def __aenter__(self) -> _Listener:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        if self._upstream is None:
            with contextlib.suppress(ConnectionError):
                while await reader.read(65536):
                    pass  # swallow requests; a hung broker never answers
            writer.close()
            return
        host, port = self._upstream.rsplit(":", 1)
        up_reader, up_writer = await asyncio.open_connection(host, int(port))
        self._writers.append(up_writer)
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except ConnectionError:
        pass
    finally:
        writer.close()


def _relay_app(pg: PostgresSettings, port: int, topic: str) -> FastAPI:
    kafka = KafkaSettings(
        bootstrap_servers=f"127.0.0.1:{port}", client_id="relay-tests", linger_ms=1,
        request_timeout_ms=5000,
    )
    bus = BusSettings(backend="kafka", events_topic=topic, publish_timeout_s=PUBLISH_TIMEOUT_S)
    return create_app(RelaySettings(), bus, kafka, pg, scratch_blobs())


@contextlib.asynccontextmanager
async def _running(app: FastAPI) -> AsyncIterator[AsyncClient]:
    transport = ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        AsyncClient(transport=transport, base_url="http://r") as client,
    ):
        yield client


async def _post_event(client: AsyncClient, tenant: Tenant, event_id: str) -> Response:
    return await client.post(
        f"/api/{tenant.project_id}/envelope/",
        content=event_envelope({"event_id": event_id, "message": "kafka down"}),
        headers=auth_header(tenant.key),
    )


async def _timed_post(client: AsyncClient, tenant: Tenant, event_id: str) -> Response:
    started = time.monotonic()
    response = await _post_event(client, tenant, event_id)
    elapsed = time.monotonic() - started
    assert elapsed < ANSWER_BOUND_S, f"answered after {elapsed:.1f}s"
    return response


def _assert_unavailable(response: Response) -> None:
    assert response.status_code == 503, response.text
    assert int(response.headers["retry-after"]) > 0
    assert "bus unavailable" in response.headers["x-sentry-error"]


async def _published_event_ids(bootstrap: str, topic: str, count: int) -> list[str]:
    consumer = KafkaConsumerAdapter(
        KafkaSettings(bootstrap_servers=bootstrap, client_id="relay-tests"),
        topic, f"g-{uuid.uuid4().hex[:8]}",
    )
    await consumer.start()
    received: list[str] = []
    try:
        deadline = time.monotonic() + RECOVERY_DEADLINE_S
        while len(received) < count and time.monotonic() < deadline:
            messages = await consumer.poll(10, 0.5)
            received += [decode_ingest_message(m.value).event_id for m in messages]
        received += [decode_ingest_message(m.value).event_id
                     for m in await consumer.poll(10, 0.5)]
    finally:
        await consumer.close()
    return received


async def test_relay_starts_without_kafka_and_publishes_once_it_is_back(
    pg_settings: PostgresSettings, tenant: Tenant, kafka_bootstrap: str
) -> None:
    topic = await _create_topic(kafka_bootstrap)
    port = free_port()  # nothing listens here yet: Kafka is down
    lost_id, kept_id = uuid.uuid4().hex, uuid.uuid4().hex

    async with _running(_relay_app(pg_settings, port, topic)) as client:
        _assert_unavailable(await _timed_post(client, tenant, lost_id))
        _assert_unavailable(await _timed_post(client, tenant, lost_id))  # retried at once
        not_ready = await client.get("/readyz")
        assert not_ready.status_code == 503
        assert not_ready.json()["failing"] == ["bus"]

        async with _Listener(port, kafka_bootstrap):  # Kafka is back
            deadline = time.monotonic() + RECOVERY_DEADLINE_S
            response = await _timed_post(client, tenant, kept_id)
            while response.status_code != 200:
                _assert_unavailable(response)
                assert time.monotonic() < deadline, "the relay never recovered"
                await asyncio.sleep(0.3)
                response = await _timed_post(client, tenant, kept_id)
            assert response.json() == {"id": kept_id}
            assert (await client.get("/readyz")).status_code == 200

    assert await _published_event_ids(kafka_bootstrap, topic, 1) == [kept_id]


async def test_readiness_check_starts_the_producer_when_kafka_is_back(
    pg_settings: PostgresSettings, tenant: Tenant, kafka_bootstrap: str
) -> None:
    topic = await _create_topic(kafka_bootstrap)
    port = free_port()
    event_id = uuid.uuid4().hex

    async with _running(_relay_app(pg_settings, port, topic)) as client:
        assert (await client.get("/readyz")).status_code == 503
        async with _Listener(port, kafka_bootstrap):
            deadline = time.monotonic() + RECOVERY_DEADLINE_S
            while (await client.get("/readyz")).status_code != 200:
                assert time.monotonic() < deadline, "readiness never recovered"
                await asyncio.sleep(0.3)
            accepted = await _timed_post(client, tenant, event_id)
        assert accepted.status_code == 200, accepted.text

    assert await _published_event_ids(kafka_bootstrap, topic, 1) == [event_id]


async def test_a_hung_kafka_gets_a_503_within_the_publish_timeout(
    pg_settings: PostgresSettings, tenant: Tenant
) -> None:
    """A broker that accepts connections but never answers must not hang the relay."""
    async with _Listener(free_port(), upstream=None) as hung:
        started = time.monotonic()
        async with _running(_relay_app(pg_settings, hung.port, "ingest-events")) as client:
            assert time.monotonic() - started < ANSWER_BOUND_S  # start-up is bounded too
            for _ in range(2):
                _assert_unavailable(await _timed_post(client, tenant, uuid.uuid4().hex))
            ready_started = time.monotonic()
            assert (await client.get("/readyz")).status_code == 503
            assert time.monotonic() - ready_started < ANSWER_BOUND_S + 1.0
