"""Batch runs on Dask: parallel efficiency and the cost of each task beyond its simulation.

Run on purpose (not collected by pytest)::

    .venv/bin/python benchmarks/bench_sweep.py                     # 20 runs, 1 then 2 workers
    .venv/bin/python benchmarks/bench_sweep.py --runs 20 --window 07:00-08:00 --scale 1.0

The runs are Huế traffic only (no tourists, no emergency services) in ``--window`` at
``--scale`` × the default demand, seeds 0 … runs − 1: the same specifications on each
cluster. For each number of workers the script starts a local cluster
(:class:`scenarios.executor.Executor`, single-threaded worker processes), ships the city
(timed apart), runs the specifications with ``Executor.run_all`` and, on the client, writes
each result as a run folder and registers it in a run catalog, as ``twin sweep`` does.
Reported per cluster:

- ``wall_s``: from submitting the tasks to the last result written, and the throughput
  ``runs_per_min = 60 × runs / wall_s``;
- ``run_s``: the mean time of :func:`sim.runner.run` inside the workers (the run's own
  ``timers["total"]``);
- ``overhead_per_task_s``: ``(wall_s × workers − Σ run_s) / runs``, everything a task costs
  beyond its simulation: scheduling, importing on a fresh worker, sending the result to the
  client, the client's writing competing for the cores, and workers idle at the end;
- ``write_s``: the client's mean time to write and register one run (part of the above
  only when it holds up the workers);
- the cities each worker holds (:meth:`Executor.city_copies`).

The parallel efficiency is ``wall_s(1 worker) / (2 × wall_s(2 workers))``, both measured in
this run. Targets (issue 10): efficiency ≥ 80 % on 2 workers for runs of 10 s or more;
overhead per task < 5 % of a 10 s run; one copy of the city per worker. The load average is
printed before and after each phase: on a shared machine, read the figures with it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def specs_for(city, args) -> list:
    from sim.spec_builder import build_spec

    start, end = args.window.split("-")
    return [
        build_spec(
            city, seed=seed, start=start, end=end, tourists=False, emergency=False,
            settings=[f"demand.scale={args.scale}"],
        )
        for seed in range(args.runs)
    ]  # fmt: skip


def on_cluster(workers: int, city, specs, out: Path) -> dict:
    from scenarios.catalog import register_run
    from scenarios.executor import Executor
    from sim.outputs import write_run

    figures: dict = {"workers": workers, "load_before": load()}
    t0 = time.perf_counter()
    with Executor(workers=workers) as executor:
        figures["start_cluster_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        executor.run_all(city, [], on_result=lambda s, r: None)  # ships the city, runs nothing
        figures["ship_city_s"] = time.perf_counter() - t0
        runs, writes = [], []

        def keep(spec, result) -> None:
            t = time.perf_counter()
            folder = write_run(result, out / spec.digest[:12])
            register_run(folder, root=out, labels={"bench": "sweep"})
            writes.append(time.perf_counter() - t)
            runs.append(float(result.timers["total"]))

        t0 = time.perf_counter()
        failures = executor.run_all(city, specs, on_result=keep)
        wall = time.perf_counter() - t0
        if failures:
            raise SystemExit(f"{len(failures)} runs failed: {failures[0].error}")
        figures["city_copies"] = sorted(executor.city_copies().values())
    figures.update(
        wall_s=wall,
        run_s=statistics.mean(runs),
        run_min_s=min(runs),
        run_max_s=max(runs),
        write_s=statistics.mean(writes),
        runs_per_min=60 * len(runs) / wall,
        overhead_per_task_s=(wall * workers - sum(runs)) / len(runs),
        load_after=load(),
    )
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="runs per cluster (default 20)")
    parser.add_argument("--window", default="07:00-08:00", help="HH:MM-HH:MM (07:00-08:00)")
    parser.add_argument("--scale", type=float, default=1.0, help="demand.scale (1.0)")
    parser.add_argument(
        "--workers", default="1,2", help="cluster sizes to measure, in order (default 1,2)"
    )
    args = parser.parse_args(argv)
    from twin.build.pipeline import load_city

    print(f"load average before: {load()}  ({os.cpu_count()} cores; 1, 5 and 15 minutes)")
    city = load_city()
    specs = specs_for(city, args)
    print(f"{len(specs)} runs: {city.name} traffic only, {args.window}, demand.scale {args.scale}")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for workers in (int(w) for w in args.workers.split(",")):
            figures = on_cluster(workers, city, specs, Path(tmp) / f"w{workers}")
            results.append(figures)
            print(
                f"{workers} worker(s): wall {figures['wall_s']:.1f} s, "
                f"{figures['runs_per_min']:.1f} runs/min; "
                f"run {figures['run_s']:.2f} s "
                f"(min {figures['run_min_s']:.2f}, max {figures['run_max_s']:.2f}); overhead per "
                f"task {figures['overhead_per_task_s']:.2f} s "
                f"({100 * figures['overhead_per_task_s'] / figures['run_s']:.1f} % of a run); "
                f"write+register {figures['write_s']:.2f} s; cluster start "
                f"{figures['start_cluster_s']:.1f} s; city shipped in "
                f"{figures['ship_city_s']:.2f} s; cities per worker {figures['city_copies']}; "
                f"load {figures['load_before']} -> {figures['load_after']}",
                flush=True,
            )
    by = {f["workers"]: f for f in results}
    if 1 in by and 2 in by:
        efficiency = by[1]["wall_s"] / (2 * by[2]["wall_s"])
        print(
            f"parallel efficiency on 2 workers: {100 * efficiency:.0f} % "
            f"(wall 1 worker {by[1]['wall_s']:.1f} s / (2 × {by[2]['wall_s']:.1f} s)); "
            f"target >= 80 %"
        )
    for f in results:
        share = f["overhead_per_task_s"] / f["run_s"]
        print(
            f"overhead per task on {f['workers']} worker(s): {100 * share:.1f} % of the run "
            f"time ({f['overhead_per_task_s']:.2f} s beside {f['run_s']:.2f} s); target < 5 %"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
