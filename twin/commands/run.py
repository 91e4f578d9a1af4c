"""``twin run``: simulate a day (or a window of one) and write its records to a run folder."""

from __future__ import annotations

import argparse
import math
import sys
from pathlib import Path

from twin.clock import parse_clock
from twin.commands.coverage import add_city_argument
from twin.errors import TwinError

_DAY = 86_400.0


class WindowError(TwinError, ValueError):
    """A ``--start``/``--end`` time cannot be read or the window is empty."""


def _window_time(text: str, option: str) -> float:
    """A time of the run's window (up to 48:00, a run may pass midnight), seconds."""
    return parse_clock(text, what=option, error=WindowError, latest=2 * _DAY)


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "run",
        help="simulate a day of traffic, tourists and emergency response",
        description="Simulate a day (or the window --start..--end) on the default city or "
        "CITY.twin, print the KPIs and write trips.parquet, links.parquet, visits.parquet, "
        "incidents.parquet, kpis.json and manifest.json to RUN_DIR. Times are seconds after "
        "midnight in the outputs.",
    )
    add_city_argument(parser)
    parser.add_argument(
        "--trips",
        type=Path,
        metavar="TRIPS.csv",
        help="trips to run (origin, destination, depart[, vehicle_class, trip_id]); "
        "default: synthesise the city's demand",
    )
    parser.add_argument("--start", default="00:00", help="window start, HH:MM (default 00:00)")
    parser.add_argument("--end", default="24:00", help="window end, HH:MM (default 24:00)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiplier on synthesised demand (default 1)"
    )
    parser.add_argument(
        "--close",
        action="append",
        default=[],
        metavar="ROAD[@HH:MM]",
        help="close a road (OSM name such as 'Cầu Trường Tiền', or OSM way id) from the "
        "given time, or from the start; repeat for several roads",
    )
    parser.add_argument("--no-tourists", action="store_true", help="leave tourists out")
    parser.add_argument("--no-emergency", action="store_true", help="leave emergency response out")
    parser.add_argument("--force", action="store_true", help="replace RUN_DIR if not empty")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="RUN_DIR", help="run folder"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from sim.outputs import check_run_dir, write_run
    from sim.runner import run_day
    from twin.build.osm import file_sha256
    from twin.build.pipeline import load_city

    start = _window_time(args.start, "--start")
    end = _window_time(args.end, "--end")
    if end <= start:
        raise WindowError(
            f"--end {args.end} is not after --start {args.start}; give an end later than the "
            "start (use 24:00 for midnight, up to 48:00 to run past it)"
        )
    check_run_dir(args.output, force=args.force)
    city = load_city(args.city)
    trips = None
    if args.trips is not None:
        from twin.demand.trips import read_trips

        trips = read_trips(args.trips, city, start=start, end=end)

    closures = [_closure(city, text, start) for text in args.close]

    bar = None if args.no_progress else _progress_bar(start, end)
    try:
        result = run_day(
            city,
            trips=trips,
            seed=args.seed,
            start=start,
            end=end,
            scale=args.scale,
            tourists=not args.no_tourists,
            emergency=not args.no_emergency,
            closures=closures,
            progress=bar.update_clock if bar is not None else None,
            trips_source=str(args.trips) if args.trips is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()
    if args.city is not None:
        result.manifest["city"]["bundle"] = str(args.city)
        result.manifest["city"]["bundle_sha256"] = file_sha256(args.city)
    out = write_run(result, args.output, force=args.force)
    print(format_summary(result.kpis, city_name=city.name, start=start, end=end))
    print(f"wrote {out}")
    return 0


def _closure(city, text: str, start: float) -> tuple:
    """``"ROAD@HH:MM"`` (or ``"ROAD"``: from the start) → ``(edges, at)`` for ``run_day``."""
    from twin.road_lookup import find_road

    road, _, at = text.rpartition("@") if "@" in text else (text, "", "")
    edges = find_road(city.drive, road)
    return edges, _window_time(at, f"--close {text!r}") if at else start


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
