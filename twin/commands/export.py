"""``twin export CITY.twin --gmns DIR``: write a city's drive network in another format."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a city's network in another format (GMNS)",
        description="Write the drive network of a .twin city as a GMNS folder "
        "(node.csv, link.csv, config.csv; metres, km/h, capacity per lane, the city's CRS).",
    )
    parser.add_argument("city", type=Path, help="the .twin bundle to export")
    parser.add_argument("--gmns", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument("--force", action="store_true", help="replace DIR if it is not empty")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from twin.build.gmns import write_gmns
    from twin.build.pipeline import load_city

    city = load_city(args.city)
    out, n_links = write_gmns(city, args.gmns, overwrite=args.force)
    print(f"wrote {city.drive.n_nodes:,} nodes and {n_links:,} links to {out}")
    return 0
