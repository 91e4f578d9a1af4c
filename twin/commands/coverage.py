"""``twin coverage``: the share of residents within T minutes of a station, by hour of day."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "coverage",
        help="share of residents within T minutes of a station, by hour",
        description="Share of residents within T minutes of the nearest station (hospitals "
        "for ambulances, fire stations for fire engines), for each hour of the day, using "
        "the congested travel times of a simulated day: those of --run RUN_DIR, or of a day "
        "simulated now (traffic and tourists) with --seed and --scale.",
    )
    add_city_arguments(parser)
    parser.add_argument(
        "--minutes", type=float, default=8.0, help="the time standard, minutes (default 8)"
    )
    parser.add_argument(
        "--zones-csv",
        type=Path,
        metavar="FILE",
        help="write the map-ready table per zone: zone, name, hour, share, population",
    )
    parser.add_argument("--json", action="store_true", help="print the shares per hour as JSON")
    parser.set_defaults(handler=run)


def add_city_argument(parser: argparse.ArgumentParser) -> None:
    """``--city CITY.twin``, the city bundle a command reads (``twin run``, ``twin coverage``,
    ``twin site``); :func:`twin.build.pipeline.load_city` turns it into a city."""
    parser.add_argument(
        "--city", type=Path, metavar="CITY.twin", help="a city bundle (default: Huế)"
    )


def add_city_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments ``twin coverage`` and ``twin site`` share: city, congestion, unit type."""
    add_city_argument(parser)
    parser.add_argument(
        "--run",
        type=Path,
        metavar="RUN_DIR",
        help="take congestion from this run folder (twin run -o RUN_DIR) instead of "
        "simulating a day",
    )
    parser.add_argument(
        "--free-flow", action="store_true", help="ignore congestion (free-flow travel times)"
    )
    parser.add_argument(
        "--type",
        dest="unit_type",
        default="ambulance",
        metavar="TYPE",
        help="unit type: ambulance (bases: hospitals) or fire_engine (fire stations)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of simulated days (default 0)")
    parser.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="demand scale of the simulated day (below 1 is faster but less congested)",
    )
    parser.add_argument(
        "--save-run",
        type=Path,
        metavar="RUN_DIR",
        help="keep the simulated day in this run folder (reuse it with --run)",
    )
    parser.add_argument(
        "--no-tourists",
        action="store_true",
        help="simulate the day's traffic without the tourists' taxis and buses",
    )
    parser.add_argument(
        "--params",
        type=Path,
        metavar="FILE",
        help="emergency parameters (TOML) over the defaults and the city's profile",
    )


def day_parts(args: argparse.Namespace) -> set[str]:
    """The parts of a run whose parameters the congestion of ``args`` reads: those of the
    day simulated now (none with --run, whose own notes say it, or with --free-flow)."""
    if args.run is not None or args.free_flow:
        return set()
    return {"demand", "traffic"} | (set() if args.no_tourists else {"tourists"})


def congestion(args: argparse.Namespace, city, params):
    """Hourly emergency link times per the arguments (a
    :class:`sim.emergency.congestion.Congestion`), with a progress bar on stderr."""
    from sim.emergency.congestion import day_link_times
    from twin.errors import ConfigError

    if args.run is not None and args.free_flow:
        raise ConfigError("give either --run RUN_DIR or --free-flow, not both")
    if args.save_run is not None and (args.run is not None or args.free_flow):
        raise ConfigError(
            "--save-run keeps a simulated day; it cannot go with --run or --free-flow"
        )
    if args.save_run is not None:
        from sim.outputs import check_run_dir

        # refuse a used folder before the day is simulated
        check_run_dir(args.save_run, inputs=command_inputs(args), option="--save-run")
    if args.run is None and not args.free_flow:
        from tqdm import tqdm

        with tqdm(
            total=24,
            desc="simulating a day",
            unit="h",
            file=sys.stderr,
            bar_format="{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total} h [{elapsed}]",
        ) as bar:

            def progress(clock: float) -> None:
                bar.update(min(clock / 3600.0, 24.0) - bar.n)

            return day_link_times(
                city,
                params,
                seed=args.seed,
                scale=args.scale,
                tourists=not args.no_tourists,
                progress=progress,
                save_run=args.save_run,
            )
    return day_link_times(city, params, run_dir=args.run, free_flow=args.free_flow)


def command_inputs(args: argparse.Namespace) -> dict:
    """The inputs of ``twin coverage`` or ``twin site``, which no output may be or hold."""
    return {
        "the city bundle": args.city,
        "the run folder (--run)": args.run,
        "the emergency parameters (--params)": args.params,
    }


#: The header of the zone table ``--zones-csv`` writes (an earlier one may be replaced).
ZONE_TABLE_COLUMNS = ("zone", "name", "hour", "share", "population")


def is_zone_table(path: Path) -> bool:
    """Whether ``path`` is a zone table written by ``twin coverage --zones-csv``."""
    try:
        with path.open(encoding="utf-8") as fh:
            return fh.readline().strip() == ",".join(ZONE_TABLE_COLUMNS)
    except (OSError, UnicodeDecodeError):
        return False


def stations_of(city, params, unit_type: str):
    """The city's stations of ``unit_type``; an error saying what to do when there are none."""
    from sim.emergency.params import UNIT_TYPES
    from sim.emergency.stations import NoUnitsError, city_stations

    stations = city_stations(city, params, unit_type=unit_type)
    if not stations:
        raise NoUnitsError(
            f"the city has no {UNIT_TYPES[unit_type]} POIs, so no {unit_type} stations; "
            f"propose some with `twin site --add K --type {unit_type}`"
        )
    return stations


def write_csv_atomic(table, path: Path) -> None:
    """Write a DataFrame as CSV through a temporary file in the same folder."""
    from twin.atomic import atomic_path

    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        table.to_csv(fh, index=False)


def run(args: argparse.Namespace) -> int:
    from sim.city_profile import city_emergency_params, command_notes
    from sim.emergency.coverage import coverage_by_hour, coverage_by_zone
    from sim.emergency.incidents import residents_by_node
    from sim.emergency.stations import check_unit_type
    from twin.build.pipeline import load_city
    from twin.errors import ConfigError
    from twin.output_paths import check_output_file

    check_unit_type(args.unit_type)
    if not (math.isfinite(args.minutes) and args.minutes > 0):
        raise ConfigError(f"--minutes must be a positive number; got {args.minutes}")
    if not (math.isfinite(args.scale) and args.scale > 0):
        raise ConfigError(f"--scale must be a positive number; got {args.scale}")
    if args.zones_csv is not None:
        check_output_file(
            args.zones_csv,
            what="a zone table of twin coverage",
            replaceable=is_zone_table,
            inputs=command_inputs(args),
            option="--zones-csv",
            within_inputs=True,
        )
    city = load_city(args.city)
    params = city_emergency_params(city, args.params)
    notes = command_notes(city, used=day_parts(args))
    stations = stations_of(city, params, args.unit_type)
    day = congestion(args, city, params)
    hourly, source = day.hourly, day.description
    nodes = sorted({s.node for s in stations})
    population = residents_by_node(city)
    by_hour = coverage_by_hour(city, hourly, nodes, minutes=args.minutes, population=population)
    if args.zones_csv is not None:
        zones = coverage_by_zone(city, hourly, nodes, minutes=args.minutes, population=population)
        write_csv_atomic(zones[list(ZONE_TABLE_COLUMNS)], args.zones_csv)
    shares = [float(s) for s in by_hour["share"]]
    if args.json:
        print(
            json.dumps(
                {
                    "city": city.name,
                    "unit_type": args.unit_type,
                    "minutes": args.minutes,
                    "stations": len(nodes),
                    "population": float(population.sum()),
                    "congestion": source,
                    "share_by_hour": shares,
                    "share_mean": sum(shares) / len(shares),
                    "share_min": min(shares),
                    "zones_csv": str(args.zones_csv) if args.zones_csv else None,
                    "notes": notes,
                },
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    print(
        f"{city.name}: residents within {args.minutes:g} min of one of {len(nodes)} "
        f"{args.unit_type} stations ({source})"
    )
    print("hour  share")
    for hour, share in enumerate(shares):
        print(f"{hour:02d}:00 {100 * share:5.1f} %  {'#' * round(40 * share)}")
    worst = min(range(24), key=shares.__getitem__)
    print(
        f"mean {100 * sum(shares) / 24:.1f} %, worst {100 * shares[worst]:.1f} % at {worst:02d}:00"
    )
    if args.zones_csv is not None:
        print(f"wrote the zone table to {args.zones_csv}")
    for note in notes:
        print(f"note: {note}")
    return 0
