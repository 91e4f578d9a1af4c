"""The ``twin`` command line.

Each subcommand lives in ``twin/commands/<name>.py`` with two functions:
``add_parser(subparsers)`` declares its arguments and ``run(args) -> int`` carries it out.
Commands import the heavier layers (sim, scenarios, viz) lazily, inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from twin.errors import TwinError

#: Subcommands in the order ``twin --help`` lists them.
COMMANDS = (
    "build",
    "info",
    "export",
    "run",
    "scenario",
    "compare",
    "coverage",
    "site",
    "runs",
    "query",
    "rerun",
    "render",
    "view",
    "report",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = argparse.ArgumentParser(
        prog="twin", description="Huế Twin: a digital twin of Huế for planning."
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"twin.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"twin.commands.{name}":
                continue  # not built yet
            raise
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``twin`` command; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.command:
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except TwinError as exc:
        print(f"twin {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"twin {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
