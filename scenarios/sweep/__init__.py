"""Sweeps: one base scenario, parameters varied by a design, replications, on Dask.

A sweep file (TOML; :mod:`scenarios.sweep.file`, ``docs/batch.md``) names a base scenario,
the parameters to vary by their scenario key path, a design (a full grid, a Latin
hypercube or a Sobol sample; :mod:`scenarios.sweep.design`) and the replications. Each
(variant, replication) is one task identified by its run specification's digest
(:mod:`scenarios.sweep.tasks`); :func:`run_sweep` runs the tasks not done yet on the
executor (:mod:`scenarios.executor`), writes each run folder under the sweep's folder and
registers it in the sweep's run catalog with its parameters as columns
(:mod:`scenarios.sweep.folder`), and summarises each KPI by level and the parameters'
first-order sensitivity (:mod:`scenarios.sweep.summary`).
"""

from __future__ import annotations

from scenarios.sweep.design import Variant, make_variants
from scenarios.sweep.errors import SweepError
from scenarios.sweep.file import Design, Parameter, Sweep, load_sweep
from scenarios.sweep.run import Plan, SweepResult, check_sweep, plan_sweep, run_sweep
from scenarios.sweep.tasks import SweepFailure, Task

__all__ = [
    "Design",
    "Parameter",
    "Plan",
    "Sweep",
    "SweepError",
    "SweepFailure",
    "SweepResult",
    "Task",
    "Variant",
    "check_sweep",
    "load_sweep",
    "make_variants",
    "plan_sweep",
    "run_sweep",
]
