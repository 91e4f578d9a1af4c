"""From variants to tasks: each (variant, replication) is one run specification.

A variant is the base scenario with the sweep's values laid over it — each parameter set at
its key path in its section, and the interventions of every switch that is on appended to
the scenario's — compiled on the city (:func:`scenarios.compile.compile_scenario`).
Replication ``i`` of every variant takes the seed ``base seed + i`` (common random numbers
across variants). A task is identified by its specification's digest.

A variant that does not compile (values that are fine alone but not together, such as
vehicle shares that no longer sum to one) is a :class:`SweepFailure` of each of its
replications; the other variants go on.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scenarios.compile import compile_scenario
from scenarios.scenario import Scenario
from scenarios.sweep.design import Variant
from scenarios.sweep.errors import SweepError
from scenarios.sweep.file import Sweep
from sim.spec import RunSpec
from twin.city import City
from twin.errors import TwinError

__all__ = ["SweepFailure", "Task", "compile_tasks", "variant_scenario"]


@dataclass(frozen=True)
class Task:
    """One run of a sweep.

    Attributes
    ----------
    variant
        Its variant.
    replication
        Its replication (``0`` …); its seed is the base seed plus this.
    spec
        Its run specification.
    """

    variant: Variant
    replication: int
    spec: RunSpec

    @property
    def folder(self) -> Path:
        """Its run folder, relative to the sweep's folder: ``runs/<variant>/r<i>``."""
        return Path("runs") / self.variant.id / f"r{self.replication:03d}"

    def labels(self, sweep: Sweep) -> dict[str, Any]:
        """Its columns in the run catalog: the sweep, the variant, the replication and
        every varied parameter."""
        return {
            "sweep": sweep.name,
            "variant": self.variant.id,
            "replication": self.replication,
            **self.variant.values,
        }


@dataclass(frozen=True)
class SweepFailure:
    """A task that did not run to the end, and why.

    Attributes
    ----------
    variant
        Its variant (and so its parameter values).
    replication
        Its replication.
    error
        What went wrong (the error's type and message).
    """

    variant: Variant
    replication: int
    error: str

    def describe(self) -> str:
        """``v003 r001 (demand.scale=1.2, …): SpecError: …``."""
        return (
            f"{self.variant.id} r{self.replication:03d} ({self.variant.describe()}): {self.error}"
        )


def variant_scenario(sweep: Sweep, variant: Variant) -> Scenario:
    """The base scenario with ``variant``'s values laid over it.

    Raises
    ------
    SweepError
        The base scenario gives a table the sweep sets a key inside as something else.
    """
    data = copy.deepcopy(sweep.scenario.data)
    items = data.setdefault("intervention", [])
    for key, value in variant.values.items():
        section, *path = key.split(".")
        if section == "switch":
            if value:
                items.extend(copy.deepcopy(sweep.switches[path[0]]))
            continue
        table = data.setdefault(section, {})
        for depth, part in enumerate(path[:-1]):
            inner = table.setdefault(part, {})
            if not isinstance(inner, dict):
                where = ".".join([section, *path[: depth + 1]])
                raise SweepError(
                    f"{sweep.label}: the base scenario gives {where} as {inner!r}, so the sweep "
                    f"cannot set {key} inside it; give {where} as a table in the base scenario"
                )
            table = inner
        table[path[-1]] = value
    return replace(sweep.scenario, data=data)


def compile_tasks(
    sweep: Sweep,
    variants: list[Variant],
    city: City,
    *,
    bundle: str | Path | None = None,
) -> tuple[list[Task], list[SweepFailure]]:
    """Every task of the sweep, and the failures of variants that do not compile.

    Raises
    ------
    SweepError
        Two variants make the same run specification (a parameter that changes nothing).
    """
    tasks: list[Task] = []
    failures: list[SweepFailure] = []
    first_of: dict[str, Variant] = {}
    base_seed = sweep.scenario.seed
    for variant in variants:
        try:
            spec = compile_scenario(variant_scenario(sweep, variant), city, bundle=bundle)
        except TwinError as exc:  # a scenario error, or values refused in this combination
            error = f"{type(exc).__name__}: {exc}"
            failures.extend(SweepFailure(variant, i, error) for i in range(sweep.replications))
            continue
        twin = first_of.setdefault(spec.digest, variant)
        if twin is not variant:
            raise SweepError(
                f"{sweep.label}: variants {twin.id} ({twin.describe()}) and {variant.id} "
                f"({variant.describe()}) make the same run specification, so a parameter they "
                "differ in changes nothing in the run; remove it from [vary], or check that "
                "the part of the model it belongs to runs"
            )
        for i in range(sweep.replications):
            tasks.append(Task(variant, i, spec.replace(seed=base_seed + i)))
    return tasks, failures
