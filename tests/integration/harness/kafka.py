"""A private Apache Kafka broker for tests, from the official jars on Maven Central.

Maven resolves ``org.apache.kafka:kafka_2.13`` with its dependencies into
``~/.cache/faultline/kafka-<version>/libs`` (once per machine). The broker runs in KRaft
mode as one combined broker+controller node on 127.0.0.1, on free ports, with its
config, data and logs under a work directory.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from faultline_core.ports import free_port
from tests.integration.harness.process import stop_process

KAFKA_VERSION = os.environ.get("FAULTLINE_KAFKA_VERSION", "4.1.0")
# Kafka logs through SLF4J 1.x; this binding routes it to log4j2 (the version Kafka uses).
LOG4J_VERSION = "2.24.3"
CACHE_ROOT = Path(os.environ.get("FAULTLINE_CACHE_DIR", Path.home() / ".cache" / "faultline"))
RESOLVE_TIMEOUT_S = 600.0
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
START_ATTEMPTS = 3
JAVA_OPTIONS = ("-Xms128m", "-Xmx512m", "-XX:+UseSerialGC", "-Djava.awt.headless=true")
_READY_LINE = "Kafka Server started"


class KafkaBrokerError(RuntimeError):
    """The broker could not be installed, formatted or started."""


class KafkaBrokerExited(KafkaBrokerError):
    """The broker process died while starting (e.g. a port was taken meanwhile)."""


def tools_available() -> bool:
    """Whether a JDK and Maven are on PATH (both are needed to run the broker)."""
    return shutil.which("java") is not None and shutil.which("mvn") is not None



@dataclass
class KafkaBroker:
    bootstrap: str
    workdir: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def stop(self) -> None:
        """SIGTERM the broker (a clean shutdown) and wait; SIGKILL if it takes too long."""
        stop_process(self.process, STOP_TIMEOUT_S)

    def log_tail(self, lines: int = 40) -> str:
        return _log_tail(self.workdir, lines)


_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>dev.faultline.test</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{version}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j_version}</version>
    </dependency>
  </dependencies>
</project>
"""


def kafka_jars(version: str = KAFKA_VERSION) -> Path:
    """The directory holding the broker's jars; resolves them with Maven on first use."""
    home = CACHE_ROOT / f"kafka-{version}"
    libs = home / "libs"
    pom = _POM.format(version=version, log4j_version=LOG4J_VERSION)
    marker = home / f".complete-{hashlib.sha256(pom.encode()).hexdigest()[:12]}"
    if marker.exists():
        return libs
    if not tools_available():
        raise KafkaBrokerError("running Kafka needs `java` (17+) and `mvn` on PATH")
    home.mkdir(parents=True, exist_ok=True)
    (home / "pom.xml").write_text(pom)
    shutil.rmtree(libs, ignore_errors=True)
    command = ["mvn", "-q", "-B", "dependency:copy-dependencies", f"-DoutputDirectory={libs}"]
    result = subprocess.run(
        command, cwd=home, capture_output=True, text=True, timeout=RESOLVE_TIMEOUT_S, check=False
    )
    if result.returncode != 0:
        raise KafkaBrokerError(
            f"maven could not resolve org.apache.kafka:kafka_2.13:{version}:\n"
            + (result.stdout + result.stderr)[-3000:]
        )
    marker.write_text(version)
    return libs


def _server_properties(workdir: Path, broker_port: int, controller_port: int) -> str:
    # Single-node values: replication 1 everywhere, and no group-join delay so consumer
    # groups in tests form at once; short session timeouts are allowed for the same reason.
    return f"""process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{broker_port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{broker_port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={workdir / "data"}
num.partitions=4
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
group.min.session.timeout.ms=1000
"""


def _log4j_properties(workdir: Path) -> str:
    return f"""status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {workdir / "logs" / "server.log"}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.apache.name = org.apache
logger.apache.level = WARN
"""


def _java_command(workdir: Path, libs: Path, main_class: str, *args: str) -> list[str]:
    log4j = f"-Dlog4j2.configurationFile={workdir / 'log4j2.properties'}"
    return ["java", *JAVA_OPTIONS, log4j, "-cp", f"{libs}/*", main_class, *args]


def start_kafka(workdir: Path) -> KafkaBroker:
    """Format storage and start a one-node KRaft broker; return once it serves requests.

    A free port can be taken by another process before the broker binds it, so a broker
    that dies during start is retried (with new ports) a couple of times.
    """
    libs = kafka_jars()
    workdir = workdir.resolve()
    for attempt in range(1, START_ATTEMPTS):
        with contextlib.suppress(KafkaBrokerExited):
            return _start_once(workdir / f"attempt-{attempt}", libs)
    return _start_once(workdir / f"attempt-{START_ATTEMPTS}", libs)


def _start_once(workdir: Path, libs: Path) -> KafkaBroker:
    for sub in ("data", "logs"):
        (workdir / sub).mkdir(parents=True, exist_ok=True)
    broker_port, controller_port = free_port(), free_port()
    while controller_port == broker_port:
        controller_port = free_port()
    config = workdir / "server.properties"
    config.write_text(_server_properties(workdir, broker_port, controller_port))
    (workdir / "log4j2.properties").write_text(_log4j_properties(workdir))
    cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    format_command = ["format", "-t", cluster_id, "-c", str(config)]
    formatted = subprocess.run(
        _java_command(workdir, libs, "kafka.tools.StorageTool", *format_command),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if formatted.returncode != 0:
        raise KafkaBrokerError(
            f"kafka-storage format failed:\n{formatted.stdout}{formatted.stderr}"
        )
    with (workdir / "logs" / "stdout.log").open("wb") as stdout:
        process = subprocess.Popen(
            _java_command(workdir, libs, "kafka.Kafka", str(config)),
            cwd=workdir,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
        )
    broker = KafkaBroker(f"127.0.0.1:{broker_port}", workdir, process)
    try:
        _wait_ready(broker, broker_port)
    except BaseException:
        broker.stop()
        raise
    return broker


def restart_kafka(broker: KafkaBroker) -> KafkaBroker:
    """Start a stopped broker again on the same ports, config and data (no re-format)."""
    if broker.process.poll() is None:
        raise KafkaBrokerError("the broker is still running; stop it first")
    port = int(broker.bootstrap.rsplit(":", 1)[1])
    server_log = broker.workdir / "logs" / "server.log"
    if server_log.exists():  # its ready line must not count for the new run
        server_log.replace(server_log.with_name(f"server-{time.time_ns()}.log"))
    config = broker.workdir / "server.properties"
    with (broker.workdir / "logs" / "stdout.log").open("ab") as stdout:
        process = subprocess.Popen(
            _java_command(broker.workdir, kafka_jars(), "kafka.Kafka", str(config)),
            cwd=broker.workdir,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
        )
    restarted = KafkaBroker(broker.bootstrap, broker.workdir, process)
    try:
        _wait_ready(restarted, port)
    except BaseException:
        restarted.stop()
        raise
    return restarted


def _wait_ready(broker: KafkaBroker, port: int) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    server_log = broker.workdir / "logs" / "server.log"
    while time.monotonic() < deadline:
        if broker.process.poll() is not None:
            raise KafkaBrokerExited(
                f"kafka exited with code {broker.process.returncode} during start\n"
                + broker.log_tail()
            )
        started = server_log.exists() and _READY_LINE in server_log.read_text(errors="replace")
        if started and _tcp_open(port):
            return
        time.sleep(0.1)
    raise KafkaBrokerError(
        f"kafka did not become ready on {broker.bootstrap} within {READY_TIMEOUT_S:.0f}s\n"
        + broker.log_tail()
    )


def _tcp_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _log_tail(workdir: Path, lines: int) -> str:
    chunks: list[str] = []
    for name in ("stdout.log", "server.log"):
        path = workdir / "logs" / name
        if path.exists():
            text = path.read_text(errors="replace").splitlines()[-lines:]
            chunks.append(f"--- {name} ---\n" + "\n".join(text))
    return "\n".join(chunks)
