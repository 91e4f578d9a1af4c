"""The traffic engine on a full Huế day: wall time, peak memory, throughput, scaling.

Run on purpose (not collected by pytest)::

    .venv/bin/python benchmarks/bench_traffic.py                 # scaling 10k … 1M + full day
    .venv/bin/python benchmarks/bench_traffic.py --sizes 10000,100000 --no-full
    .venv/bin/python benchmarks/bench_traffic.py --sizes 1000000 --no-full --baseline ../base
    .venv/bin/python benchmarks/bench_traffic.py --sizes 0 --all-domains --baseline ../base

``--baseline DIR`` runs every size a second time on another checkout of the project (its
kernels built in place, e.g. ``git worktree add ../base main && cd ../base && python
setup.py build_ext --inplace``), interleaved with ours, with its own city cache
(``$TWIN_CACHE_DIR/baseline``), and prints the ratio ours / baseline: the figures of the
previous version measured in the same run. ``--all-domains`` runs tourists and emergency
response too (the default day of ``twin run``); a size of ``0`` is the whole synthesised
day.

Each size runs in its own child process (so that its peak memory is its own): the child
loads the city, synthesises the city's day of trips (``twin.demand.model``; the same table for
every size, from ``--seed``), keeps a uniform random sample of the requested size (so the
daily profile is kept), and runs :func:`sim.run_day.run_day` with traffic only over the whole
day. Reported per size:

- ``wall_s``: simulation wall time (engine set-up, routing and movement; city loading and
  demand synthesis are excluded and shown apart); ``cpu_s``: the CPU seconds of the same
  (all threads), steadier than wall time on a shared machine;
- ``peak_rss_mb``: the child's peak resident memory (``ru_maxrss``), city and trips included;
- ``traversals_per_s``: vehicle-link traversals per wall second (the engine's counter when
  it has one, else the sum over ``links.parquet`` entries);
- ``routing_s`` / ``movement_s``: the engine's own timers when it reports them;
- the cost ratio to the smallest size, against the trip ratio (linear scaling = equal).

Targets (issue 4): 1,000,000 trips in ≤ 120 s and ≤ 4 GB; cost(1M) ≤ 120 × cost(10k).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sumo_compare import load_bench_city  # noqa: E402

DEFAULT_SIZES = (10_000, 30_000, 100_000, 300_000, 1_000_000)


def one(args: argparse.Namespace) -> dict:
    """Run one size in this process and return its figures."""
    from sim.run_day import run_day

    t0 = time.perf_counter()
    city = load_bench_city(args.city, args.grid)
    t_city = time.perf_counter() - t0
    t0 = time.perf_counter()
    from twin.demand.model import synthesise_trips

    day = synthesise_trips(city, seed=args.seed, scale=args.scale)
    t_demand = time.perf_counter() - t0
    n = args.one if args.one > 0 else len(day)
    if n < len(day):
        rng = np.random.default_rng(args.seed + 1)
        keep = np.sort(rng.choice(len(day), size=n, replace=False))
        trips = day.iloc[keep].reset_index(drop=True)
    elif n > len(day):
        raise SystemExit(
            f"the synthesised day has {len(day):,} trips, fewer than {n:,}; raise --scale"
        )
    else:
        trips = day
    del day
    end = max(86_400.0, float(trips["depart"].max()) + 1.0)
    cpu0 = time.process_time()
    result = run_day(
        city,
        trips=trips,
        seed=args.seed,
        start=0.0,
        end=end + args.slack,
        tourists=args.all_domains,
        emergency=args.all_domains,
        scale=args.scale,
    )
    cpu = time.process_time() - cpu0
    timers = result.timers
    wall = timers.get("setup", 0.0) + timers.get("simulate", 0.0)
    traversals = result.kpis.get("link_traversals")
    if traversals is None:
        traversals = float(result.links["entries"].sum())
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "trips": len(trips),
        "wall_s": wall,
        "cpu_s": cpu,
        "routing_s": timers.get("traffic_routing"),
        "movement_s": timers.get("traffic_movement"),
        "timers": {k: round(v, 3) for k, v in timers.items()},
        "traversals": traversals,
        "traversals_per_s": traversals / wall if wall else float("nan"),
        "peak_rss_mb": peak_kb / 1024.0,
        "city_load_s": t_city,
        "demand_s": t_demand,
        "completed": int(result.kpis["trips_completed"]),
        "unfinished": int(result.kpis["trips_unfinished"]),
        "mean_speed_kmh": result.kpis["mean_speed_kmh"],
        "gridlock": result.kpis.get("gridlock"),
        "backend": os.environ.get("TWIN_KERNELS", "auto"),
    }


def run_child(args: argparse.Namespace, n: int, baseline: str | None = None) -> dict:
    """Run one size in a fresh interpreter (on ``baseline``'s code when given) and parse
    its JSON line."""
    cmd = [sys.executable, __file__, "--one", str(n), "--seed", str(args.seed)]
    cmd += ["--scale", str(args.scale), "--slack", str(args.slack)]
    if args.city:
        cmd += ["--city", args.city]
    if args.grid:
        cmd += ["--grid", str(args.grid)]
    if args.all_domains:
        cmd += ["--all-domains"]
    env = dict(os.environ)
    if baseline:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [baseline, env.get("PYTHONPATH")]))
        from twin.settings import get_settings

        env["TWIN_CACHE_DIR"] = str(get_settings().cache_dir / "baseline")
        env["TWIN_OSM_PATH"] = str(get_settings().osm_path)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-5000:])
        raise SystemExit(f"size {n}: child failed with exit code {done.returncode}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--city", help="a .twin bundle (default: the Huế city)")
    where.add_argument("--grid", type=int, help="a synthetic N × N grid city instead")
    parser.add_argument(
        "--sizes",
        default=",".join(str(s) for s in DEFAULT_SIZES),
        help="comma-separated trip counts of the scaling curve",
    )
    parser.add_argument("--no-full", action="store_true", help="skip the full synthesised day")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=1.0, help="demand multiplier")
    parser.add_argument(
        "--slack", type=float, default=0.0, help="seconds past midnight for trips to finish"
    )
    parser.add_argument(
        "--all-domains", action="store_true", help="tourists and emergency response too"
    )
    parser.add_argument("--baseline", help="another checkout to measure in the same run")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--json", help="also write the rows to this JSON file")
    args = parser.parse_args(argv)

    if args.one is not None:
        print(json.dumps(one(args)))
        return 0

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not args.no_full and 0 not in sizes:
        sizes.append(0)  # 0: the whole synthesised day
    rows, base_rows = [], []
    header = (
        f"{'trips':>10s} {'wall s':>8s} {'cpu s':>7s} {'routing s':>10s} {'movement s':>11s} "
        f"{'peak MB':>8s} {'trav/s':>11s} {'done %':>7s} {'cost ×':>8s} {'trips ×':>8s}"
    )
    if args.baseline:
        header += (
            f" {'base wall':>10s} {'base cpu':>9s} {'base peak':>10s} {'wall ratio':>11s} "
            f"{'cpu ratio':>10s}"
        )
    print(header)
    for n in sizes:
        if args.baseline:
            base_rows.append(run_child(args, n, baseline=args.baseline))
        row = run_child(args, n)
        rows.append(row)
        base = rows[0]
        cost = row["wall_s"] / base["wall_s"] if base["wall_s"] else float("nan")
        ratio = row["trips"] / base["trips"]
        row["cost_ratio"], row["trips_ratio"] = cost, ratio
        line = (
            f"{row['trips']:>10,d} {row['wall_s']:>8.2f} {row['cpu_s']:>7.2f} "
            f"{_fmt(row['routing_s'], '>10.2f')} "
            f"{_fmt(row['movement_s'], '>11.2f')} {row['peak_rss_mb']:>8.0f} "
            f"{row['traversals_per_s']:>11,.0f} "
            f"{100 * row['completed'] / max(row['trips'], 1):>7.1f} {cost:>8.1f} {ratio:>8.1f}"
        )
        if args.baseline:
            b = base_rows[-1]
            row["baseline"] = b
            line += (
                f" {b['wall_s']:>10.2f} {b.get('cpu_s', float('nan')):>9.2f} "
                f"{b['peak_rss_mb']:>10.0f} {row['wall_s'] / b['wall_s']:>11.3f} "
                f"{row['cpu_s'] / b.get('cpu_s', float('nan')):>10.3f}"
            )
        print(line, flush=True)
    million = [r for r in rows if r["trips"] >= 1_000_000]
    if million:
        r = min(million, key=lambda r: r["trips"])
        small = rows[0]
        print(
            f"targets at {r['trips']:,} trips: wall {r['wall_s']:.1f} s "
            f"({'MET' if r['wall_s'] <= 120 else 'NOT MET'} ≤ 120 s), peak "
            f"{r['peak_rss_mb'] / 1024:.2f} GB ({'MET' if r['peak_rss_mb'] <= 4096 else 'NOT MET'}"
            f" ≤ 4 GB), cost {r['wall_s'] / small['wall_s']:.1f} × the {small['trips']:,}-trip "
            f"run ({'MET' if r['wall_s'] <= 120 * small['wall_s'] else 'NOT MET'} ≤ 120 ×)"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
