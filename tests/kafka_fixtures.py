"""One Apache Kafka broker per test session (official jars, KRaft), shared by every suite."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.harness.kafka import KafkaBroker, start_kafka, tools_available


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    """An external broker (``FAULTLINE_TEST_KAFKA_BOOTSTRAP``) or a private one we start."""
    if external := os.environ.get("FAULTLINE_TEST_KAFKA_BOOTSTRAP"):
        yield external
        return
    if not tools_available():
        pytest.fail("a private Kafka broker needs `java` (17+) and `mvn` on PATH; "
                    ".ci/run installs them")
    workdir = Path(tempfile.mkdtemp(prefix="faultline-kafka-"))
    broker: KafkaBroker = start_kafka(workdir)
    yield broker.bootstrap
    broker.stop()
    shutil.rmtree(workdir, ignore_errors=True)
