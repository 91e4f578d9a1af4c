"""``twin build [SOURCE] -o CITY.twin``: compile a city from OSM, a place name or GMNS."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "build",
        help="build a city bundle from an OSM file, a place name or a GMNS network",
        description="Build a city (drive and walk networks, POIs, buildings, population, "
        "zones) into a .twin bundle. With no SOURCE, builds the default city (Huế) from "
        "the extract that TWIN_OSM_PATH or twin.toml names. A bundle that is already "
        "current (same source checksum and parameters) is kept unless --force.",
    )
    parser.add_argument(
        "source",
        nargs="?",
        type=Path,
        help="an OSM file (.osm, .osm.pbf, .osm.bz2); omit for the default city",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="CITY.twin",
        help="the bundle to write (default: the cache's hue.twin for the default city, "
        "else SOURCE's name with .twin in the current folder)",
    )
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--place", metavar="NAME", help="download NAME with osmnx (needs internet)")
    source.add_argument(
        "--gmns", type=Path, metavar="DIR", help="read a GMNS network (node.csv, link.csv)"
    )
    parser.add_argument(
        "--crs",
        help="OSM: the projected CRS to build in (default: the UTM zone of the extract's "
        "centre, EPSG:32648 for Huế); GMNS: the CRS of x_coord/y_coord, e.g. EPSG:4326",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help="the city's profile (TOML; `twin profile init` writes one); default: Huế's, "
        "twin/defaults/hue_profile.toml",
    )
    gmns = parser.add_argument_group("GMNS units (override the folder's config.csv)")
    gmns.add_argument("--length-unit", help="unit of link length: m, km, mi or ft")
    gmns.add_argument("--speed-unit", help="unit of free_speed: kph, mph or m/s")
    parser.add_argument(
        "--road-defaults",
        type=Path,
        metavar="FILE",
        help="CSV overriding rows of the road defaults (twin/defaults/road_classes.csv)",
    )
    parser.add_argument(
        "--population",
        type=float,
        metavar="N",
        help="residents to distribute (default: the profile's total when the extract lies in "
        "its area, Huế's 652,572 for Huế; else an estimate from residential floor area)",
    )
    parser.add_argument(
        "--no-extra-pois",
        action="store_true",
        help="do not add the extra POIs (the tombs past the extract's edge)",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if current")
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress on stderr (shown on a terminal)"
    )
    parser.set_defaults(handler=run)


class _Progress:
    """Prints each build stage with the elapsed time on stderr, when it is a terminal (a
    log or a pipe gets the errors alone; ``-v`` logs the stages)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet = quiet or not sys.stderr.isatty()
        self.started = time.perf_counter()

    def __call__(self, stage: str) -> None:
        if not self.quiet:
            elapsed = time.perf_counter() - self.started
            print(f"[{elapsed:5.1f}s] {stage}", file=sys.stderr, flush=True)


def _default_output(args: argparse.Namespace) -> Path:
    from twin.settings import get_settings

    if args.output is not None:
        return args.output
    if args.source is None and args.place is None and args.gmns is None:
        return get_settings().default_bundle
    if args.gmns is not None:
        return Path(f"{args.gmns.resolve().name}.twin")
    if args.place is not None:
        from twin.build.osm import _slug

        return Path(f"{_slug(args.place)}.twin")
    from twin.build.osm import bundle_name

    return Path(bundle_name(args.source))


def run(args: argparse.Namespace) -> int:
    from twin.build.pipeline import build_bundle, build_city
    from twin.build.summary import city_summary
    from twin.bundle import replaceable_bundle, write_bundle
    from twin.errors import ConfigError
    from twin.output_paths import check_output_file
    from twin.settings import default_osm_path

    progress = _Progress(args.quiet)
    output = _default_output(args)
    options = {}
    if args.population is not None:
        options["population"] = args.population
    if args.road_defaults is not None:
        options["road_defaults"] = args.road_defaults
    if args.no_extra_pois:
        options["extra_pois"] = False
    if args.crs is not None and args.gmns is None:
        options["crs"] = args.crs
    if args.profile is not None:
        if args.gmns is not None:
            raise ConfigError(
                "--profile applies to OSM builds; a GMNS network brings its own attributes "
                "and no population (leave --profile out)"
            )
        options["profile"] = _checked_profile(args.profile)

    if args.source is not None and (args.place or args.gmns):
        raise ConfigError(
            "give one of SOURCE, --place NAME or --gmns DIR; they are different inputs"
        )
    if args.place is not None and not args.place.strip():
        raise ConfigError(
            f"--place {args.place!r} is blank; name a place, e.g. --place 'Huế, Vietnam'"
        )
    if args.gmns is not None and args.population is not None:
        raise ConfigError(
            "--population spreads residents over an OSM city's buildings; a GMNS network "
            "holds no buildings and no residents: leave --population out and bring trips "
            "(twin run --trips FILE)"
        )
    source = None
    if args.gmns is None and args.place is None:
        source = args.source if args.source is not None else default_osm_path()
    # the output is checked before the work: never an input, never a file that is not a
    # bundle, always somewhere writable
    check_output_file(
        output,
        what="a city bundle",
        replaceable=replaceable_bundle,
        inputs={
            "the OSM source": source,
            "the GMNS folder (--gmns)": args.gmns,
            "the road defaults (--road-defaults)": args.road_defaults,
        },
        option="-o",
    )
    if args.gmns is not None:
        from twin.build.gmns import read_gmns

        progress(f"reading GMNS network {args.gmns}")
        city = read_gmns(
            args.gmns,
            crs=args.crs,
            long_length=args.length_unit,
            speed=args.speed_unit,
            road_defaults=args.road_defaults,
        )
        progress(f"writing {output}")
        write_bundle(city, output)
        built = True
    elif args.place is not None:
        city = build_city(place=args.place, progress=progress, **options)
        progress(f"writing {output}")
        write_bundle(city, output)
        built = True
    else:
        city, built = build_bundle(source, output, force=args.force, progress=progress, **options)
    summary = city_summary(city)
    verb = "built" if built else "up to date:"
    print(
        f"{verb} {output}: {city.name}, {summary['nodes']:,} nodes, {summary['edges']:,} edges, "
        f"{summary['road_km_total']:,.0f} km of road, {sum(summary['pois'].values()):,} POIs, "
        f"{summary['buildings']:,} buildings, {summary['zones']} zones"
    )
    for note in city.meta.get("notes", []):
        print(f"note: {note}")
    if built:
        progress("done")
    return 0


def _checked_profile(path: Path):
    """The profile, its family sections checked as a run will check them (so a typo is
    found before a build, not at the first run)."""
    from sim.city_profile import check_profile
    from twin.city_profile import load_profile

    profile = load_profile(path)
    check_profile(profile)
    return profile
