"""The ``twin`` command line (filled in by the city-build work)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``twin`` command."""
    print("twin: no commands yet", file=sys.stderr)
    return 2
