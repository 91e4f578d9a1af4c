"""``twin export CITY.twin --gmns DIR``: write a city's drive network in another format."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "export",
        help="write a city's network in another format (GMNS)",
        description="Write the drive network of a .twin city as a GMNS folder "
        "(node.csv, link.csv, config.csv; metres, km/h, capacity per lane, the city's CRS) "
        "with twin-export.json, the tables' checksums. DIR must be new or empty; --force "
        "replaces an earlier export that is unchanged since, and never anything else.",
    )
    parser.add_argument("city", type=Path, help="the .twin bundle to export")
    parser.add_argument("--gmns", type=Path, required=True, metavar="DIR", help="output folder")
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace DIR if it holds an earlier export, unchanged since (never anything else)",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from twin.build.gmns import is_gmns_export, write_gmns
    from twin.build.pipeline import load_city
    from twin.output_paths import check_output_folder

    inputs = {"the city bundle": args.city}
    # refuse a taken folder before the city is read; write_gmns checks it again
    check_output_folder(
        args.gmns,
        what="GMNS export",
        earlier=is_gmns_export,
        force=args.force,
        inputs=inputs,
        option="--gmns",
    )
    city = load_city(args.city)
    out, n_links = write_gmns(city, args.gmns, overwrite=args.force, inputs=inputs)
    print(f"wrote {city.drive.n_nodes:,} nodes and {n_links:,} links to {out}")
    return 0
