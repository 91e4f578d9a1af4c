"""Running a sweep: plan its tasks, run what is not done on the executor, summarise.

:func:`run_sweep` reads and checks the sweep (:func:`scenarios.sweep.file.load_sweep`),
draws its variants (:mod:`scenarios.sweep.design`), compiles every (variant, replication)
to a run specification on the city (:mod:`scenarios.sweep.tasks`), opens the output folder
(:class:`scenarios.sweep.folder.SweepFolder`: new, or an earlier run of the sweep to
resume), runs the tasks not done yet on the executor (:class:`scenarios.executor.Executor`:
a local cluster or any Dask cluster; the client writes and registers each run as it comes
back), then writes the summary (:mod:`scenarios.sweep.summary`) and ``sweep.json``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from scenarios.executor import Executor, Progress
from scenarios.sweep.design import Variant, make_variants
from scenarios.sweep.file import Sweep, load_sweep
from scenarios.sweep.folder import RESULT_FILES, SweepFolder
from scenarios.sweep.summary import level_table, sensitivity_table
from scenarios.sweep.tasks import SweepFailure, Task, compile_tasks
from sim.kpis import scalar_kpis
from sim.result import RunResult
from sim.spec import RunSpec
from twin.city import City

__all__ = ["Plan", "SweepResult", "check_sweep", "plan_sweep", "run_sweep"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Plan:
    """A sweep's tasks on a city, before anything runs.

    Attributes
    ----------
    sweep
        The sweep.
    variants
        Its variants.
    tasks
        Every (variant, replication) that compiled, with its specification.
    failures
        Tasks of variants that did not compile.
    city
        The city they run on.
    bundle
        The bundle it came from (``None`` for the default city).
    """

    sweep: Sweep
    variants: tuple[Variant, ...]
    tasks: tuple[Task, ...]
    failures: tuple[SweepFailure, ...]
    city: City = field(repr=False)
    bundle: str | None = None

    @property
    def runs(self) -> int:
        """Runs the design makes: variants × replications."""
        return len(self.variants) * self.sweep.replications


@dataclass(frozen=True)
class SweepResult:
    """A finished sweep (some tasks may have failed).

    Attributes
    ----------
    folder
        Where it was written.
    plan
        What was planned.
    ran
        Tasks run now.
    reused
        Tasks already done by an earlier run of the sweep.
    failures
        Tasks that failed (compiling or running), with their parameters.
    runs
        One row per finished task: ``variant``, ``replication``, each parameter, each
        scalar KPI.
    summary
        Each KPI at each level of each parameter (:func:`~scenarios.sweep.summary.level_table`).
    sensitivity
        First-order sensitivity, ranked (:func:`~scenarios.sweep.summary.sensitivity_table`).
    """

    folder: Path
    plan: Plan
    ran: int
    reused: int
    failures: tuple[SweepFailure, ...]
    runs: pd.DataFrame = field(repr=False)
    summary: pd.DataFrame = field(repr=False)
    sensitivity: pd.DataFrame = field(repr=False)


def check_sweep(
    sweep: str | Path | Sweep,
    *,
    out_dir: str | Path,
    replications: int | None = None,
    force: bool = False,
    root: str | Path | None = None,
) -> Sweep:
    """Check what :func:`run_sweep` is asked, without a city or a run: the sweep file (every
    problem at once), the replications and the output folder. ``twin sweep`` calls it before
    it starts a cluster.

    Returns
    -------
    The sweep loaded, with ``replications`` applied.

    Raises
    ------
    ScenarioError, SweepError
        See :func:`run_sweep`.
    """
    loaded = sweep if isinstance(sweep, Sweep) else load_sweep(sweep)
    if replications is not None:
        loaded = loaded.with_replications(replications)
    SweepFolder(out_dir, loaded, make_variants(loaded), force=force, root=root).check()
    return loaded


def plan_sweep(
    sweep: str | Path | Sweep,
    *,
    city: City | None = None,
    bundle: str | Path | None = None,
    replications: int | None = None,
) -> Plan:
    """Read the sweep (unless given), draw its variants and compile its tasks on the city.

    Parameters
    ----------
    sweep
        A sweep file, a library name (``hue/sweep-ambulances-demand``) or a loaded sweep.
    city
        The city (default: the base scenario's).
    bundle
        The bundle ``city`` came from, for the specifications.
    replications
        Replications of every variant (default: the sweep's).

    Raises
    ------
    ScenarioError
        The sweep file has problems (all of them are listed).
    SweepError
        Two variants make the same run specification.
    """
    from scenarios.compare import scenario_city

    sweep = sweep if isinstance(sweep, Sweep) else load_sweep(sweep)
    if replications is not None:
        sweep = sweep.with_replications(replications)
    variants = make_variants(sweep)
    if city is None:
        city, bundle = scenario_city(sweep.scenario)
    tasks, failures = compile_tasks(sweep, variants, city, bundle=bundle)
    return Plan(
        sweep, tuple(variants), tuple(tasks), tuple(failures), city,
        None if bundle is None else str(bundle),
    )  # fmt: skip


def run_sweep(
    sweep: str | Path | Sweep | Plan,
    *,
    out_dir: str | Path,
    city: City | None = None,
    bundle: str | Path | None = None,
    replications: int | None = None,
    executor: Executor | None = None,
    progress: Callable[[Progress], None] | None = None,
    on_start: Callable[[Plan, int, int], None] | None = None,
    force: bool = False,
    root: str | Path | None = None,
) -> SweepResult:
    """Run a sweep into ``out_dir``, resuming an earlier run of it (see the module docstring).

    Parameters
    ----------
    sweep
        A sweep file, a library name, a loaded sweep, or a :func:`plan_sweep` plan.
    out_dir
        The sweep's folder (:mod:`scenarios.sweep.folder`): new, empty, or an earlier run
        of this sweep (resumed: only the tasks not done run).
    city, bundle, replications
        See :func:`plan_sweep` (ignored for a plan).
    executor
        Where runs are computed (default: a local cluster, one worker per core, or the
        ``scheduler`` setting).
    progress
        Called with the executor's :class:`~scenarios.executor.Progress` of the tasks
        running now.
    on_start
        Called once before the tasks start, with the plan, the tasks to run and the tasks
        already done.
    force
        Replace an earlier sweep in ``out_dir`` instead of resuming it.
    root
        The results root the runs are registered in (default: ``out_dir`` itself, the
        sweep's own catalog; give the ``runs_dir`` setting to keep them with other runs).

    Returns
    -------
    The finished sweep; its ``failures`` list the tasks that failed (the others ran).

    Raises
    ------
    ScenarioError
        The sweep file has problems (all of them, before anything runs).
    SweepError
        ``out_dir`` holds something else or another sweep (without ``force``), another
        client is running a sweep in it, or two variants make the same run.
    """
    if isinstance(sweep, Plan):
        plan = sweep
    else:
        # refuse a wrong folder before the city is loaded and the variants compiled
        loaded = check_sweep(
            sweep, out_dir=out_dir, replications=replications, force=force, root=root
        )
        plan = plan_sweep(loaded, city=city, bundle=bundle)
    own_executor = executor is None
    folder = SweepFolder(out_dir, plan.sweep, list(plan.variants), force=force, root=root)
    with folder:
        resume = folder.resume(list(plan.tasks))
        if resume.registered:
            log.info("registered %d runs an interrupted client had written", resume.registered)
        if on_start is not None:
            on_start(plan, len(resume.todo), len(resume.done))
        by_digest = {task.spec.digest: task for task in resume.todo}

        def keep(spec: RunSpec, result: RunResult) -> None:
            folder.write(by_digest[spec.digest], result)

        failures = list(plan.failures)
        if resume.todo:
            executor = executor if executor is not None else Executor()
            try:
                if own_executor:
                    executor.__enter__()
                failed = executor.run_all(
                    plan.city,
                    [task.spec for task in resume.todo],
                    on_result=keep,
                    progress=progress,
                )
            finally:
                if own_executor:
                    executor.close()
            for failure in failed:
                task = by_digest[failure.spec.digest]
                failures.append(SweepFailure(task.variant, task.replication, failure.error))
        failed_keys = {(f.variant.id, f.replication) for f in failures}
        finished = [t for t in plan.tasks if (t.variant.id, t.replication) not in failed_keys]
        runs = _runs_table(plan, finished, folder)
        kpis = _kpi_names(runs, plan)
        bins = plan.sweep.design.bins
        summary = level_table(runs, plan.sweep.parameters, kpis, bins=bins)
        sensitivity = sensitivity_table(runs, plan.sweep.parameters, kpis, bins=bins)
        folder.write_table("summary.parquet", summary)
        folder.write_table("sensitivity.parquet", sensitivity)
        folder.tidy()
        ran = len(resume.todo) - (len(failures) - len(plan.failures))
        folder.write_json(
            "sweep.json", _describe(plan, ran, len(resume.done), failures, folder.root)
        )
    return SweepResult(
        folder.path, plan, ran, len(resume.done), tuple(failures), runs, summary, sensitivity
    )


def _runs_table(plan: Plan, tasks: list[Task], folder: SweepFolder) -> pd.DataFrame:
    """One row per finished task: variant, replication, parameters, scalar KPIs."""
    rows = []
    for task in tasks:
        row: dict[str, Any] = {"variant": task.variant.id, "replication": task.replication}
        row.update(task.variant.values)
        row.update(scalar_kpis(folder.kpis(task)))
        rows.append(row)
    keys = [p.key for p in plan.sweep.parameters]
    table = pd.DataFrame(rows, columns=None if rows else ["variant", "replication", *keys])
    for key in keys:  # keep true/false, whole numbers and numbers apart
        table[key] = pd.Series([r.get(key) for r in rows], dtype=object, index=table.index)
    return table


def _kpi_names(runs: pd.DataFrame, plan: Plan) -> list[str]:
    fixed = {"variant", "replication", *(p.key for p in plan.sweep.parameters)}
    return [c for c in runs.columns if c not in fixed]


def _describe(
    plan: Plan, ran: int, reused: int, failures: list[SweepFailure], root: Path
) -> dict[str, Any]:
    sweep = plan.sweep
    scenario = sweep.scenario
    return {
        "format": "hue-twin-sweep/1",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "name": sweep.name,
        "source": sweep.label,
        "title": sweep.title,
        "description": sweep.description,
        "scenario": scenario.label,
        "city": {"name": plan.city.name, "bundle": plan.bundle or ""},
        "window": [scenario.start, scenario.end],
        "seeds": [scenario.seed + i for i in range(sweep.replications)],
        "design": {
            "kind": sweep.design.kind,
            "samples": sweep.design.samples or None,
            "seed": sweep.design.seed if sweep.design.kind != "grid" else None,
            "bins": sweep.design.bins if sweep.design.kind != "grid" else None,
        },
        "parameters": [
            {"key": p.key, "levels": list(p.levels)}
            if p.levels
            else {"key": p.key, "range": [p.low, p.high]}
            for p in sweep.parameters
        ],
        "variants": [{"id": v.id, "values": v.values} for v in plan.variants],
        "replications": sweep.replications,
        "tasks": plan.runs,
        "ran": ran,
        "reused": reused,
        "failed": [
            {
                "variant": f.variant.id,
                "replication": f.replication,
                "values": f.variant.values,
                "error": f.error,
            }
            for f in failures
        ],
        "catalog_root": str(root),
        "files": [name for name in RESULT_FILES if name != "sweep.json"],
    }
