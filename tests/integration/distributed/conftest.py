"""Distributed-mode fixtures: one set of servers per session, isolated stacks on top.

Starting Kafka costs seconds, so PostgreSQL, ClickHouse and Kafka are started once. Each
stack gets a database of its own in both PostgreSQL and ClickHouse and topics of its own,
so no test sees another's events, issues, offsets or consumer group state.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.integration.harness.infra import Infra, start_infra
from tests.integration.harness.kafka import tools_available
from tests.integration.harness.services import Stack, start_stack


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    if not tools_available():
        pytest.fail("distributed tests need `java` (17+) and `mvn` for the Kafka broker; "
                    ".ci/run installs them")
    workdir = Path(tempfile.mkdtemp(prefix="faultline-infra-"))
    servers = start_infra(workdir / "servers")
    try:
        yield servers
    finally:
        servers.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def isolated_stack(infra: Infra, workdir: Path, **extra_env: str) -> Stack:
    """A stack on a fresh PostgreSQL database, ClickHouse database and pair of topics."""
    name = f"d_{uuid.uuid4().hex[:12]}"
    infra.create_pg_database(name)
    topics = (f"{name}-events", f"{name}-dlq")
    infra.create_topics(topics)
    env = infra.env(pg_database=name, ch_database=name, topics=topics)
    # Short group timeouts so that a killed processor's partitions move on in seconds.
    env |= {"FAULTLINE_KAFKA_SESSION_TIMEOUT_MS": "6000",
            "FAULTLINE_KAFKA_HEARTBEAT_INTERVAL_MS": "500",
            "FAULTLINE_PROCESSOR_CONSUMER_GROUP": f"{name}-processor",
            **extra_env}
    return start_stack(env, workdir)


@pytest.fixture(scope="module")
def module_stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    stack = isolated_stack(infra, tmp_path_factory.mktemp("stack"))
    try:
        yield stack
    finally:
        exit_codes = stack.stop()
        print(stack.log_tails())  # pytest shows it when something failed
    assert_clean_exits(exit_codes)


def assert_clean_exits(exit_codes: dict[str, int]) -> None:
    """SIGTERM is a clean shutdown for every service. Uvicorn (relay, web) re-raises the
    signal after its graceful shutdown, so its exit status is the signal's."""
    for label, code in exit_codes.items():
        assert code in (0, -signal.SIGTERM), f"{label} exited with {code}"


class StackFactory(Protocol):
    def __call__(self, **env: str) -> Stack: ...


@pytest.fixture
def new_stack(infra: Infra, tmp_path: Path) -> Iterator[StackFactory]:
    """Starts isolated stacks (with extra ``FAULTLINE_*`` settings) for a test that
    breaks things; stops them afterwards."""
    started: list[Stack] = []

    def start(**env: str) -> Stack:
        stack = isolated_stack(infra, tmp_path / f"stack-{len(started)}", **env)
        started.append(stack)
        return stack

    yield start
    for stack in started:
        stack.stop()
        print(stack.log_tails())  # pytest shows it when something failed
