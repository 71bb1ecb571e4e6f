"""The ``regroup`` subcommand of ``faultline`` (see :mod:`faultline_processor.cli`).

``faultline regroup --project <org>/<slug>|<id> [--config vN] [--since DATE] [--dry-run]``
rebuilds a project's issues from its raw events (see ``docs/regroup.md``). It connects the
way the services do, from ``FAULTLINE_PG_*`` and ``FAULTLINE_CLICKHOUSE_*``, and runs
online against the distributed stack. ``--data-dir DIR`` instead starts the all-in-one's
embedded engines from its data directory itself (with core's helpers: this package never
imports the all-in-one); the all-in-one must be stopped first, since chDB and the embedded
PostgreSQL cluster can each be used by one process only.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.rows import dict_row

from faultline_core.grouping import GROUPING_CONFIGS
from faultline_processor.cli_stores import open_stores
from faultline_processor.regroup.grouper import GroupingSpec
from faultline_processor.regroup.run import RegroupBusy, RegroupOptions, regroup


class CliError(Exception):
    """A problem to report on stderr with exit status 1."""


def _since(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not an ISO date or date-time: {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def add_regroup_parser(subparsers: Any) -> None:
    """Register ``regroup`` on an ``argparse`` subparsers object (``add_subparsers()``)."""
    cmd: argparse.ArgumentParser = subparsers.add_parser(
        "regroup", help="rebuild a project's issues from its raw events under a config",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    cmd.add_argument("--project", required=True, help="<org>/<slug> or the numeric id")
    cmd.add_argument("--config", choices=sorted(GROUPING_CONFIGS),
                     help="group with this config and make it the project's (default: the "
                          "project's current config)")
    cmd.add_argument("--since", type=_since,
                     help="regroup only events received since this date (ISO, UTC)")
    cmd.add_argument("--dry-run", action="store_true", help="report, change nothing")
    cmd.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                     help="grouping processes (0: group in this process)")
    cmd.add_argument("--page-size", type=int, default=5_000,
                     help="events read from ClickHouse per query")
    cmd.add_argument("--data-dir", type=Path,
                     help="the all-in-one's data directory (stop the all-in-one first)")
    cmd.set_defaults(handler=run_regroup)


async def find_project(conn: psycopg.AsyncConnection[Any], ref: str) -> dict[str, Any]:
    """The project row for ``<org>/<slug>`` or an id."""
    if ref.isdigit():
        cur = await conn.execute("SELECT * FROM projects WHERE id = %s", (int(ref),))
    elif ref.count("/") == 1:
        org, slug = ref.split("/")
        cur = await conn.execute(
            "SELECT p.* FROM projects p JOIN organizations o ON o.id = p.organization_id"
            " WHERE o.slug = %s AND p.slug = %s", (org, slug))
    else:
        raise CliError(f"--project must be <org>/<slug> or a numeric id, not {ref!r}")
    row = await cur.fetchone()
    if row is None:
        raise CliError(f"no project {ref!r}")
    return dict(row)


async def _regroup(args: argparse.Namespace) -> list[str]:
    async with open_stores(args.data_dir) as stores:
        try:
            conn = await psycopg.AsyncConnection.connect(
                stores.dsn, autocommit=True, row_factory=dict_row)
        except psycopg.OperationalError as exc:
            raise CliError(f"cannot connect to PostgreSQL: {exc}") from exc
        async with conn:
            project = await find_project(conn, args.project)
            spec = GroupingSpec(args.config or str(project["grouping_config"]),
                                str(project["fingerprinting_rules"]),
                                str(project["grouping_enhancements"]))
            options = RegroupOptions(
                project_id=int(project["id"]), spec=spec, set_config=args.config is not None,
                since=args.since, dry_run=args.dry_run, page_size=max(1, args.page_size),
                workers=max(0, args.workers),
            )
            report = await regroup(conn, stores.clickhouse, options)
    return report.lines()


def run_regroup(args: argparse.Namespace) -> int:
    """Run ``regroup`` for parsed ``args``; prints the report and returns the exit status."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        lines = asyncio.run(_regroup(args))
    except (CliError, RegroupBusy) as exc:
        print(f"faultline regroup: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    return 0
