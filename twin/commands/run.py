"""``twin run``: simulate a day (or a window of one) and write its records to a run folder."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from twin.clock import parse_clock
from twin.commands.coverage import add_city_argument

_DAY = 86_400.0


def _window_time(text: str, option: str) -> float:
    """A time of the run's window (up to 48:00, a run may pass midnight), seconds."""
    from sim.spec import SpecError

    return parse_clock(text, what=option, error=SpecError, latest=2 * _DAY)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="simulate a day of traffic, tourists and emergency response",
        description="Simulate a day (or the window --start..--end) on the default city or "
        "CITY.twin, print the KPIs and write trips.parquet, links.parquet, visits.parquet, "
        "incidents.parquet, kpis.parquet, kpis.json and manifest.json to RUN_DIR. The options "
        "make a run specification (see --dry-run); --spec runs one from a file. Times are "
        "seconds after midnight in the outputs.",
    )
    parser.add_argument(
        "scenario",
        nargs="?",
        metavar="SCENARIO",
        help="a scenario: a .toml file or a library name such as hue/festival (see `twin "
        "scenario list`); its first replication runs",
    )
    add_city_argument(parser)
    parser.add_argument(
        "--spec",
        type=Path,
        metavar="SPEC.toml",
        help="run this specification (TOML or JSON, e.g. from --dry-run or a manifest)",
    )
    parser.add_argument(
        "--trips",
        type=Path,
        metavar="TRIPS.csv",
        help="trips to run (origin, destination, depart[, vehicle_class, trip_id]); "
        "default: synthesise the city's demand",
    )
    parser.add_argument("--start", default=None, help="window start, HH:MM (default 00:00)")
    parser.add_argument("--end", default=None, help="window end, HH:MM (default 24:00)")
    parser.add_argument("--seed", type=int, default=None, help="random seed >= 0 (default 0)")
    parser.add_argument(
        "--scale",
        type=float,
        default=None,
        help="multiplier on synthesised demand (default 1; the same as --set demand.scale=F)",
    )
    parser.add_argument(
        "--close",
        action="append",
        default=[],
        metavar="ROAD[@FROM[-UNTIL]]",
        help="close a road (OSM name such as 'Cầu Trường Tiền', or OSM way id) from FROM "
        "(HH:MM; default the start) until UNTIL (default the end); repeat for several roads",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set a parameter by its dotted key, e.g. demand.scale=1.2, "
        "emergency.units.ambulances_per_hospital=3, traffic.refresh_s=120; repeat for several",
    )
    parser.add_argument("--no-tourists", action="store_true", help="leave tourists out")
    parser.add_argument("--no-emergency", action="store_true", help="leave emergency response out")
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the resolved run specification as TOML and its digest; run nothing",
    )
    parser.add_argument(
        "--force", action="store_true", help="replace RUN_DIR if it holds an earlier run"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument(
        "-o", "--output", type=Path, metavar="RUN_DIR", help="run folder (not with --dry-run)"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from sim.outputs import check_run_dir, write_run
    from sim.runner import check_city
    from sim.runner import run as run_spec
    from sim.spec import RunSpec, SpecError
    from twin.build.pipeline import load_city

    if args.output is None and not args.dry_run:
        raise SpecError("give the run folder with -o RUN_DIR (or --dry-run to run nothing)")
    inputs = {
        "the city bundle (--city)": args.city,
        "the trips (--trips)": args.trips,
        "the specification (--spec)": args.spec,
    }
    if args.scenario is not None and Path(args.scenario).is_file():
        inputs["the scenario file"] = args.scenario
    writes = args.output is not None and not args.dry_run
    if writes:
        from scenarios.catalog import check_catalog_root

        check_run_dir(args.output, force=args.force, inputs=inputs)
        check_catalog_root()  # the run is registered there: a root that is a file fails now
    _refuse_fixed_options(args)
    from_file = None
    if args.spec is not None:
        from_file = RunSpec.read(args.spec)
        if not args.city and from_file.city.bundle:
            # the bundle the specification names, as rerun does
            args.city = Path(from_file.city.bundle)
            if not args.city.is_file():
                raise SpecError(
                    f"{args.spec} names the city bundle {args.city}, which does not exist "
                    "here; give the city with --city CITY.twin"
                )
            inputs["the city bundle the specification names"] = args.city
            if writes:
                check_run_dir(args.output, force=args.force, inputs=inputs)
    scenario = None
    if args.scenario is not None:
        from scenarios.compare import scenario_city
        from scenarios.scenario import load_scenario

        scenario = load_scenario(args.scenario)
        if writes and not args.city and scenario.city:
            inputs["the scenario's city bundle"] = scenario.city
            check_run_dir(args.output, force=args.force, inputs=inputs)
        city, args.city = (
            (load_city(args.city), args.city) if args.city else scenario_city(scenario)
        )
    else:
        city = load_city(args.city)
    spec = make_spec(args, city, scenario) if from_file is None else from_file
    check_city(city, spec)  # before the progress bar: the error is the first line
    if args.dry_run:
        print(spec.to_toml(), end="")
        print(f"digest: {spec.digest}")
        return 0
    bar = None if args.no_progress else _progress_bar(spec.window.start, spec.window.end)
    try:
        result = run_spec(city, spec, progress=bar.update_clock if bar is not None else None)
    finally:
        if bar is not None:
            bar.close()
    out = write_run(result, args.output, force=args.force)
    from scenarios.catalog import register_run

    entry = register_run(out, labels={"scenario": scenario.name if scenario else "run"})
    print(
        format_summary(
            result.kpis, city_name=city.name, start=spec.window.start, end=spec.window.end
        )
    )
    for note in result.kpis.get("notes", []):
        print(f"warning: {note}")
    print(f"digest {spec.digest}")
    print(f"wrote {out} (run {entry.run_id} in the catalog)")
    return 0


def _refuse_fixed_options(args: argparse.Namespace) -> None:
    """A scenario or ``--spec`` runs as written: options that would change it are errors."""
    from sim.spec import SpecError

    scenario = args.scenario is not None
    if not scenario and args.spec is None:
        return
    fixed = "--spec runs the file" if not scenario else "a scenario runs"
    given = [
        option
        for option, value in (
            ("--trips", args.trips),
            ("--start", args.start),
            ("--end", args.end),
            ("--scale", args.scale),
            ("--close", args.close),
            ("--no-tourists", args.no_tourists),
            ("--no-emergency", args.no_emergency),
            *(() if scenario else (("--seed", args.seed), ("--set", args.settings))),
            ("--spec", args.spec if scenario else None),
        )
        if value
    ]
    if given:
        raise SpecError(
            f"{fixed} as it is; {', '.join(given)} cannot change it. Edit "
            "the file, or leave it out and give the options"
        )


def make_spec(args: argparse.Namespace, city, scenario=None):
    """The run specification the options describe, the scenario compiles to (with ``--seed``
    and ``--set`` laid over it), or the file of ``--spec`` holds."""
    from sim.parameters import Layer
    from sim.spec import RunSpec, SpecError, Window
    from sim.spec_builder import build_spec, closure_from_text

    if scenario is not None or args.spec is not None:
        _refuse_fixed_options(args)
        if scenario is None:
            return RunSpec.read(args.spec)
        from scenarios.compile import compile_scenario

        return compile_scenario(
            scenario, city, seed=args.seed, bundle=args.city, settings=args.settings
        )
    start = _window_time(args.start or "00:00", "--start")
    end = _window_time(args.end or "24:00", "--end")
    if end <= start:
        raise SpecError(
            f"--end {args.end} is not after --start {args.start or '00:00'}; give an end later "
            "than the start (use 24:00 for midnight, up to 48:00 to run past it)"
        )
    window = Window(start, end)
    closures = [closure_from_text(city, text, window=window) for text in args.close]
    overrides = []
    if args.scale is not None:
        overrides.append(("demand", Layer("--scale", {"scale": args.scale})))
    return build_spec(
        city,
        seed=0 if args.seed is None else args.seed,
        start=start,
        end=end,
        tourists=not args.no_tourists,
        emergency=not args.no_emergency,
        overrides=overrides,
        settings=args.settings,
        interventions=closures,
        trips=args.trips,
        bundle=args.city,
    )


class _ClockBar:
    """A tqdm bar over simulated seconds that shows the simulated clock."""

    def __init__(self, start: float, end: float) -> None:
        from tqdm import tqdm

        self.start = start
        self.bar = tqdm(
            total=round(end - start),
            unit="sim s",
            unit_scale=True,
            file=sys.stderr,
            dynamic_ncols=True,
            bar_format="{desc} {percentage:3.0f}%|{bar}| {elapsed} elapsed, {remaining} left",
            desc=f"simulating {_clock(start)}",
        )

    def update_clock(self, now: float) -> None:
        self.bar.set_description_str(f"simulating {_clock(now)}", refresh=False)
        self.bar.update(round(now - self.start) - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def _progress_bar(start: float, end: float) -> _ClockBar:
    return _ClockBar(start, end)


def _clock(seconds: float) -> str:
    h, rem = divmod(round(seconds), 3600)
    return f"{h:02d}:{rem // 60:02d}"


# -- the summary -------------------------------------------------------------------------------
_TRAFFIC = (
    ("trips", "trips_total", "{:,.0f}"),
    ("completed", "trips_completed", "{:,.0f}"),
    ("unfinished", "trips_unfinished", "{:,.0f}"),
    ("vehicle-km", "vehicle_km", "{:,.0f}"),
    ("vehicle-hours", "vehicle_hours", "{:,.0f}"),
    ("mean speed km/h", "mean_speed_kmh", "{:.1f}"),
    ("total delay h", "total_delay_h", "{:,.0f}"),
    ("CO2 t", "co2_kg", "{:,.1f}", 1e-3),
    ("gridlock", "gridlock", "{}"),
)
_TOURISTS = (
    ("tourists", "tourists_total", "{:,.0f}"),
    ("visits", "visits_total", "{:,.0f}"),
    ("gate wait mean s", "gate_wait_mean_s", "{:.0f}"),
    ("gate wait p90 s", "gate_wait_p90_s", "{:.0f}"),
    ("visits missed", "visits_missed", "{:,.0f}"),
)
_EMERGENCY = (
    ("incidents", "incidents_total", "{:,.0f}"),
    ("response mean s", "response_time_mean_s", "{:.0f}"),
    ("response median s", "response_time_median_s", "{:.0f}"),
    ("response p90 s", "response_time_p90_s", "{:.0f}"),
    ("within 8 min", "share_within_8min", "{:.0%}"),
    ("within 15 min", "share_within_15min", "{:.0%}"),
    ("calls waited", "calls_waited", "{:,.0f}"),
)


def _cells(kpis: dict, rows) -> list[tuple[str, str]]:
    cells = []
    for label, key, fmt, *factor in rows:
        if key not in kpis:
            continue
        value = kpis[key]
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            text = "-"
        else:
            try:
                text = fmt.format(value * factor[0] if factor else value)
            except (TypeError, ValueError):
                text = str(value)
        cells.append((label, text))
    return cells


def format_summary(
    kpis: dict, *, city_name: str = "", start: float = 0.0, end: float = _DAY
) -> str:
    """The KPI summary ``twin run`` prints: traffic, tourists and emergency side by side."""
    columns = [("Traffic", _cells(kpis, _TRAFFIC))]
    for title, rows in (("Tourists", _TOURISTS), ("Emergency", _EMERGENCY)):
        cells = _cells(kpis, rows)
        if cells:
            columns.append((title, cells))
    widths = [
        (max(len(lbl) for lbl, _ in cells), max(len(txt) for _, txt in cells))
        for _, cells in columns
    ]
    lines = [f"{city_name} {_clock(start)}-{_clock(end)}".strip()]
    header = "   ".join(
        title.ljust(lw + vw + 2) for (title, _), (lw, vw) in zip(columns, widths, strict=True)
    )
    lines.append(header.rstrip())
    for i in range(max(len(cells) for _, cells in columns)):
        parts = []
        for (_, cells), (lw, vw) in zip(columns, widths, strict=True):
            if i < len(cells):
                label, text = cells[i]
                parts.append(f"{label.ljust(lw)}  {text.rjust(vw)}")
            else:
                parts.append(" " * (lw + vw + 2))
        lines.append("   ".join(parts).rstrip())
    return "\n".join(lines)
