"""Run the query service on its own: ``python -m faultline_query``.

Settings come from the environment (``FAULTLINE_QUERY_*``, ``FAULTLINE_PG_*``,
``FAULTLINE_CLICKHOUSE_*``, ``FAULTLINE_*``). Prometheus metrics are served on
``FAULTLINE_QUERY_METRICS_PORT``. SIGTERM or SIGINT stops the server gracefully.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from prometheus_client import start_http_server

from faultline_core.settings import (
    AppSettings,
    ClickHouseSettings,
    PostgresSettings,
    QuerySettings,
)
from faultline_core.storage.clickhouse.factory import connect_clickhouse
from faultline_core.storage.postgres.pool import open_pool
from faultline_query.server import start_query_server
from faultline_query.servicer import QueryServicer

log = logging.getLogger("faultline_query")

SHUTDOWN_GRACE_S = 5.0


async def serve(
    app: AppSettings,
    query: QuerySettings,
    postgres: PostgresSettings,
    clickhouse_settings: ClickHouseSettings,
) -> None:
    """Serve until SIGTERM or SIGINT, then stop accepting calls and close the backends."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as resources:
        pool = await open_pool(postgres, name="faultline-query")
        resources.push_async_callback(pool.close)
        clickhouse = await connect_clickhouse(clickhouse_settings, app.data_dir)
        resources.push_async_callback(clickhouse.close)
        start_http_server(query.metrics_port, addr=query.host)
        server = await start_query_server(QueryServicer(clickhouse, pool), query.host, query.port)
        resources.push_async_callback(server.stop, SHUTDOWN_GRACE_S)
        await stop.wait()
        log.info("stopping the query service")


def main() -> None:
    app = AppSettings()
    logging.basicConfig(
        level=app.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(app, QuerySettings(), PostgresSettings(), ClickHouseSettings()))


if __name__ == "__main__":
    main()
