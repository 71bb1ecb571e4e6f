"""``python -m faultline_core.admin``: operations shared by every deployment.

* ``migrate``: apply the PostgreSQL and ClickHouse migrations. Idempotent and safe to run
  concurrently (a Kubernetes Job, or two pods starting at once).
* ``bootstrap --url URL``: create the default organization, project, DSN key, admin user
  and API token once, and write them to ``$FAULTLINE_DATA_DIR/bootstrap.json``.

Settings come from the environment (``FAULTLINE_PG_*``, ``FAULTLINE_CLICKHOUSE_*``,
``FAULTLINE_*``), as for the services.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

from faultline_core.bootstrap import ensure_bootstrap
from faultline_core.migrations.clickhouse_migrate import migrate_clickhouse
from faultline_core.migrations.postgres_migrate import migrate_postgres
from faultline_core.settings import AppSettings, ClickHouseSettings, PostgresSettings
from faultline_core.storage.clickhouse.factory import connect_clickhouse

log = logging.getLogger("faultline_core.admin")


async def migrate(app: AppSettings, pg: PostgresSettings, ch: ClickHouseSettings) -> None:
    applied = await migrate_postgres(pg.dsn.get_secret_value())
    log.info("PostgreSQL: %s", ", ".join(applied) or "up to date")
    clickhouse = await connect_clickhouse(ch, app.data_dir)
    try:
        applied = await migrate_clickhouse(clickhouse)
        log.info("ClickHouse: %s", ", ".join(applied) or "up to date")
    finally:
        await clickhouse.close()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m faultline_core.admin", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="apply the PostgreSQL and ClickHouse migrations")
    boot = commands.add_parser("bootstrap", help="create the default tenant, once")
    boot.add_argument("--url", required=True, help="the public base URL of the relay")
    args = parser.parse_args(argv)
    app = AppSettings()
    logging.basicConfig(level=app.log_level, format="%(levelname)s %(name)s: %(message)s")
    if args.command == "migrate":
        asyncio.run(migrate(app, PostgresSettings(), ClickHouseSettings()))
    else:
        app.data_dir.mkdir(parents=True, exist_ok=True)
        result = asyncio.run(ensure_bootstrap(
            PostgresSettings().dsn.get_secret_value(), app.data_dir, args.url
        ))
        print(f"DSN: {result.dsn}\nbootstrap: {app.data_dir / 'bootstrap.json'}")


if __name__ == "__main__":
    main()
