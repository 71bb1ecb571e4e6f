"""The three servers of distributed mode, started together on 127.0.0.1.

PostgreSQL (Debian's binaries when installed), ClickHouse 18.16 and Apache Kafka, each
with its data under one work directory. Usable outside pytest::

    infra = start_infra(Path("/tmp/faultline-infra"))
    print(infra.env())   # FAULTLINE_* variables for the four services
    infra.stop()
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
from collections.abc import Coroutine
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import psycopg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from clickhouse_driver import Client
from psycopg import sql

from faultline_core.pgserver import PostgresServer, start_postgres
from faultline_core.settings import BusSettings
from tests.integration.harness import clickhouse as clickhouse_harness
from tests.integration.harness.clickhouse import ClickHouseServer, start_clickhouse_server
from tests.integration.harness.kafka import KafkaBroker, restart_kafka, start_kafka
from tests.pg_fixtures import _test_pg_bin_dir  # Debian's server when installed

log = logging.getLogger(__name__)

DATABASE = "faultline"
START_ATTEMPTS = 2
T = TypeVar("T")
DEFAULT_TOPICS = (BusSettings().events_topic, BusSettings().dlq_topic)


def run_async(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, even inside pytest.

    A thread of its own, because ``asyncio.run`` in the main thread would clear the
    event loop that pytest-asyncio keeps for the session.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass
class Infra:
    """Running PostgreSQL, ClickHouse and Kafka servers; see :func:`start_infra`."""

    workdir: Path
    postgres: PostgresServer
    clickhouse: ClickHouseServer
    kafka: KafkaBroker
    kafka_partitions: int
    _stopped: bool = field(default=False, init=False)

    def env(
        self,
        pg_database: str = DATABASE,
        ch_database: str = DATABASE,
        topics: tuple[str, str] = DEFAULT_TOPICS,
    ) -> dict[str, str]:
        """The ``FAULTLINE_*`` variables that point the services at these servers."""
        return {
            "FAULTLINE_PG_DSN": self.postgres.dsn(pg_database),
            "FAULTLINE_CLICKHOUSE_BACKEND": "native",
            "FAULTLINE_CLICKHOUSE_HOST": self.clickhouse.host,
            "FAULTLINE_CLICKHOUSE_PORT": str(self.clickhouse.tcp_port),
            "FAULTLINE_CLICKHOUSE_DATABASE": ch_database,
            "FAULTLINE_BUS_BACKEND": "kafka",
            "FAULTLINE_KAFKA_BOOTSTRAP_SERVERS": self.kafka.bootstrap,
            "FAULTLINE_BUS_EVENTS_TOPIC": topics[0],
            "FAULTLINE_BUS_DLQ_TOPIC": topics[1],
        }

    def create_pg_database(self, name: str) -> str:
        """Create an empty PostgreSQL database; return its DSN."""
        with psycopg.connect(self.postgres.dsn(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.postgres.dsn(name)

    def create_topics(self, names: tuple[str, ...], partitions: int | None = None) -> None:
        """Create Kafka topics (``kafka_partitions`` partitions unless told otherwise)."""
        count = partitions or self.kafka_partitions
        run_async(_create_topics(self.kafka.bootstrap, names, count))

    def clickhouse_client(self, database: str = DATABASE) -> Client:
        """A clickhouse-driver client on ``database`` (the caller disconnects it)."""
        return Client(host=self.clickhouse.host, port=self.clickhouse.tcp_port,
                      database=database, connect_timeout=5, send_receive_timeout=30)

    def stop_kafka(self) -> None:
        self.kafka.stop()

    def restart_kafka(self) -> None:
        """Start the stopped broker again on its ports and data."""
        self.kafka = restart_kafka(self.kafka)

    def stop_clickhouse(self) -> None:
        self.clickhouse.stop()

    def restart_clickhouse(self) -> None:
        """Start the stopped ClickHouse server again on its ports and data."""
        self.clickhouse = restart_clickhouse(self.clickhouse)

    def stop(self) -> None:
        """Stop all three servers (data stays in ``workdir``)."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self.kafka.stop()
        finally:
            try:
                self.clickhouse.stop()
            finally:
                self.postgres.stop()


def start_infra(workdir: Path, kafka_partitions: int = 4) -> Infra:
    """Start the three servers (in parallel; Kafka is the slow one) and create the
    ``faultline`` PostgreSQL database and the default topics.

    Call it from a thread that outlives the servers (e.g. the main thread): PostgreSQL
    gets a parent-death signal tied to the thread that started it. A failed start (e.g.
    a free port taken by another process meanwhile) is retried once, in a fresh directory.
    """
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    # PostgreSQL runs as an unprivileged user when we are root; it must reach its files.
    workdir.chmod(0o755)
    for attempt in range(1, START_ATTEMPTS):
        try:
            return _start_once(workdir / f"attempt-{attempt}", kafka_partitions)
        except Exception as exc:
            log.warning("starting the servers failed (attempt %d), retrying: %s: %s",
                        attempt, type(exc).__name__, exc)
    return _start_once(workdir / f"attempt-{START_ATTEMPTS}", kafka_partitions)


def _start_once(workdir: Path, kafka_partitions: int) -> Infra:
    workdir.mkdir()
    workdir.chmod(0o755)
    with ThreadPoolExecutor(max_workers=2) as pool:
        kafka = pool.submit(start_kafka, workdir / "kafka")
        clickhouse = pool.submit(start_clickhouse_server, workdir / "clickhouse")
        postgres: PostgresServer | None = None
        try:
            # In this thread: the server's parent-death signal fires when the thread
            # that started it ends, and pool threads end with the pool.
            postgres = start_postgres(workdir / "postgres", bin_dir=_test_pg_bin_dir())
            infra = Infra(workdir, postgres, clickhouse.result(), kafka.result(),
                          kafka_partitions)
        except BaseException:
            _stop_started(kafka, clickhouse)
            if postgres is not None:
                postgres.stop()
            raise
    try:
        infra.create_pg_database(DATABASE)
        infra.create_topics(DEFAULT_TOPICS)
    except BaseException:
        infra.stop()
        raise
    return infra


def _stop_started(*servers: Future[KafkaBroker] | Future[ClickHouseServer]) -> None:
    for server in servers:
        if server.exception() is None:
            server.result().stop()


def restart_clickhouse(server: ClickHouseServer) -> ClickHouseServer:
    """Start a stopped server again with the config (ports) and data it had."""
    if server.process.poll() is None:
        raise clickhouse_harness.ClickHouseServerError("the server is still running")
    config = server.workdir / "config.xml"
    with (server.workdir / "logs" / "stderr.log").open("ab") as stderr:
        process = subprocess.Popen(
            [str(clickhouse_harness.SERVER_BINARY), f"--config-file={config}"],
            cwd=server.workdir, stdin=subprocess.DEVNULL, stdout=stderr,
            stderr=subprocess.STDOUT, env={**os.environ, "TZ": "UTC"},
        )
    restarted = ClickHouseServer(server.host, server.tcp_port, server.http_port,
                                 server.workdir, process)
    try:
        clickhouse_harness._wait_ready(restarted)
    except BaseException:
        restarted.stop()
        raise
    return restarted


async def _create_topics(bootstrap: str, names: tuple[str, ...], partitions: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name, partitions, 1) for name in names])
    finally:
        await admin.close()
