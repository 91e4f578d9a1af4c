"""The ``twin`` command line.

Each subcommand lives in ``twin/commands/<name>.py`` with two functions:
``add_parser(subparsers)`` declares its arguments and ``run(args) -> int`` carries it out.
Commands import the heavier layers (sim, scenarios, viz) lazily, inside ``run``.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import NoReturn

from twin.errors import TwinError
from twin.settings import source_date_epoch

#: Subcommands in the order ``twin --help`` lists them.
COMMANDS = (
    "build",
    "profile",
    "info",
    "export",
    "run",
    "scenario",
    "compare",
    "sweep",
    "coverage",
    "site",
    "runs",
    "query",
    "rerun",
    "render",
    "view",
    "report",
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors, like every other error of ``twin``, start with one
    line ``twin CMD: error: ...``; the usage follows it."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n{self.format_usage()}")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every available subcommand."""
    parser = _Parser(prog="twin", description="Huế Twin: a digital twin of Huế for planning.")
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
    args, extra = parser.parse_known_args(argv)
    if extra:
        # reported by the subcommand's parser, so the message names the command
        command = _subparser(parser, args)
        command.error(f"unrecognized arguments: {' '.join(extra)}")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.command:
        parser.print_help()
        return 2
    try:
        # a bad SOURCE_DATE_EPOCH breaks third-party imports (numpy.f2py reads it): say so
        source_date_epoch()
        status = int(args.handler(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:
        # the reader went away (`twin info CITY.twin | head -1`): that ends the output, as
        # for any Unix tool; nothing more may be written to the closed pipe
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except TwinError as exc:
        print(f"twin {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        # the machine refused (disk full, permissions changed meanwhile): outputs are
        # written aside and renamed into place, so nothing is left half-written
        logging.getLogger("twin").info("%s failed", args.command, exc_info=True)
        print(
            f"twin {args.command}: error: {exc}; nothing was replaced (-v for details)",
            file=sys.stderr,
        )
        return 1
    except KeyboardInterrupt:
        print(f"twin {args.command}: interrupted", file=sys.stderr)
        return 130


def _subparser(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The parser of the subcommand ``args`` is for (the top-level parser when none)."""
    found = parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and args.command in action.choices:
            found = action.choices[args.command]
            for inner in found._actions:
                name = getattr(args, inner.dest, None) if inner.dest else None
                if isinstance(inner, argparse._SubParsersAction) and name in inner.choices:
                    return inner.choices[name]
    return found


if __name__ == "__main__":
    sys.exit(main())
