"""``twin site --add K --type ambulance``: propose new stations and check them by simulation."""

from __future__ import annotations

import argparse
import json
import math
import sys

from twin.commands.coverage import add_city_arguments, congestion, day_parts


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "site",
        help="propose K new stations and check them by simulation",
        description="Propose K new station sites on candidate junctions with a maximal "
        "covering (mclp) or expected covering (mexclp) model, solved greedily or exactly, "
        "on the congested travel times of a simulated day (a call is covered when a unit can "
        "drive there in the standard minus the mean dispatch delay and turnout); then "
        "simulate emergency response "
        "with and without the new stations (same seeds: common random numbers) and report "
        "the share of calls reached within the standard before and after.",
    )
    parser.add_argument("--add", type=int, required=True, metavar="K", help="stations to add")
    add_city_arguments(parser)
    parser.add_argument(
        "--model",
        choices=("mclp", "mexclp"),
        default="mclp",
        help="maximal covering (mclp, default) or expected covering (mexclp)",
    )
    parser.add_argument(
        "--exact", action="store_true", help="solve the integer programme (default: greedy)"
    )
    parser.add_argument(
        "--minutes", type=float, default=8.0, help="the time standard, minutes (default 8)"
    )
    parser.add_argument(
        "--units",
        type=int,
        default=None,
        help="units at each new station (default: the per-station default of the type)",
    )
    parser.add_argument(
        "--candidates",
        type=int,
        default=400,
        help="most candidate junctions considered (default 400)",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=5,
        help="days simulated (seeds seed..seed+days-1) for the check (default 5; 0 skips)",
    )
    parser.add_argument(
        "--json", action="store_true", help="print the proposal and both shares as JSON"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from sim.city_profile import city_emergency_params, command_notes
    from sim.emergency.covering_models import SitingError
    from sim.emergency.siting import (
        new_station_units,
        propose_stations,
        simulate_check,
        travel_budget_s,
    )
    from sim.emergency.stations import NoUnitsError, check_unit_type
    from twin.build.pipeline import load_city
    from twin.errors import ConfigError

    unit_type = check_unit_type(args.unit_type)
    if args.add < 1:
        raise SitingError(f"--add must be at least 1 station; got {args.add}")
    if not (math.isfinite(args.minutes) and args.minutes > 0):
        raise ConfigError(f"--minutes must be a positive number; got {args.minutes}")
    if args.days < 0:
        raise ConfigError(f"--days must be 0 or more; got {args.days}")
    if args.units is not None and args.units < 1:
        raise NoUnitsError(
            f"new stations need at least 1 unit; got {args.units} (from --units); "
            "pass --units 1 or more"
        )
    city = load_city(args.city)
    params = city_emergency_params(city, args.params)
    # fail before a day is simulated: the standard must leave time to drive, and new
    # stations need units
    travel_budget_s(params, args.minutes)
    units = new_station_units(params, unit_type, args.units)
    notes = command_notes(city, emergency=params, used={"emergency", *day_parts(args)})
    day = congestion(args, city, params)
    hourly, source = day.hourly, day.description
    proposal = propose_stations(
        city,
        args.add,
        unit_type=unit_type,
        params=params,
        hourly_times=hourly,
        model=args.model,
        exact=args.exact,
        minutes=args.minutes,
        units=units,
        max_candidates=args.candidates,
    )
    budget_s, lead_s = proposal.travel_budget_s, proposal.lead_s
    net = city.drive
    check = None
    if args.days:
        seeds = [args.seed + d for d in range(args.days)]
        with tqdm(total=2 * len(seeds), desc="simulating", unit="day", file=sys.stderr) as bar:
            check = simulate_check(
                city,
                day,
                params,
                proposal.stations,
                unit_type=unit_type,
                seeds=seeds,
                minutes=args.minutes,
                progress=lambda: bar.update(1),
            )
    demand_total = proposal.demand_calls_per_day
    sites = [
        {
            "node": int(node),
            "node_id": int(net.node_id[node]),
            "x": float(net.x[node]),
            "y": float(net.y[node]),
            "lon": float(net.lon[node]),
            "lat": float(net.lat[node]),
            "units": units,
        }
        for node in proposal.nodes
    ]
    out = {
        "city": city.name,
        "unit_type": unit_type,
        "model": args.model,
        "exact": bool(args.exact),
        "minutes": args.minutes,
        "travel_budget_s": budget_s,
        "congestion": source,
        "existing_stations": len(proposal.existing),
        "candidates": len(proposal.candidates),
        "busy_probability": proposal.busy,
        "proposed": sites,
        "objective_before": proposal.objective_before,
        "objective_after": proposal.objective_after,
        "demand_calls_per_day": demand_total,
        "simulated_days": list(check.seeds) if check else [],
        "simulated_calls": check.calls if check else 0,
        "share_within_8min_before": check.share(8.0, "before") if check else None,
        "share_within_8min_after": check.share(8.0, "after") if check else None,
        "share_within_minutes_before": check.before if check else None,
        "share_within_minutes_after": check.after if check else None,
        "share_within_before_by_day": list(check.before_by_seed) if check else [],
        "share_within_after_by_day": list(check.after_by_seed) if check else [],
        "notes": notes,
    }
    if args.json:
        print(json.dumps(_plain(out), ensure_ascii=False, indent=2))
        return 0
    what = "expected covered calls/day" if args.model == "mexclp" else "covered calls/day"
    print(
        f"{city.name}: {args.add} new {unit_type} station(s) by {args.model} "
        f"({'exact' if args.exact else 'greedy'}) among {len(proposal.candidates)} "
        f"candidates, {len(proposal.existing)} existing ({source})"
    )
    for k, p in enumerate(sites, start=1):
        print(
            f"  {k}. node {p['node']} (OSM {p['node_id']}) at {p['lat']:.5f}, {p['lon']:.5f} "
            f"with {units} unit(s)"
        )
    print(
        f"model: {what} {proposal.objective_before:.2f} -> {proposal.objective_after:.2f} "
        f"of {demand_total:.2f} ({args.minutes:g}-minute standard: {budget_s:.0f} s to drive "
        f"after {lead_s:.0f} s of dispatch and turnout)"
    )
    if check:
        print(
            f"simulated {len(check.seeds)} day(s), {check.calls} calls: reached within "
            f"{args.minutes:g} min {100 * check.before:.1f} % -> {100 * check.after:.1f} %"
        )
    for note in notes:
        print(f"note: {note}")
    return 0


def _plain(value):
    """NaN to None so the JSON is valid."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
