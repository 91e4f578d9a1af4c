"""``twin profile init SOURCE -o PROFILE.toml`` and ``twin profile check PROFILE.toml``: a city's
profile (everything specific to a city, in one TOML file)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

#: What the first line of a profile written by ``twin profile init`` holds.
MARK = "written by `twin profile init"


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "profile",
        help="write or check a city profile (population, trip rates, tourists, emergency…)",
        description="A city profile holds what OpenStreetMap cannot tell about a city: its "
        "name, population, road-class defaults, trip rates and purposes, vehicle mix, "
        "departure profile, tourists and attraction table, emergency call rates and units "
        "(format: twin/city_profile.py; Huế's: twin/defaults/hue_profile.toml).",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    init = actions.add_parser(
        "init",
        help="write a starting profile for a new extract",
        description="Build the extract in memory and write a profile: what the data give "
        "(area, CRS, population estimate, named sights, counts of hospitals and lodgings) "
        "filled in, every other value Huế's, marked PLACEHOLDER and listed in "
        "[profile] placeholders to be checked.",
    )
    init.add_argument("source", type=Path, help="an OSM file (.osm, .osm.pbf, .osm.bz2)")
    init.add_argument("-o", "--output", type=Path, required=True, metavar="PROFILE.toml")
    init.add_argument("--force", action="store_true", help="replace an existing file")
    init.add_argument("-q", "--quiet", action="store_true", help="no progress on stderr")
    init.set_defaults(handler=run_init)
    check = actions.add_parser(
        "check",
        help="check a profile as a build and a run will",
        description="Read a profile and check every section (the parameter families as a "
        "run checks them); list the values still marked as placeholders.",
    )
    check.add_argument("profile", type=Path, metavar="PROFILE.toml")
    check.set_defaults(handler=run_check)


def is_profile_template(path: Path) -> bool:
    """Whether ``path`` is a profile that ``twin profile init`` wrote (its first line says
    so), which ``--force`` may replace."""
    try:
        with path.open(encoding="utf-8") as fh:
            return MARK in fh.readline()
    except (OSError, UnicodeDecodeError):
        return False


def run_init(args: argparse.Namespace) -> int:
    from twin.build.pipeline import build_city
    from twin.errors import OutputError
    from twin.output_paths import check_output_file
    from twin.profile_template import profile_template

    check_output_file(
        args.output,
        what="a profile written by `twin profile init`",
        replaceable=is_profile_template,
        inputs={"the OSM extract": args.source},
        option="-o",
    )
    if args.output.exists() and not args.force:
        raise OutputError(
            f"-o {args.output} exists (a profile written by `twin profile init`, perhaps "
            "edited since); pass --force to replace it, or choose another -o file"
        )
    started = time.perf_counter()

    def progress(stage: str) -> None:
        if not args.quiet:
            elapsed = time.perf_counter() - started
            print(f"[{elapsed:5.1f}s] {stage}", file=sys.stderr, flush=True)

    city = build_city(args.source, progress=progress)
    text = profile_template(city, source=str(args.source))
    _write_atomic(args.output, text)
    profile = _check(args.output)
    print(
        f"wrote {args.output}: {len(profile.placeholders)} values to check, marked PLACEHOLDER "
        f"({', '.join(profile.placeholders)}); edit them, then `twin build {args.source} "
        f"--profile {args.output}`"
    )
    return 0


def run_check(args: argparse.Namespace) -> int:
    profile = _check(args.profile)
    lon0, lat0, lon1, lat1 = profile.area
    total = (
        f"{profile.population_total:,.0f} ({profile.population_source}"
        f"{', ' + str(profile.population_year) if profile.population_year else ''})"
        if profile.population_total is not None
        else f"estimated from floor area at {profile.floor_m2_per_resident:g} m² per resident"
    )
    print(f"{args.profile}: {profile.name_vi} / {profile.name_en}")
    print(f"  area        lon {lon0:g} to {lon1:g}, lat {lat0:g} to {lat1:g}")
    print(f"  population  {total}")
    print(f"  road classes {len(profile.roads)}; families {', '.join(profile.families) or '-'}")
    if profile.placeholders:
        print(f"  to check    {', '.join(profile.placeholders)}")
    else:
        print("  to check    nothing (no placeholders)")
    return 0


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically, flushed to disk."""
    from twin.atomic import atomic_path

    with atomic_path(path, sync=True) as tmp:
        tmp.write_text(text, encoding="utf-8")


def _check(path: Path):
    from sim.city_profile import check_profile
    from twin.city_profile import load_profile

    profile = load_profile(path)
    check_profile(profile)
    return profile
