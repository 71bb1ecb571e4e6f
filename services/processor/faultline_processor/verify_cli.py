"""The ``verify`` subcommand of ``faultline`` (see :mod:`faultline_processor.cli`).

``faultline verify --project ID|ORG/PROJECT [--json] [--batch-size N]`` reads PostgreSQL
and ClickHouse as configured by the usual ``FAULTLINE_*`` environment settings. Exit
status: 0 consistent, 1 differences found, 2 usage errors (argparse's own, an unknown
project, a bad batch size).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Any

from faultline_core.settings import AppSettings, ClickHouseSettings, PostgresSettings
from faultline_core.storage.clickhouse.factory import connect_clickhouse
from faultline_core.storage.postgres.pool import open_pool
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
    parser.set_defaults(handler=run_verify)


def run_verify(args: argparse.Namespace) -> int:
    """Run ``verify`` for parsed ``args``; prints the report and returns the exit status."""
    if args.batch_size < 1:
        print("faultline verify: --batch-size must be at least 1", file=sys.stderr)
        return EXIT_USAGE
    report = asyncio.run(_verify(args.project, args.batch_size))
    if report is None:
        print(f"faultline verify: no project {args.project!r}", file=sys.stderr)
        return EXIT_USAGE
    if args.json:
        print(json.dumps(report.as_json(), indent=2, default=str))
    else:
        print(report.summary())
    return EXIT_CONSISTENT if report.consistent else EXIT_DIFFERENT


async def _verify(project: str, batch_size: int) -> Report | None:
    async with contextlib.AsyncExitStack() as stack:
        pool = await open_pool(PostgresSettings(pool_min_size=1, pool_max_size=2),
                               name="faultline-verify")
        stack.push_async_callback(pool.close)
        project_id = await resolve_project(pool, project)
        if project_id is None:
            return None
        clickhouse = await connect_clickhouse(ClickHouseSettings(), AppSettings().data_dir)
        stack.push_async_callback(clickhouse.close)
        return await verify_project(pool, clickhouse, project_id, batch_size)
