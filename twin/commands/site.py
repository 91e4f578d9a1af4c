"""``twin site --add K --type ambulance``: propose new stations and check them by simulation."""

from __future__ import annotations

import argparse
import json
import math
import sys

from twin.commands.coverage import add_city_arguments, congestion, stations_of


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
    import numpy as np
    from tqdm import tqdm

    from sim.emergency.coverage import planning_link_times
    from sim.emergency.params import load_emergency_params
    from sim.emergency.siting import (
        SitingError,
        build_problem,
        busy_probability,
        calls_by_node,
        candidate_nodes,
        service_time_estimate,
        simulate_check,
        solve,
    )
    from sim.emergency.stations import NoUnitsError, check_unit_type, station_at
    from twin.build.pipeline import load_city
    from twin.errors import ConfigError

    unit_type = check_unit_type(args.unit_type)
    if args.add < 1:
        raise SitingError(f"--add must be at least 1 station; got {args.add}")
    if not (math.isfinite(args.minutes) and args.minutes > 0):
        raise ConfigError(f"--minutes must be a positive number; got {args.minutes}")
    if args.days < 0:
        raise ConfigError(f"--days must be 0 or more; got {args.days}")
    params = load_emergency_params(args.params)
    # the model covers by travel time: what the response standard leaves after the call is
    # processed and the crew turns out (the simulation measures call to arrival on scene)
    lead_s = params.dispatch_delay_s.mean + params.turnout_s.mean
    budget_s = args.minutes * 60.0 - lead_s
    if budget_s <= 0:
        raise ConfigError(
            f"--minutes {args.minutes:g} leaves no time to drive: dispatch delay and turnout "
            f"take {lead_s:.0f} s on average; give a longer standard"
        )
    units = params.units_per_station(unit_type) if args.units is None else args.units
    if units < 1:
        raise NoUnitsError(
            f"new stations need at least 1 unit; got {units} (from "
            f"{'--units' if args.units is not None else 'the per-station default'}); "
            "pass --units 1 or more"
        )
    city = load_city(args.city)
    existing = stations_of(city, params, unit_type)
    hourly, source = congestion(args, city, params)
    profile = params.hourly_profile["medical" if unit_type == "ambulance" else "fire"]
    times = planning_link_times(hourly, profile)
    demand = calls_by_node(city, params, unit_type)
    taken = {s.node for s in existing}
    candidates = np.array(
        [c for c in candidate_nodes(city, max_candidates=args.candidates) if c not in taken],
        dtype=np.int64,
    )
    total_units = sum(s.units for s in existing)
    busy = busy_probability(
        float(demand.sum()),
        service_time_estimate(params, unit_type, travel_s=budget_s / 2),
        total_units,
    )
    problem = build_problem(
        city,
        times,
        demand=demand,
        stations=[(s.node, s.units) for s in existing],
        candidates=candidates,
        minutes=budget_s / 60.0,
        units_per_station=units,
        busy=busy,
    )
    result = solve(problem, args.add, model=args.model, exact=args.exact)
    net = city.drive
    new = [
        station_at(city, unit_type, node=int(node), units=units, name=f"proposed {k + 1}")
        for k, node in enumerate(result.nodes)
    ]
    check = None
    if args.days:
        seeds = [args.seed + d for d in range(args.days)]
        with tqdm(total=2 * len(seeds), desc="simulating", unit="day", file=sys.stderr) as bar:
            check = simulate_check(
                city,
                hourly,
                params,
                new,
                unit_type=unit_type,
                seeds=seeds,
                minutes=args.minutes,
                progress=lambda: bar.update(1),
            )
    demand_total = float(problem.demand.sum())
    proposal = [
        {
            "node": int(node),
            "node_id": int(net.node_id[node]),
            "x": float(net.x[node]),
            "y": float(net.y[node]),
            "lon": float(net.lon[node]),
            "lat": float(net.lat[node]),
            "units": units,
        }
        for node in result.nodes
    ]
    out = {
        "city": city.name,
        "unit_type": unit_type,
        "model": args.model,
        "exact": bool(args.exact),
        "minutes": args.minutes,
        "travel_budget_s": budget_s,
        "congestion": source,
        "existing_stations": len(existing),
        "candidates": len(candidates),
        "busy_probability": busy,
        "proposed": proposal,
        "objective_before": result.baseline,
        "objective_after": result.objective,
        "demand_calls_per_day": demand_total,
        "simulated_days": list(check.seeds) if check else [],
        "simulated_calls": check.calls if check else 0,
        "share_within_8min_before": check.share(8.0, "before") if check else None,
        "share_within_8min_after": check.share(8.0, "after") if check else None,
        "share_within_minutes_before": check.before if check else None,
        "share_within_minutes_after": check.after if check else None,
        "share_within_before_by_day": list(check.before_by_seed) if check else [],
        "share_within_after_by_day": list(check.after_by_seed) if check else [],
    }
    if args.json:
        print(json.dumps(_plain(out), ensure_ascii=False, indent=2))
        return 0
    what = "expected covered calls/day" if args.model == "mexclp" else "covered calls/day"
    print(
        f"{city.name}: {args.add} new {unit_type} station(s) by {args.model} "
        f"({'exact' if args.exact else 'greedy'}) among {len(candidates)} candidates, "
        f"{len(existing)} existing ({source})"
    )
    for k, p in enumerate(proposal, start=1):
        print(
            f"  {k}. node {p['node']} (OSM {p['node_id']}) at {p['lat']:.5f}, {p['lon']:.5f} "
            f"with {units} unit(s)"
        )
    print(
        f"model: {what} {result.baseline:.2f} -> {result.objective:.2f} "
        f"of {demand_total:.2f} ({args.minutes:g}-minute standard: {budget_s:.0f} s to drive "
        f"after {lead_s:.0f} s of dispatch and turnout)"
    )
    if check:
        print(
            f"simulated {len(check.seeds)} day(s), {check.calls} calls: reached within "
            f"{args.minutes:g} min {100 * check.before:.1f} % -> {100 * check.after:.1f} %"
        )
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
