"""Batch runs on Dask: parallel efficiency and the cost of each task beyond its simulation.

Run on purpose (not collected by pytest)::

    .venv/bin/python benchmarks/bench_sweep.py                     # 20 runs, 1 then 2 workers
    .venv/bin/python benchmarks/bench_sweep.py --workers 1,2,2,1   # each size twice (busy machine)
    .venv/bin/python benchmarks/bench_sweep.py --runs 8 --scale 0.5 --window 07:00-08:00

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
- ``busy``: ``Σ run_s / (wall_s × workers)``, the share of the workers' time spent inside
  runs; unlike the efficiency below it does not move when other jobs slow the runs down;
- ``cpu_per_run_s``: the CPU time the workers spent per run (``time.process_time`` of each
  worker process, all its threads), and ``cpu_share``: that CPU time over ``wall_s ×
  workers``, the part of a core each worker actually got. On a machine shared with other
  jobs (and Linux's autogroup scheduling, where a session's processes share one fair share
  of the CPU) two workers may get no more CPU than one: then ``cpu_share`` falls, and with
  it the efficiency, while ``cpu_per_run_s`` says whether the runs themselves did more work;
- ``client_cpu_per_run_s``: the client's CPU time per run (receiving, writing, registering);
- the cities each worker holds (:meth:`Executor.city_copies`).

The parallel efficiency is ``wall_s(1 worker) / (2 × wall_s(2 workers))``, both measured in
this run (each the mean over its phases: ``--workers 1,2,2,1`` measures each size twice, in
an order that cancels a load that drifts steadily). Targets (issue 10): efficiency ≥ 80 % on
2 workers for runs of 10 s or more; overhead per task < 5 % of a 10 s run; one copy of the
city per worker. The load average is printed before and after each phase: on a shared
machine, read the figures with it (two workers on two cores need the cores to themselves).
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


def cpu_seconds() -> float:
    """CPU seconds this process has used (all its threads); run on each worker too."""
    return time.process_time()


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

        cpu0, client_cpu0 = executor.client.run(cpu_seconds), cpu_seconds()
        t0 = time.perf_counter()
        failures = executor.run_all(city, specs, on_result=keep)
        wall = time.perf_counter() - t0
        cpu1, client_cpu1 = executor.client.run(cpu_seconds), cpu_seconds()
        if set(cpu1) != set(cpu0):
            raise SystemExit("a worker was replaced during the runs: CPU time not measured")
        cpu = sum(cpu1.values()) - sum(cpu0.values())
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
        busy=sum(runs) / (wall * workers),
        cpu_per_run_s=cpu / len(runs),
        cpu_share=cpu / (wall * workers),
        client_cpu_per_run_s=(client_cpu1 - client_cpu0) / len(runs),
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
        "--workers",
        default="1,2",
        help="cluster sizes to measure, in order (default 1,2; 1,2,2,1 on a busy machine)",
    )
    args = parser.parse_args(argv)
    from twin.build.pipeline import load_city

    print(f"load average before: {load()}  ({os.cpu_count()} cores; 1, 5 and 15 minutes)")
    city = load_city()
    specs = specs_for(city, args)
    print(f"{len(specs)} runs: {city.name} traffic only, {args.window}, demand.scale {args.scale}")
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as tmp:
        for phase, workers in enumerate(int(w) for w in args.workers.split(",")):
            figures = on_cluster(workers, city, specs, Path(tmp) / f"{phase}-w{workers}")
            results.append(figures)
            print(
                f"{workers} worker(s): wall {figures['wall_s']:.1f} s, "
                f"{figures['runs_per_min']:.1f} runs/min, busy {100 * figures['busy']:.0f} %; "
                f"CPU per run {figures['cpu_per_run_s']:.2f} s, each worker got "
                f"{100 * figures['cpu_share']:.0f} % of a core; client CPU per run "
                f"{figures['client_cpu_per_run_s']:.2f} s; "
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
    wall = {
        n: statistics.mean(f["wall_s"] for f in results if f["workers"] == n)
        for n in {f["workers"] for f in results}
    }
    if 1 in wall and 2 in wall:
        efficiency = wall[1] / (2 * wall[2])
        print(
            f"parallel efficiency on 2 workers: {100 * efficiency:.0f} % "
            f"(wall 1 worker {wall[1]:.1f} s / (2 × {wall[2]:.1f} s)); target >= 80 %; "
            f"runs/min {60 * len(specs) / wall[1]:.1f} -> {60 * len(specs) / wall[2]:.1f}"
        )

        def mean(key: str, n: int) -> float:
            return statistics.mean(f[key] for f in results if f["workers"] == n)

        print(
            f"CPU per run {mean('cpu_per_run_s', 1):.2f} s on 1 worker, "
            f"{mean('cpu_per_run_s', 2):.2f} s on 2; share of a core each worker got "
            f"{100 * mean('cpu_share', 1):.0f} % on 1 worker, {100 * mean('cpu_share', 2):.0f} % "
            "on 2 (below 100 %: other jobs took the rest)"
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
