"""The ``verify`` subcommand of ``faultline`` (see :mod:`faultline_processor.cli`).

``faultline verify --project ID|ORG/PROJECT [--json] [--batch-size N] [--data-dir DIR]``
reads PostgreSQL and ClickHouse as configured by the usual ``FAULTLINE_*`` environment
settings, or the stopped all-in-one's embedded engines with ``--data-dir``. Exit status:
0 consistent, 1 differences found, 2 usage errors (argparse's own, an unknown project, a
bad batch size, stores that cannot be reached).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

import psycopg
from psycopg_pool import PoolTimeout
from pydantic import SecretStr

from faultline_core.settings import PostgresSettings
from faultline_core.storage.postgres.pool import open_pool
from faultline_processor.cli_stores import DATA_DIR_HELP, open_stores
from faultline_processor.verify import DEFAULT_BATCH, Report, resolve_project, verify_project

EXIT_CONSISTENT = 0
EXIT_DIFFERENT = 1
EXIT_USAGE = 2


def add_verify_parser(subparsers: Any) -> None:
    """Register ``verify`` on an ``argparse`` subparsers object (``add_subparsers()``)."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "verify", help="compare the live issue projection with one rebuilt from the events",
        description=__doc__)
    parser.add_argument("--project", required=True,
                        help="project id, or organization-slug/project-slug")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH,
                        help="events per slice read from ClickHouse (default %(default)s)")
    parser.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    parser.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    """Run ``verify`` for parsed ``args``; prints the report and returns the exit status."""
    if args.batch_size < 1:
        print("faultline verify: --batch-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    try:
        report = asyncio.run(_verify(args.project, args.batch_size, args.data_dir))
    except (PoolTimeout, psycopg.OperationalError) as exc:
        print(f"faultline verify: cannot reach PostgreSQL ({type(exc).__name__}). Check "
              "FAULTLINE_PG_DSN; for the all-in-one (make run), stop it and pass "
              "--data-dir with its data directory", file=sys.stderr)
        return EXIT_USAGE
    if report is None:
        print(f"faultline verify: no project {args.project!r}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report.as_json(), indent=2, default=str))
    else:
        print(report.summary())
    return EXIT_CONSISTENT if report.consistent else EXIT_DIFFERENT


async def _verify(project: str, batch_size: int, data_dir: Path | None) -> Report | None:
    async with contextlib.AsyncExitStack() as stack:
        stores = await stack.enter_async_context(open_stores(data_dir))
        settings = PostgresSettings(dsn=SecretStr(stores.dsn), pool_min_size=1,
                                    pool_max_size=2)
        pool = await open_pool(settings, name="faultline-verify", timeout_s=10)
        stack.push_async_callback(pool.close)
        project_id = await resolve_project(pool, project)
        if project_id is None:
            return None
        return await verify_project(pool, stores.clickhouse, project_id, batch_size)
