"""``python -m faultline_processor``: the processor as its own process (one per pod)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Iterator

from faultline_core.bus.base import Partition
from faultline_core.bus.factory import build_consumer, build_producer
from faultline_core.settings import (
    AppSettings,
    BusSettings,
    ClickHouseSettings,
    KafkaSettings,
    PostgresSettings,
    ProcessorSettings,
)
from faultline_core.storage.clickhouse.factory import connect_clickhouse
from faultline_core.storage.postgres.pool import open_pool
from faultline_processor.health import (
    LivenessProbe,
    start_health_server,
    with_default_liveness_file,
)
from faultline_processor.runner import Processor

log = logging.getLogger(__name__)


async def serve(
    app: AppSettings,
    settings: ProcessorSettings,
    bus: BusSettings,
    *,
    probe: LivenessProbe | None = None,
) -> None:
    """Open every dependency, run the processor until SIGTERM/SIGINT, then close them.

    ``probe`` (the ``/healthz`` answer) is pointed at the processor once it exists.
    """
    async with contextlib.AsyncExitStack() as stack:
        pool = await open_pool(PostgresSettings(), name="faultline-processor")
        stack.push_async_callback(pool.close)
        clickhouse = await connect_clickhouse(ClickHouseSettings(), app.data_dir)
        stack.push_async_callback(clickhouse.close)
        kafka = KafkaSettings()
        dlq = build_producer(bus, kafka, pool)
        await dlq.start()
        stack.push_async_callback(dlq.close)

        async def on_revoke(partitions: frozenset[Partition]) -> None:
            await processor.on_revoke(partitions)

        consumer = build_consumer(
            bus, kafka, pool, bus.events_topic, settings.consumer_group, on_revoke=on_revoke
        )
        processor = Processor(consumer, dlq, clickhouse, pool, settings, bus)
        if probe is not None:
            probe.watch(processor)
        await consumer.start()
        stack.push_async_callback(consumer.close)
        stack.enter_context(_stop_on_signals(processor))
        log.info("processor consuming %s as group %s (%s bus)",
                 bus.events_topic, settings.consumer_group, bus.backend)
        await processor.run()
        log.info("processor stopped")


@contextlib.contextmanager
def _stop_on_signals(processor: Processor) -> Iterator[None]:
    """While inside, SIGTERM and SIGINT make the processor drain and stop."""
    loop = asyncio.get_running_loop()
    stopping: set[asyncio.Task[None]] = set()

    def request_stop(signum: int) -> None:
        log.info("received %s: draining", signal.Signals(signum).name)
        task = loop.create_task(processor.stop())
        stopping.add(task)
        task.add_done_callback(stopping.discard)

    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, request_stop, signum)
    try:
        yield
    finally:
        for signum in signals:
            loop.remove_signal_handler(signum)


def main() -> None:
    app = AppSettings()
    logging.basicConfig(
        level=app.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = with_default_liveness_file(ProcessorSettings(), app.data_dir)
    probe = LivenessProbe()
    http = start_health_server(settings.metrics_port, probe)
    try:
        asyncio.run(serve(app, settings, BusSettings(), probe=probe))
    finally:
        http.close()


if __name__ == "__main__":
    main()
