"""The ``faultline`` operator command: one subcommand per tool.

* ``faultline regroup``: rebuild a project's issues from its raw events under a grouping
  config, online (:mod:`faultline_processor.regroup.command`, ``docs/regroup.md``);
* ``faultline verify``: compare the live issue projection with one rebuilt from the events
  (:mod:`faultline_processor.verify_cli`).

Every subcommand connects the way the services do, from the ``FAULTLINE_*`` environment.
Also runnable as ``python -m faultline_processor.cli``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from faultline_processor.regroup.command import add_regroup_parser
from faultline_processor.verify_cli import add_verify_parser


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="faultline", description="Faultline operator tools")
    commands = root.add_subparsers(dest="command", required=True)
    add_regroup_parser(commands)
    add_verify_parser(commands)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``faultline`` console script; returns the exit status."""
    args = parser().parse_args(argv)
    status: int = args.handler(args)
    return status


if __name__ == "__main__":
    sys.exit(main())
