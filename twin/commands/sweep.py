"""``twin sweep SWEEP.toml -o DIR``: a base scenario run over a design of parameter values
and replications, on a local Dask cluster or an existing one, resumable, registered in a
run catalog, summarised by level and by sensitivity."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "sweep",
        help="run a scenario over a design of parameter values, on Dask",
        description="Run every (variant, replication) of a sweep file (docs/batch.md) as a "
        "Dask task: on a local cluster of worker processes, or on an existing cluster "
        "(--scheduler, or the scheduler setting). Each run is a run folder under "
        "DIR/runs/<variant>/r<i>, registered in the run catalog rooted at DIR with its "
        "parameters as columns (twin query --root DIR). At the end it prints each KPI's "
        "mean and 95 %% interval at each level of each parameter and the parameters' "
        "first-order sensitivity, and writes DIR/summary.parquet, DIR/sensitivity.parquet "
        "and DIR/sweep.json. Running it again runs only the tasks not in DIR yet.",
    )
    parser.add_argument(
        "sweep", metavar="SWEEP", help="a sweep file (.toml) or a library name such as "
        "hue/sweep-ambulances-demand",
    )  # fmt: skip
    parser.add_argument(
        "--replications", type=int, metavar="N", help="replications of every variant "
        "(default: the sweep's); more than before adds runs, the others are kept",
    )  # fmt: skip
    parser.add_argument(
        "--workers", type=int, metavar="N", help="worker processes of the local cluster "
        "(default: one per core; 0 runs in this process)",
    )  # fmt: skip
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="run on this Dask scheduler (tcp://HOST:8786; "
        "default: the scheduler setting, TWIN_SCHEDULER, else a local cluster)",
    )  # fmt: skip
    parser.add_argument(
        "--city", type=Path, metavar="CITY.twin", help="the city (default: the base scenario's)"
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="list the variants and tasks; run nothing"
    )
    parser.add_argument(
        "--all-kpis", action="store_true",
        help="print every KPI (default: those that judge, better lower or higher)",
    )  # fmt: skip
    parser.add_argument(
        "--root", type=Path, metavar="ROOT", help="register the runs in this results root "
        "(e.g. the runs_dir setting, with other runs) instead of DIR's own catalog",
    )  # fmt: skip
    parser.add_argument(
        "--force", action="store_true", help="replace an earlier sweep in DIR (not resume)"
    )
    parser.add_argument("-o", "--output", type=Path, metavar="DIR", help="the sweep's folder")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if not getattr(args, "verbose", False):  # Dask's own log lines only with twin -v
        os.environ.setdefault("DASK_LOGGING__DISTRIBUTED", "warning")
    from scenarios.executor import Executor
    from scenarios.sweep import SweepError, check_sweep, plan_sweep, run_sweep

    if args.output is None and not args.dry_run:
        raise SweepError("give the sweep's folder with -o DIR (or --dry-run to list the tasks)")
    if args.dry_run:
        city, bundle = _city(args)
        plan = plan_sweep(args.sweep, city=city, bundle=bundle, replications=args.replications)
        print(_headline(plan))
        for variant in plan.variants:
            digests = [t.spec.digest[:12] for t in plan.tasks if t.variant is variant]
            print(f"  {variant.id}  {variant.describe()}  {' '.join(digests)}")
        for failure in plan.failures:
            print(f"  cannot run {failure.describe()}")
        return 1 if plan.failures else 0
    # everything that can be checked is, before a cluster starts: the sweep file, the folder,
    # the executor's options, the city and every variant's specification
    sweep = check_sweep(
        args.sweep,
        out_dir=args.output,
        replications=args.replications,
        force=args.force,
        root=args.root,
    )
    executor = Executor(scheduler=args.scheduler, workers=args.workers)
    city, bundle = _city(args)
    plan = plan_sweep(sweep, city=city, bundle=bundle)
    bar = _Progress()
    with executor:

        def started(plan, todo: int, done: int) -> None:
            print(_headline(plan))
            print(f"to run: {todo} (already in {args.output}: {done})", flush=True)
            if todo and executor.dashboard:
                note = f" ({executor.dashboard_note})" if executor.dashboard_note else ""
                print(f"dashboard: {executor.dashboard}{note}", file=sys.stderr)
            bar.start(todo)

        try:
            result = run_sweep(
                plan,
                out_dir=args.output,
                executor=executor,
                progress=bar.update,
                on_start=started,
                force=args.force,
                root=args.root,
            )
        except KeyboardInterrupt:
            bar.close()
            print(
                f"twin sweep: interrupted; the runs finished so far are in {args.output}: run "
                "the same command again to run only the others",
                file=sys.stderr,
            )
            return 130
    bar.close()
    root = args.root if args.root is not None else args.output
    print(
        f"ran {result.ran}, reused {result.reused}, failed {len(result.failures)}; "
        f"runs in {args.output}/runs, catalog root {root} (twin query --root {root} ...)"
    )
    print()
    print(format_summary(result, all_kpis=args.all_kpis))
    if result.failures:
        print(f"\n{len(result.failures)} of {result.plan.runs} runs failed:", file=sys.stderr)
        for failure in result.failures:
            print(f"  {failure.describe()}", file=sys.stderr)
        return 1
    return 0


def _city(args: argparse.Namespace):
    """The city of ``--city`` and its bundle, or ``(None, None)`` for the base scenario's."""
    from twin.build.pipeline import load_city

    if args.city is None:
        return None, None
    return load_city(args.city), str(args.city)


def _headline(plan) -> str:
    sweep, scenario = plan.sweep, plan.sweep.scenario
    design = sweep.design
    how = (
        "grid"
        if design.kind == "grid"
        else f"{design.kind} of {design.samples} samples (seed {design.seed})"
    )
    window = f"{_clock(scenario.start)}-{_clock(scenario.end)}"
    return (
        f"sweep {sweep.name}: {scenario.label} on {plan.city.name} {window}, {how} over "
        f"{len(sweep.parameters)} parameters: {len(plan.variants)} variants × "
        f"{sweep.replications} replications = {plan.runs} runs"
    )


class _Progress:
    """Runs done / running / failed and time left, on stderr."""

    def __init__(self) -> None:
        self.bar = None

    def start(self, total: int) -> None:
        from tqdm import tqdm

        if total:
            self.bar = tqdm(
                total=total, unit="run", file=sys.stderr, desc="runs",
                bar_format="{desc} {n_fmt}/{total_fmt} |{bar:20}| {elapsed}{postfix}",
            )  # fmt: skip

    def update(self, progress) -> None:
        if self.bar is None:
            return
        left = "?" if progress.eta_s is None else _duration(progress.eta_s)
        self.bar.set_postfix_str(
            f"running {progress.running}, failed {progress.failed}, left ~{left}", refresh=False
        )
        self.bar.update(progress.done - self.bar.n)
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def format_summary(result, *, all_kpis: bool = False) -> str:
    """The summary as text: for each parameter, each KPI's mean ± the half-width of its
    95 % interval at each level; then each KPI's parameters ranked by first-order
    sensitivity."""
    from sim.kpis import DOMAINS, REGISTRY

    summary, sensitivity = result.summary, result.sensitivity
    n = result.plan.sweep.replications
    keep = summary["kpi"].isin(
        [k for k, e in REGISTRY.items() if not e.breakdown and (all_kpis or e.better != "neither")]
    )
    summary = summary[keep]
    order = {d: k for k, d in enumerate(DOMAINS)}
    kpis = sorted(
        summary["kpi"].unique(), key=lambda k: (order[REGISTRY[k].domain], list(REGISTRY).index(k))
    )
    lines = [f"KPIs by level (mean ± half-width of the 95 % interval over {n} replications)"]
    for parameter in result.plan.sweep.parameters:
        part = summary[summary["parameter"] == parameter.key]
        levels = list(dict.fromkeys(part["level"]))
        header = (parameter.key, *levels)
        body = []
        for name in kpis:
            rows = part[part["kpi"] == name].set_index("level")
            if rows.empty:
                continue
            body.append(
                (
                    f"  {name} ({REGISTRY[name].unit})",
                    *(_cell(rows.loc[level]) if level in rows.index else "-" for level in levels),
                )
            )
        lines.extend(_columns(header, body))
        lines.append("")
    ranked = sensitivity[sensitivity["kpi"].isin(kpis)]
    if not ranked.empty:
        lines.append(
            "First-order sensitivity: the share of each KPI's variance that a parameter alone "
            "explains (adjusted correlation ratio ε², ranked); seed: the share of seed noise"
        )
        for name in kpis:
            rows = ranked[ranked["kpi"] == name].sort_values("rank")
            if rows.empty or rows["first_order"].isna().all():
                continue  # the KPI does not vary
            shares = " · ".join(f"{r.parameter} {_share(r.first_order)}" for r in rows.itertuples())
            seed = _share(rows["seed_share"].iloc[0])
            lines.append(f"  {name} ({REGISTRY[name].unit}): {shares}; seed {seed}")
    return "\n".join(lines).rstrip()


def _columns(header: tuple[str, ...], body: list[tuple[str, ...]]) -> list[str]:
    widths = [max(len(r[k]) for r in [header, *body]) for k in range(len(header))]

    def line(cells):
        return "  ".join(
            c.ljust(w) if k == 0 else c.rjust(w)
            for k, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return [line(header), *(line(r) for r in body)]


def _cell(row) -> str:
    mean = _number(row["mean"])
    if not math.isfinite(row["ci_high"]):
        return mean
    return f"{mean} ± {_number((row['ci_high'] - row['ci_low']) / 2)}"


def _number(value: float) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    magnitude = abs(value)
    digits = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 0.1 else 3
    return f"{value:,.{digits}f}"


def _share(value: float) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:.2f}"


def _clock(seconds: float) -> str:
    from twin.clock import format_clock

    return format_clock(seconds)[:5]


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"
