"""Huế Twin's traffic engine against UXsim's C++ engine and SUMO's meso model on a grid.

Run on purpose (not collected by pytest)::

    .venv/bin/pip install uxsim eclipse-sumo       # benchmark-only references
    .venv/bin/python benchmarks/uxsim_compare.py --grid 20 --trips 60000 --end 07:00
    .venv/bin/python benchmarks/uxsim_compare.py --grid 50 --trips 200000 --end 09:00 --sumo

It builds a synthetic N × N grid city (``twin.synthetic.grid_city``: 200 m blocks of
two-way one-lane streets, 36 km/h, ``--capacity`` PCU/h and ``--jam-density`` PCU/km per
lane), draws a sample of its synthesised demand in the window (every trip a car: UXsim
has no vehicle classes), and runs, in this order and in the same process:

- **Huế Twin**: :func:`sim.run_day.run_day`, traffic only, with the parameters of
  ``--params`` (JSON) over the defaults; *wall* = engine set-up + simulation.
- **UXsim** (``uxsim.World(cpp=True)``, its C++ engine: Newell's simplified kinematic-wave
  car following, in platoons of ``--deltan`` vehicles): the same nodes and links; each
  link's triangular diagram is ours (free-flow speed, capacity and jam density per lane:
  UXsim's reaction time ``τ = 1 / (w k_j)`` gives the backward wave speed ``w = q / (k_j -
  q / v)`` and so the capacity; UXsim's time step is ``τ × deltan``); one platoon per
  ``deltan`` of our trips, drawn at random, so the demand is the same; routes by UXsim's
  dynamic user optimum, updated every 300 s as our tables are. *wall* = its simulation
  (``exec_simulation``); building the scenario in Python is shown apart.
- **SUMO meso** (with ``--sumo``): the network and trips as ``sumo_compare.py`` maps them.
  Routes are computed beforehand by ``duarouter`` on free-flow times (timed apart) and SUMO
  runs without rerouting, so its *wall* is the simulation alone; ``--sumo-reroute`` routes
  at insertion and every 300 s instead (routing then included).

To compare like with like, our grid's mid-block capacity is set to its link capacity (the
saturation flow of its class is overridden for the run), so the three models share one
diagram. Mean travel time is arrival minus departure over the trips each model completed
(UXsim: over platoons); the table prints each model's figures and ours over each.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sumo_compare import (  # noqa: E402
    _check_run,
    make_trips,
    netconvert,
    parse_clock,
    run_sumo,
    sumo_binary,
    write_sumo_network,
    write_sumo_trips,
)


def grid(n: int, capacity: float, jam_density: float):
    """The N × N grid city with the given lane capacity (PCU/h) and jam density (PCU/km)."""
    from twin.synthetic import grid_city, grid_network

    city = grid_city(n, n, population=n * n * 400.0)
    drive = grid_network(n, n, capacity_per_lane=capacity, jam_density=jam_density)
    return replace(city, drive=drive)


def run_ours(city, trips: pd.DataFrame, *, start: float, end: float, seed: int, params: dict):
    """Our engine, traffic only; per-trip travel times and the wall time."""
    from sim.run_day import run_day

    t0 = time.perf_counter()
    result = run_day(
        city,
        trips=trips,
        seed=seed,
        start=start,
        end=end,
        tourists=False,
        emergency=False,
        traffic_params=params,
    )
    wall = time.perf_counter() - t0
    done = result.trips[result.trips["arrive"].notna()]
    return {
        "wall_s": result.timers["setup"] + result.timers["simulate"],
        "total_s": wall,
        "travel_time": done["travel_time"].to_numpy(),
        "completed": len(done),
        "vehicles": len(result.trips),
        "timers": {k: round(v, 2) for k, v in result.timers.items()},
        "forced": result.kpis.get("forced_entries"),
    }


def run_uxsim(city, trips: pd.DataFrame, *, end: float, seed: int, deltan: int) -> dict:
    """UXsim's C++ engine on the same grid and (platoon-sampled) trips."""
    import uxsim

    net = city.drive
    lanes = np.maximum(np.rint(net.lanes), 1)
    q = float(np.median(net.capacity / lanes)) / 3600.0  # veh/s per lane
    kj = float(np.median(net.jam_density)) / 1000.0  # veh/m per lane
    v = float(np.median(net.speed))
    w = q / (kj - q / v)  # backward wave speed, m/s
    tau = 1.0 / (w * kj)  # UXsim's reaction time: w = 1 / (tau kj)
    t0 = time.perf_counter()
    world = uxsim.World(
        name="grid",
        deltan=deltan,
        reaction_time=tau,
        tmax=end,
        duo_update_time=300,
        random_seed=seed,
        print_mode=0,
        save_mode=0,
        show_mode=0,
        show_progress=0,
        vehicle_logging_timestep_interval=-1,
        cpp=True,
    )
    for i in range(net.n_nodes):
        world.addNode(str(i), float(net.x[i]), float(net.y[i]))
    tail = net.tail
    for e in range(net.n_edges):
        world.addLink(
            f"l{e}",
            str(int(tail[e])),
            str(int(net.indices[e])),
            length=float(net.length[e]),
            free_flow_speed=float(net.speed[e]),
            jam_density_per_lane=float(net.jam_density[e]) / 1000.0,
            number_of_lanes=int(lanes[e]),
        )
    rng = np.random.default_rng(seed)
    sample = trips.iloc[np.sort(rng.choice(len(trips), size=len(trips) // deltan, replace=False))]
    for o, d, t in zip(
        sample["origin"].tolist(),
        sample["destination"].tolist(),
        sample["depart"].tolist(),
        strict=True,
    ):
        world.addVehicle(str(o), str(d), float(t))
    setup = time.perf_counter() - t0
    t0 = time.perf_counter()
    world.exec_simulation()
    wall = time.perf_counter() - t0
    travel, done = [], 0
    for veh in world.VEHICLES.values():
        if veh.state == "end":
            travel.append(veh.travel_time)
            done += 1
    return {
        "wall_s": wall,
        "setup_s": setup,
        "travel_time": np.array(travel, dtype=float),
        "completed": done * deltan,
        "vehicles": len(world.VEHICLES) * deltan,
        "reaction_time_s": tau,
        "time_step_s": tau * deltan,
        "capacity_veh_h": 3600.0 * v * w * kj / (v + w),
    }


def run_sumo_meso(
    city, trips: pd.DataFrame, *, start: float, end: float, seed: int, reroute: bool, workdir: Path
) -> dict:
    """SUMO's meso on the same grid: routes from duarouter beforehand (or SUMO's own)."""
    from twin.vehicles import load_vehicle_classes

    paths = write_sumo_network(city.drive, workdir)
    net = workdir / "net.net.xml"
    t_net = netconvert(paths, net)
    trips_file = workdir / "trips.rou.xml"
    write_sumo_trips(trips, city.drive, load_vehicle_classes(), trips_file)
    t_route = 0.0
    routes = trips_file
    if not reroute:
        routes = workdir / "routes.rou.xml"
        cmd = [
            sumo_binary("duarouter"),
            "--net-file", str(net),
            "--route-files", str(trips_file),
            "--output-file", str(routes),
            "--junction-taz", "true",
            "--routing-algorithm", "astar",
            "--ignore-errors", "true",
            "--no-warnings", "true",
            "--no-step-log", "true",
        ]  # fmt: skip
        t0 = time.perf_counter()
        _check_run(cmd, "duarouter")
        t_route = time.perf_counter() - t0
    result = run_sumo(
        net, routes, paths["meso"], workdir,
        start=start, end=end, seed=seed,
        reroute_period=300.0 if reroute else 0.0, threads=1,
    )  # fmt: skip
    result["travel_time"] = result["travel_time"].to_numpy()
    result["netconvert_s"] = t_net
    result["duarouter_s"] = t_route
    result["vehicles"] = len(trips)
    return result


def summary(name: str, run: dict, ours: dict | None) -> dict:
    mean = float(np.mean(run["travel_time"])) if len(run["travel_time"]) else float("nan")
    row = {
        "model": name,
        "wall_s": round(run["wall_s"], 2),
        "mean_tt_s": round(mean, 1),
        "completed": int(run["completed"]),
        "vehicles": int(run["vehicles"]),
    }
    if ours is not None:
        row["ours_mean_tt_over_this"] = round(float(np.mean(ours["travel_time"])) / mean, 3)
        row["ours_wall_over_this"] = round(ours["wall_s"] / run["wall_s"], 3)
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--grid", type=int, default=20, help="nodes along each side")
    parser.add_argument("--trips", type=int, default=60_000, help="trips in the sample")
    parser.add_argument("--scale", type=float, default=1.0, help="synthesised demand multiplier")
    parser.add_argument("--start", default="06:00")
    parser.add_argument("--end", default="07:00", help="last departures (HH:MM)")
    parser.add_argument("--slack", type=float, default=3600.0, help="seconds for trips to end")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--capacity", type=float, default=900.0, help="PCU/h per lane")
    parser.add_argument("--jam-density", type=float, default=150.0, help="PCU/km per lane")
    parser.add_argument("--deltan", type=int, default=5, help="UXsim platoon size")
    parser.add_argument("--params", default="{}", help="our traffic parameters, JSON")
    parser.add_argument("--no-uxsim", action="store_true")
    parser.add_argument("--sumo", action="store_true", help="also run SUMO's meso model")
    parser.add_argument("--sumo-reroute", action="store_true", help="SUMO routes itself")
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)

    start, end = parse_clock(args.start), parse_clock(args.end)
    run_end = end + args.slack
    city = grid(args.grid, args.capacity, args.jam_density)
    trips = make_trips(
        city, n=args.trips, start=start, end=end, seed=args.seed, scale=args.scale
    ).assign(vehicle_class="car")
    print(
        f"grid {args.grid} x {args.grid}: {city.drive.n_nodes:,} nodes, "
        f"{city.drive.n_edges:,} links; {len(trips):,} car trips {args.start}-{args.end}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="uxsim_cmp_"))
    try:
        defaults = workdir / "junctions.csv"
        defaults.write_text(
            f"highway,saturation_pcu_per_lane_h\nresidential,{args.capacity}\n", encoding="utf-8"
        )
        params = {"junction_defaults": str(defaults), **json.loads(args.params)}
        ours = run_ours(city, trips, start=start, end=run_end, seed=args.seed, params=params)
        print(f"Huế Twin: {ours['wall_s']:.2f} s, timers {ours['timers']}", flush=True)
        rows = [summary("Huế Twin", ours, None)]
        rows[0]["forced_entries"] = ours["forced"]
        if not args.no_uxsim:
            ux = run_uxsim(city, trips, end=run_end, seed=args.seed, deltan=args.deltan)
            print(
                f"UXsim (C++, platoons of {args.deltan}, step {ux['time_step_s']:.2f} s, "
                f"capacity {ux['capacity_veh_h']:.0f} veh/h/lane): {ux['wall_s']:.2f} s "
                f"(scenario built in {ux['setup_s']:.2f} s)",
                flush=True,
            )
            rows.append(summary(f"UXsim C++ (deltan {args.deltan})", ux, ours))
        if args.sumo:
            sumo = run_sumo_meso(
                city, trips, start=start, end=run_end, seed=args.seed,
                reroute=args.sumo_reroute, workdir=workdir,
            )  # fmt: skip
            print(
                f"SUMO meso: {sumo['wall_s']:.2f} s (duarouter {sumo['duarouter_s']:.2f} s, "
                f"netconvert {sumo['netconvert_s']:.2f} s), teleports {sumo['teleports']}",
                flush=True,
            )
            row = summary("SUMO meso", sumo, ours)
            row["teleports"] = sumo["teleports"]
            rows.append(row)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(pd.DataFrame(rows).to_string(index=False))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
