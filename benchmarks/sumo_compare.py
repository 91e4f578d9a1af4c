"""Huế Twin's traffic engine against Eclipse SUMO's mesoscopic model, same network and trips.

Run on purpose (not collected by pytest)::

    .venv/bin/pip install -e '.[bench]'        # eclipse-sumo from PyPI
    .venv/bin/python benchmarks/sumo_compare.py --trips 20000 --start 06:00 --end 09:00

It loads a city (the default Huế bundle, ``--city X.twin`` or ``--grid N`` for a synthetic
N × N grid), draws a sample of trips in the window (the city's synthesised demand when
``twin.demand.model`` is available, ``--trips-csv`` for your own), runs our engine on them, exports
the same drive network and trips to SUMO, runs ``sumo --mesosim`` and prints both wall
times, both mean travel times and their ratios.

How the network and trips are mapped (chosen so that both models see the same roads):

- **Nodes** keep their source ids (OSM node ids for Huế) and projected x/y in metres; no
  traffic lights (``--tls.guess false``): our engine has none either. Junctions are
  ``priority`` nodes; meso junction control is off by default (``--junction-control`` turns
  it on), so, as in our link-queue model, a link's outflow is limited by its own capacity.
- **Edges** are one SUMO edge per directed link, id ``e<position>``, with our ``length``
  (metres, given explicitly so that SUMO does not re-measure the straight line), ``speed``
  (m/s) and ``lanes`` rounded to a whole number (at least 1). Internal junction links are
  left out (``--no-internal-links``), turnarounds are allowed (our routes may turn back).
- **Capacity** Meso's free-flow headway of a vehicle on an edge is
  ``(tauff × vType.tau + lengthWithGap / speed) / lanes`` (checked on a single bottleneck
  with SUMO 1.28). Every vehicle class gets ``tau = PCU`` and ``lengthWithGap = PCU × s``
  with ``s = 1000 / jam density`` metres (the network's median; 2.67 m at Huế's 375
  PCU/km/lane), and every edge gets a meso edge type whose
  ``tauff = lanes × 3600 / capacity − s / speed`` (seconds, ``taufj = taujf = tauff``),
  so an edge discharges exactly our ``capacity`` in PCU/h and holds our storage (length ×
  lanes × jam density PCU). Edges with the same rounded ``tauff`` share a type.
- **Vehicle classes** map to SUMO vClasses: motorbike → ``motorcycle``, car →
  ``passenger``, bus → ``bus``, truck → ``truck``, emergency → ``emergency``; each vType
  has our ``speed_factor`` as a fixed ``speedFactor`` (``speedDev = 0``).
- **Trips** are ``<trip fromJunction=… toJunction=…>`` (``--junction-taz``), the same
  departure times; SUMO routes them at insertion on current (smoothed) travel times and
  every ``--reroute-period`` seconds (rerouting device on every vehicle; 300 s, as our
  engine refreshes its routes; ``0`` routes at insertion only, much cheaper for SUMO),
  with ``--routing-algorithm astar`` (same shortest paths as Dijkstra, faster).
- **Jams** SUMO's meso has a jam-jam headway (``taujj``, default 1.4 s per vehicle of
  downstream capacity) that models the time empty space takes to travel back through a
  jammed segment; our link-queue model has no such backward-wave delay (a freed slot is
  taken at once). Below saturation it does not matter; in jams it does (see the README),
  and ``--taujj`` sets it (about ``(tauff + 7.5 / speed) × 7.5 / segment length`` mimics
  an instant backward wave).
- **Travel time** on both sides is arrival minus the planned departure (SUMO's
  ``duration + departDelay``), compared over the trips that both completed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import pandas as pd

#: Our vehicle classes → SUMO vClass.
SUMO_VCLASS = {
    "motorbike": "motorcycle",
    "car": "passenger",
    "bus": "bus",
    "truck": "truck",
    "emergency": "emergency",
}


# -- inputs ------------------------------------------------------------------------------------
def parse_clock(text: str) -> float:
    """``"06:30"`` or ``"06:30:15"`` or plain seconds → seconds after midnight."""
    if ":" not in text:
        return float(text)
    parts = [float(p) for p in text.split(":")]
    while len(parts) < 3:
        parts.append(0.0)
    return parts[0] * 3600 + parts[1] * 60 + parts[2]


def load_bench_city(city: str | None, grid: int | None):
    """The city a benchmark runs on: a synthetic grid, a bundle, or the default Huế city."""
    if grid:
        from twin.synthetic import grid_city

        return grid_city(grid, grid, population=grid * grid * 400.0)
    if city:
        from twin.build.pipeline import load_city

        return load_city(city)
    from twin.build.pipeline import default_city

    return default_city()


def _fallback_trips(city, n: int, start: float, end: float, rng) -> pd.DataFrame:
    """Random trips when ``twin.demand.model`` is not there: origins and destinations weighted by
    the residents of each node's zone, departures uniform in the window, default class mix."""
    from twin.vehicles import load_vehicle_classes

    vehicles = load_vehicle_classes()
    zone_pop = city.zones.set_index("zone")["population"]
    counts = np.bincount(city.node_zone, minlength=int(zone_pop.index.max()) + 1)
    weight = zone_pop.reindex(range(len(counts))).fillna(0).to_numpy()[city.node_zone]
    weight = weight / np.maximum(counts[city.node_zone], 1)
    weight = weight / weight.sum() if weight.sum() > 0 else None
    origin = rng.choice(city.drive.n_nodes, size=n, p=weight)
    destination = rng.choice(city.drive.n_nodes, size=n, p=weight)
    shares = vehicles["share"].to_numpy()
    return pd.DataFrame(
        {
            "trip_id": np.arange(n),
            "origin": origin,
            "destination": destination,
            "depart": np.sort(rng.uniform(start, end, size=n)),
            "vehicle_class": rng.choice(vehicles.index.to_numpy(), size=n, p=shares),
        }
    )


def make_trips(
    city,
    *,
    n: int | None,
    start: float,
    end: float,
    seed: int,
    csv: str | None = None,
    scale: float = 1.0,
) -> pd.DataFrame:
    """A sample of ``n`` trips departing in ``[start, end)`` (all of them when ``n`` is None).

    Trips whose origin is their destination are dropped (SUMO cannot route them).
    """
    rng = np.random.default_rng(seed)
    if csv:
        from twin.demand.trips import read_trips

        trips = read_trips(csv, city, start=start, end=end)
    else:
        try:
            from twin.demand.model import synthesise_trips
        except ImportError:
            trips = _fallback_trips(city, int(n or 10_000), start, end, rng)
        else:
            trips = synthesise_trips(city, seed=seed, scale=scale, start=start, end=end)
    trips = trips[trips["origin"].to_numpy() != trips["destination"].to_numpy()]
    if n is not None and len(trips) > n:
        keep = np.sort(rng.choice(len(trips), size=n, replace=False))
        trips = trips.iloc[keep]
    trips = trips.sort_values("depart", kind="stable").reset_index(drop=True)
    if "trip_id" not in trips:
        trips.insert(0, "trip_id", np.arange(len(trips)))
    return trips


# -- our engine --------------------------------------------------------------------------------
def run_ours(city, trips: pd.DataFrame, *, start: float, end: float, seed: int) -> dict:
    """Run our traffic engine (no tourists, no emergency) and time it."""
    from sim.run_day import run_day

    t0 = time.perf_counter()
    result = run_day(
        city, trips=trips, seed=seed, start=start, end=end, tourists=False, emergency=False
    )
    wall = time.perf_counter() - t0
    table = result.trips
    done = table[table["arrive"].notna()]
    return {
        "wall_s": wall,
        "travel_time": pd.Series(
            done["travel_time"].to_numpy(), index=done["trip_id"].astype(str).to_numpy()
        ),
        "distance": pd.Series(
            done["distance"].to_numpy(), index=done["trip_id"].astype(str).to_numpy()
        ),
        "completed": len(done),
        "timers": getattr(result, "timers", {}),
    }


# -- SUMO --------------------------------------------------------------------------------------
def sumo_binary(name: str) -> str:
    """Path of a SUMO program from the ``eclipse-sumo`` wheel (or ``$SUMO_HOME/bin``)."""
    try:
        import sumo
    except ImportError as exc:
        raise SystemExit(
            "eclipse-sumo is not installed; run `.venv/bin/pip install -e '.[bench]'`"
        ) from exc
    path = Path(sumo.SUMO_HOME) / "bin" / name
    if not path.exists():
        raise SystemExit(f"{path} not found in the eclipse-sumo package")
    return str(path)


def _sumo_env() -> dict:
    import sumo

    return {**os.environ, "SUMO_HOME": sumo.SUMO_HOME}


def jam_spacing(network) -> float:
    """Metres per PCU at a standstill (the network's median jam density)."""
    return 1000.0 / float(np.median(network.jam_density))


def write_sumo_network(
    network, folder: Path, *, junction_control: bool = False, taujj: float | None = None
) -> dict:
    """Write plain-XML nodes, edges and edge types plus the meso types additional file.

    Returns the paths written (``nodes``, ``edges``, ``types``, ``meso``).
    """
    spacing = jam_spacing(network)
    lanes = np.maximum(1, np.rint(network.lanes)).astype(int)
    capacity = np.maximum(network.capacity, 1.0)  # PCU/h over the whole edge
    tauff = np.maximum(lanes * 3600.0 / capacity - spacing / network.speed, 0.0)
    tauff = np.round(tauff, 2)
    type_of = {value: f"t{k}" for k, value in enumerate(np.unique(tauff))}
    paths = {k: folder / f"net.{k}.xml" for k in ("nodes", "edges", "types", "meso")}
    with paths["nodes"].open("w", encoding="utf-8") as fh:
        fh.write("<nodes>\n")
        for i in range(network.n_nodes):
            fh.write(
                f'  <node id="{int(network.node_id[i])}" x="{network.x[i]:.2f}" '
                f'y="{network.y[i]:.2f}" type="priority"/>\n'
            )
        fh.write("</nodes>\n")
    tail = network.tail
    with paths["edges"].open("w", encoding="utf-8") as fh:
        fh.write("<edges>\n")
        for e in range(network.n_edges):
            fh.write(
                f'  <edge id="e{e}" from="{int(network.node_id[tail[e]])}" '
                f'to="{int(network.node_id[network.indices[e]])}" '
                f'type="{type_of[tauff[e]]}" numLanes="{lanes[e]}" '
                f'speed="{network.speed[e]:.3f}" length="{max(network.length[e], 0.1):.2f}"/>\n'
            )
        fh.write("</edges>\n")
    with paths["types"].open("w", encoding="utf-8") as fh:
        fh.write("<types>\n")
        for tid in type_of.values():
            fh.write(f'  <type id="{tid}" priority="1" numLanes="1" speed="13.9"/>\n')
        fh.write("</types>\n")
    jc = "true" if junction_control else "false"
    jj = "" if taujj is None else f' taujj="{taujj:.2f}"'
    with paths["meso"].open("w", encoding="utf-8") as fh:
        fh.write("<additional>\n")
        for value, tid in type_of.items():
            fh.write(
                f'  <type id="{tid}"><meso tauff="{value:.2f}" taufj="{value:.2f}" '
                f'taujf="{value:.2f}"{jj} junctionControl="{jc}"/></type>\n'
            )
        fh.write("</additional>\n")
    return paths


def netconvert(paths: dict, out: Path) -> float:
    """Compile the plain XML into a SUMO network; returns the wall time in seconds."""
    cmd = [
        sumo_binary("netconvert"),
        "--node-files", str(paths["nodes"]),
        "--edge-files", str(paths["edges"]),
        "--type-files", str(paths["types"]),
        "--output-file", str(out),
        "--no-internal-links", "true",
        "--tls.guess", "false",
        "--junctions.join", "false",
        "--geometry.remove", "false",
        "--offset.disable-normalization", "true",
        "--no-warnings", "true",
    ]  # fmt: skip
    t0 = time.perf_counter()
    _check_run(cmd, "netconvert")
    return time.perf_counter() - t0


def write_sumo_trips(trips: pd.DataFrame, network, vehicles: pd.DataFrame, path: Path) -> None:
    """Vehicle types and ``<trip>`` elements between junctions, sorted by departure."""
    spacing = jam_spacing(network)
    node_ids = network.node_id
    with path.open("w", encoding="utf-8") as fh:
        fh.write("<routes>\n")
        for name, row in vehicles.iterrows():
            pcu = float(row["pcu"])
            gap = 0.25 * pcu * spacing
            fh.write(
                f"  <vType id={quoteattr(str(name))} vClass="
                f'"{SUMO_VCLASS.get(str(name), "passenger")}" length="{pcu * spacing - gap:.3f}" '
                f'minGap="{gap:.3f}" tau="{pcu:.3f}" speedFactor="{row["speed_factor"]:.3f}" '
                f'speedDev="0" maxSpeed="50"/>\n'
            )
        origin = node_ids[trips["origin"].to_numpy()]
        destination = node_ids[trips["destination"].to_numpy()]
        for tid, o, d, dep, cls in zip(
            trips["trip_id"].astype(str),
            origin,
            destination,
            trips["depart"].to_numpy(),
            trips["vehicle_class"].astype(str),
            strict=True,
        ):
            fh.write(
                f'  <trip id="{tid}" type="{cls}" depart="{dep:.2f}" fromJunction="{o}" '
                f'toJunction="{d}"/>\n'
            )
        fh.write("</routes>\n")


def run_sumo(
    net: Path,
    routes: Path,
    meso: Path,
    folder: Path,
    *,
    start: float,
    end: float,
    seed: int,
    reroute_period: float,
    threads: int,
    routing_algorithm: str = "astar",
) -> dict:
    """Run ``sumo --mesosim``; returns wall time and the per-trip results."""
    tripinfo = folder / "tripinfo.xml"
    stats = folder / "statistics.xml"
    cmd = [
        sumo_binary("sumo"),
        "--mesosim", "true",
        "--net-file", str(net),
        "--route-files", str(routes),
        "--additional-files", str(meso),
        "--junction-taz", "true",
        "--begin", f"{start:.0f}",
        "--end", f"{end:.0f}",
        "--seed", str(seed),
        "--device.rerouting.probability", "1",
        "--device.rerouting.period", f"{reroute_period:.0f}",
        "--device.rerouting.threads", str(threads),
        "--routing-algorithm", routing_algorithm,
        "--ignore-route-errors", "true",
        "--tripinfo-output", str(tripinfo),
        "--statistic-output", str(stats),
        "--no-step-log", "true",
        "--no-warnings", "true",
    ]  # fmt: skip
    t0 = time.perf_counter()
    _check_run(cmd, "sumo")
    wall = time.perf_counter() - t0
    travel, distance = {}, {}
    for _, elem in ET.iterparse(tripinfo):
        if elem.tag == "tripinfo":
            arrival = float(elem.get("arrival", -1))
            if arrival >= 0 and not elem.get("vaporized"):  # -1: never arrived
                tid = elem.get("id")
                depart = float(elem.get("depart")) - float(elem.get("departDelay", 0))
                travel[tid] = arrival - depart
                distance[tid] = float(elem.get("routeLength"))
            elem.clear()
    teleports = 0
    with contextlib.suppress(ET.ParseError, FileNotFoundError):
        for elem in ET.parse(stats).getroot().iter("teleports"):
            teleports = int(elem.get("total", 0))
    return {
        "wall_s": wall,
        "travel_time": pd.Series(travel, dtype=float),
        "distance": pd.Series(distance, dtype=float),
        "completed": len(travel),
        "teleports": teleports,
    }


def _check_run(cmd: list[str], name: str) -> None:
    done = subprocess.run(cmd, capture_output=True, text=True, env=_sumo_env(), check=False)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"{name} failed with exit code {done.returncode}")


# -- report ------------------------------------------------------------------------------------
def compare(ours: dict, theirs: dict, n_trips: int) -> dict:
    """Both sides' figures and the ratios, over the trips both completed."""
    both = ours["travel_time"].index.intersection(theirs["travel_time"].index)
    t_ours = float(ours["travel_time"].loc[both].mean()) if len(both) else float("nan")
    t_sumo = float(theirs["travel_time"].loc[both].mean()) if len(both) else float("nan")
    d_ours = float(ours["distance"].loc[both].mean()) if len(both) else float("nan")
    d_sumo = float(theirs["distance"].loc[both].mean()) if len(both) else float("nan")
    return {
        "trips": n_trips,
        "completed_ours": ours["completed"],
        "completed_sumo": theirs["completed"],
        "completed_both": len(both),
        "wall_ours_s": ours["wall_s"],
        "wall_sumo_s": theirs["wall_s"],
        "wall_ratio": ours["wall_s"] / theirs["wall_s"],
        "mean_tt_ours_s": t_ours,
        "mean_tt_sumo_s": t_sumo,
        "mean_tt_ratio": t_ours / t_sumo,
        "mean_dist_ours_m": d_ours,
        "mean_dist_sumo_m": d_sumo,
        "sumo_teleports": theirs.get("teleports", 0),
    }


def print_report(row: dict, extra: dict) -> None:
    print()
    print(f"{'':24s}{'Huế Twin':>14s}{'SUMO meso':>14s}{'ratio':>10s}")
    print(
        f"{'wall time (s)':24s}{row['wall_ours_s']:14.2f}{row['wall_sumo_s']:14.2f}"
        f"{row['wall_ratio']:10.3f}"
    )
    print(
        f"{'mean travel time (s)':24s}{row['mean_tt_ours_s']:14.1f}{row['mean_tt_sumo_s']:14.1f}"
        f"{row['mean_tt_ratio']:10.3f}"
    )
    print(
        f"{'mean distance (m)':24s}{row['mean_dist_ours_m']:14.0f}{row['mean_dist_sumo_m']:14.0f}"
        f"{row['mean_dist_ours_m'] / row['mean_dist_sumo_m']:10.3f}"
    )
    print(f"{'trips completed':24s}{row['completed_ours']:14,d}{row['completed_sumo']:14,d}")
    print(
        f"trips: {row['trips']:,}; completed by both: {row['completed_both']:,}; "
        f"SUMO teleports: {row['sumo_teleports']}"
    )
    for key, value in extra.items():
        print(f"{key}: {value}")
    ok_speed = row["wall_ratio"] <= 1.0
    ok_tt = abs(row["mean_tt_ratio"] - 1.0) <= 0.15
    print(
        f"targets: no slower than SUMO {'MET' if ok_speed else 'NOT MET'}; "
        f"mean travel time within 15 % {'MET' if ok_tt else 'NOT MET'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--city", help="a .twin bundle (default: the Huế city)")
    where.add_argument("--grid", type=int, help="a synthetic N × N grid city instead")
    parser.add_argument("--trips", type=int, default=20_000, help="trips in the sample")
    parser.add_argument("--trips-csv", help="read trips from this CSV instead of synthesising")
    parser.add_argument(
        "--scale", type=float, default=1.0, help="multiplier on the synthesised demand"
    )
    parser.add_argument("--start", default="06:00", help="window start (HH:MM)")
    parser.add_argument("--end", default="09:00", help="window end: last departures (HH:MM)")
    parser.add_argument(
        "--slack", type=float, default=3600.0, help="seconds after --end for trips to finish"
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--reroute-period", type=float, default=300.0, help="seconds")
    parser.add_argument("--threads", type=int, default=1, help="SUMO routing threads")
    parser.add_argument(
        "--routing-algorithm",
        default="astar",
        help="SUMO's router (astar finds the same shortest paths as dijkstra, faster)",
    )
    parser.add_argument("--junction-control", action="store_true", help="meso junction control")
    parser.add_argument(
        "--taujj",
        type=float,
        help="meso jam-jam headway factor, seconds (default: SUMO's own, 1.4)",
    )
    parser.add_argument("--sumo-only", action="store_true", help="skip our engine")
    parser.add_argument("--workdir", help="keep SUMO's files here (default: a temp folder)")
    args = parser.parse_args(argv)

    start, end = parse_clock(args.start), parse_clock(args.end)
    t0 = time.perf_counter()
    city = load_bench_city(args.city, args.grid)
    print(
        f"city {city.name}: {city.drive.n_nodes:,} nodes, {city.drive.n_edges:,} links "
        f"({time.perf_counter() - t0:.1f} s to load)"
    )
    trips = make_trips(
        city,
        n=args.trips,
        start=start,
        end=end,
        seed=args.seed,
        csv=args.trips_csv,
        scale=args.scale,
    )
    print(
        f"{len(trips):,} trips departing {args.start}-{args.end}; classes "
        f"{trips['vehicle_class'].value_counts().to_dict()}"
    )
    from twin.vehicles import load_vehicle_classes

    vehicles = load_vehicle_classes()
    run_end = end + args.slack

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="sumo_cmp_"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        paths = write_sumo_network(
            city.drive, workdir, junction_control=args.junction_control, taujj=args.taujj
        )
        net = workdir / "net.net.xml"
        t_net = netconvert(paths, net)
        routes = workdir / "trips.rou.xml"
        write_sumo_trips(trips, city.drive, vehicles, routes)
        ours = None
        if not args.sumo_only:
            print("running Huế Twin …", flush=True)
            ours = run_ours(city, trips, start=start, end=run_end, seed=args.seed)
            print(
                f"Huế Twin: {ours['wall_s']:.2f} s, {ours['completed']:,} trips completed, "
                f"mean travel time {ours['travel_time'].mean():.1f} s",
                flush=True,
            )
        print(f"netconvert: {t_net:.1f} s; running sumo --mesosim …", flush=True)
        theirs = run_sumo(
            net, routes, paths["meso"], workdir,
            start=start, end=run_end, seed=args.seed,
            reroute_period=args.reroute_period, threads=args.threads,
            routing_algorithm=args.routing_algorithm,
        )  # fmt: skip
        print(
            f"SUMO: {theirs['wall_s']:.2f} s, {theirs['completed']:,} trips completed, "
            f"mean travel time {theirs['travel_time'].mean():.1f} s",
            flush=True,
        )
        if ours is None:
            return 0
        row = compare(ours, theirs, len(trips))
        print_report(row, {"netconvert_s": round(t_net, 2), "our timers": ours["timers"]})
    finally:
        if not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
