"""Comparing scenarios honestly: paired replications, intervals, and where things change.

:func:`compare_scenarios` runs a base scenario and one or more options for ``n``
replications each, on the executor (:mod:`scenarios.executor`). Replication ``i`` of every
scenario uses the seed ``base seed + i``, so the two sides draw the same random numbers
(common random numbers, with separate streams per domain: an intervention in one domain
does not shift another's draws). For each KPI of the registry it reports the base mean, the
option mean, the mean paired difference with its 95 % interval (:mod:`scenarios.statistics`)
and whether the difference is clear; with ``ci_width`` it adds replications until every
interval is narrow enough or ``max_replications`` is reached. It also writes where things
change, per link and per zone (:mod:`scenarios.differences`).

The comparison folder
---------------------
``runs/<scenario>/r<i>/``
    Each replication's run folder (:func:`sim.outputs.write_run`), written as it finishes.
``kpis.parquet``, ``links.parquet``, ``zones.parquet``
    The KPI table and the per-link and per-zone differences.
``comparison.json``
    What was compared (names, titles, descriptions and assumptions in Vietnamese and
    English, digests, replications), written last: a folder without it is not a finished
    comparison. Running the same comparison again reuses every replication already
    finished (a run folder whose specification digest matches) and runs only the rest.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from scenarios.atomic_files import write_parquet, write_text
from scenarios.catalog import register_run
from scenarios.compile import compile_scenario
from scenarios.differences import link_differences, zone_differences, zone_values
from scenarios.executor import Executor
from scenarios.problems import Problem, ScenarioError
from scenarios.scenario import Scenario, load_scenario
from scenarios.statistics import narrow_enough, paired_table, replications_needed
from sim.kpis import scalar_kpis
from sim.outputs import RunDirError, read_run, write_run
from sim.result import RunResult
from sim.spec import RunSpec
from twin.city import City
from twin.errors import OutputError, TwinError
from twin.output_paths import check_writable

__all__ = [
    "Comparison",
    "ComparisonError",
    "check_comparison",
    "compare_scenarios",
    "scenario_city",
]

log = logging.getLogger(__name__)

#: The file that marks a folder as a comparison's (written first).
MARKER = ".hue-twin-comparison"
#: What a comparison writes at its end, besides the run folders.
RESULT_FILES = ("kpis.parquet", "links.parquet", "zones.parquet", "comparison.json")


class ComparisonError(TwinError, ValueError):
    """A comparison cannot be made as asked (folders, cities, replications, names)."""


@dataclass(frozen=True)
class Comparison:
    """A finished comparison.

    Attributes
    ----------
    folder
        Where it was written.
    base, options
        The scenarios.
    replications
        Paired replications run (per scenario).
    kpis
        The KPI table (:data:`scenarios.statistics.KPI_COLUMNS`).
    reused
        Replications taken from an earlier, interrupted or finished, run of the comparison.
    """

    folder: Path
    base: Scenario
    options: tuple[Scenario, ...]
    replications: int
    kpis: pd.DataFrame = field(repr=False)
    reused: int = 0


def scenario_city(scenario: Scenario) -> tuple[City, str | None]:
    """The city a scenario names (its ``city`` bundle, or the default city) and the bundle
    path (``None`` for the default city)."""
    from twin.build.pipeline import load_city

    bundle = scenario.city or None
    return load_city(bundle), bundle


def check_comparison(
    base: str | Path | Scenario,
    options: Sequence[str | Path | Scenario],
    *,
    out_dir: str | Path,
    replications: int | None = None,
    ci_width: float | None = None,
    max_replications: int | None = None,
    force: bool = False,
) -> tuple[Scenario, tuple[Scenario, ...], int, int]:
    """Check what :func:`compare_scenarios` is asked, without a city or a run: the scenario
    files, their names and city, the replication counts and the output folder. The
    ``twin compare`` command calls it before it starts a cluster.

    Returns
    -------
    The base and the options loaded, the replications to start with and the most allowed.

    Raises
    ------
    ScenarioError, ComparisonError
        See :func:`compare_scenarios`.
    """
    base = base if isinstance(base, Scenario) else load_scenario(base)
    options = tuple(o if isinstance(o, Scenario) else load_scenario(o) for o in options)
    if not options:
        raise ComparisonError("give at least one option to compare with the base")
    names = [base.name, *(o.name for o in options)]
    if len(set(names)) != len(names):
        raise ComparisonError(
            f"scenario names repeat ({names}); each scenario of a comparison needs its own "
            "name ([scenario] name)"
        )
    cities = {s.city for s in (base, *options)}
    if len(cities) > 1:
        raise ComparisonError(
            f"the scenarios name different cities ({sorted(cities)}); compare scenarios of one city"
        )
    n = base.replications if replications is None else replications
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ComparisonError(f"replications = {n!r}; give a whole number >= 1")
    cap = max_replications if max_replications is not None else max(10, 4 * n)
    if ci_width is not None and not (ci_width > 0):
        raise ComparisonError(f"--ci-width {ci_width!r}; give a share above 0, e.g. 0.05")
    if cap < n:
        raise ComparisonError(f"--max-replications {cap} is below the {n} replications asked")
    _check_folder(Path(out_dir), base, options, force=force)
    return base, options, n, cap


def compare_scenarios(
    base: str | Path | Scenario,
    options: Sequence[str | Path | Scenario],
    *,
    out_dir: str | Path,
    city: City | None = None,
    bundle: str | Path | None = None,
    replications: int | None = None,
    ci_width: float | None = None,
    max_replications: int | None = None,
    executor: Executor | None = None,
    progress: Callable[[str, int, int], None] | None = None,
    force: bool = False,
) -> Comparison:
    """Compare ``options`` with ``base`` (see the module docstring).

    Parameters
    ----------
    base, options
        Scenarios: files, library names (``hue/baseline``) or loaded ones.
    out_dir
        The comparison folder: new, empty, or an earlier run of this comparison (resumed).
    city
        The city (default: the base scenario's; every scenario must name the same).
    bundle
        The bundle ``city`` came from, for the specifications.
    replications
        Paired replications to start with (default: the base scenario's).
    ci_width
        Add replications until every interval's half-width is at most this share of the
        base mean (``0.05``: ±5 %; see :func:`scenarios.statistics.narrow_enough`).
    max_replications
        At most this many replications when ``ci_width`` asks for more (default 4 × the
        start, at least 10).
    executor
        Where runs are computed (default: a local cluster, one worker per core).
    progress
        Called with (what, done, total) as replications finish.
    force
        Replace an earlier comparison in ``out_dir`` instead of resuming it.

    Raises
    ------
    ScenarioError
        A scenario has problems (all of them are listed).
    ComparisonError
        The output folder holds something else, the scenarios name different cities, two
        scenarios share a name, or the replication counts are not positive.
    """
    base, options, n, cap = check_comparison(
        base,
        options,
        out_dir=out_dir,
        replications=replications,
        ci_width=ci_width,
        max_replications=max_replications,
        force=force,
    )
    if city is None:
        city, bundle = scenario_city(base)
    scenarios = (base, *options)
    problems: list[Problem] = []
    for scenario in scenarios:  # every scenario's problems before any run starts
        try:
            compile_scenario(scenario, city, bundle=bundle)
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    folder = _prepare(Path(out_dir), base, options, force=force)
    runs = _Runs(folder, city, scenarios, bundle)
    own_executor = executor is None
    executor = executor if executor is not None else Executor()
    try:
        if own_executor:
            executor.__enter__()
        while True:
            runs.ensure(n, executor, progress)
            table = paired_table(runs.kpis(base, n), {o.name: runs.kpis(o, n) for o in options})
            if ci_width is None or narrow_enough(table, ci_width).all() or n >= cap:
                break
            n = min(cap, max(n + 1, replications_needed(table, ci_width)))
            log.info("intervals too wide for ±%g: %d replications", ci_width, n)
    finally:
        if own_executor:
            executor.close()
    _write_results(folder, city, base, options, n, table, runs, ci_width, cap)
    return Comparison(folder, base, options, n, table, runs.reused)


def _check_folder(folder: Path, base: Scenario, options, *, force: bool) -> None:
    """Refuse a folder that is a file, holds anything but a comparison, or (without
    ``force``) holds a comparison of other scenarios."""
    if folder.exists() and not folder.is_dir():
        raise ComparisonError(f"{folder} is a file; give a folder for the comparison")
    try:
        check_writable(folder / "runs", option="-o")
    except OutputError as exc:
        raise ComparisonError(str(exc)) from None
    if folder.is_dir() and any(folder.iterdir()):
        if not (folder / MARKER).is_file():
            raise ComparisonError(
                f"{folder} holds files that are not a comparison's; choose another folder"
            )
        try:
            earlier = json.loads((folder / MARKER).read_text(encoding="utf-8"))
            names = (earlier["base"], earlier["options"])
        except (OSError, ValueError, KeyError, TypeError):
            raise ComparisonError(f"{folder / MARKER} is damaged; choose another folder") from None
        if not force and names != (base.name, [o.name for o in options]):
            raise ComparisonError(
                f"{folder} holds a comparison of {names[0]} with {names[1]}; choose another "
                "folder, or pass --force to replace it"
            )


def _prepare(folder: Path, base: Scenario, options, *, force: bool) -> Path:
    """The comparison folder, made (or an earlier one of it kept for resuming; with
    ``force``, emptied of what an earlier comparison wrote there, and only that)."""
    _check_folder(folder, base, options, force=force)
    marker = {"base": base.name, "options": [o.name for o in options]}
    if force and (folder / MARKER).is_file():
        for name in RESULT_FILES:
            (folder / name).unlink(missing_ok=True)
        shutil.rmtree(folder / "runs", ignore_errors=True)
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / MARKER, json.dumps(marker, ensure_ascii=False))
    return folder


class _Runs:
    """The replications of a comparison: specifications, run folders, what is done."""

    def __init__(self, folder: Path, city: City, scenarios, bundle) -> None:
        self.folder, self.city, self.bundle = folder, city, bundle
        self.scenarios = {s.name: s for s in scenarios}
        self.base_seed = scenarios[0].seed
        self.specs: dict[tuple[str, int], RunSpec] = {}
        self.reused = 0
        self._kpis: dict[tuple[str, int], dict[str, float]] = {}

    def spec(self, scenario: Scenario, i: int) -> RunSpec:
        key = (scenario.name, i)
        if key not in self.specs:
            self.specs[key] = compile_scenario(
                scenario, self.city, seed=self.base_seed + i, bundle=self.bundle
            )
        return self.specs[key]

    def run_dir(self, name: str, i: int) -> Path:
        return self.folder / "runs" / name / f"r{i:03d}"

    def ensure(self, n: int, executor: Executor, progress) -> None:
        """Run every replication ``< n`` of every scenario not already in its folder."""
        todo: dict[str, list[tuple[str, int]]] = {}
        total = n * len(self.scenarios)
        done = 0
        for name, scenario in self.scenarios.items():
            for i in range(n):
                spec = self.spec(scenario, i)
                if (name, i) in self._kpis:
                    done += 1
                    continue
                finished = self._finished(name, i, spec)
                if finished is not None:
                    self._register(name, i)
                    self._kpis[(name, i)] = finished
                    self.reused += 1
                    done += 1
                    continue
                todo.setdefault(spec.digest, []).append((name, i))
        if progress is not None:
            progress("replications", done, total)
        if not todo:
            return
        specs = [self.specs[places[0]] for places in todo.values()]

        def keep(spec: RunSpec, result: RunResult) -> None:
            nonlocal done
            for name, i in todo[spec.digest]:
                write_run(result, self.run_dir(name, i), force=True)
                self._register(name, i)
                self._kpis[(name, i)] = scalar_kpis(result.kpis)
                done += 1
            if progress is not None:
                progress("replications", done, total)

        failures = executor.run_all(self.city, specs, on_result=keep)
        if failures:
            first = failures[0]
            raise ComparisonError(
                f"{len(failures)} replications failed; the first ({first.spec.digest[:12]}): "
                f"{first.error}"
            )

    def _register(self, name: str, i: int) -> None:
        """Put a replication in the run catalog (again: harmless)."""
        labels = {"scenario": name, "comparison": str(self.folder), "replication": i}
        register_run(self.run_dir(name, i), labels=labels)

    def _finished(self, name: str, i: int, spec: RunSpec) -> dict[str, float] | None:
        folder = self.run_dir(name, i)
        if not (folder / "manifest.json").is_file():
            return None
        try:
            manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
            if manifest.get("digest") != spec.digest:
                return None
            kpis = json.loads((folder / "kpis.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return scalar_kpis(kpis)

    def kpis(self, scenario: Scenario, n: int) -> list[dict[str, float]]:
        return [self._kpis[(scenario.name, i)] for i in range(n)]

    def results(self, scenario: Scenario, n: int) -> list[RunResult]:
        out = []
        for i in range(n):
            try:
                out.append(read_run(self.run_dir(scenario.name, i), verify=False))
            except RunDirError as exc:
                raise ComparisonError(f"replication {i} of {scenario.name}: {exc}") from None
        return out


def _write_results(folder, city, base, options, n, table, runs, ci_width, cap) -> None:
    base_runs = runs.results(base, n)
    links, zones = [], []
    base_zones = [zone_values(city, r.links, r.incidents, r.visits) for r in base_runs]
    for option in options:
        option_runs = runs.results(option, n)
        links.append(
            link_differences(
                [r.links for r in base_runs], [r.links for r in option_runs], scenario=option.name
            )
        )
        option_zones = [zone_values(city, r.links, r.incidents, r.visits) for r in option_runs]
        zones.append(zone_differences(city, base_zones, option_zones, scenario=option.name))
    write_parquet(folder / "kpis.parquet", table)
    write_parquet(folder / "links.parquet", pd.concat(links, ignore_index=True))
    write_parquet(folder / "zones.parquet", pd.concat(zones, ignore_index=True))
    described = [_describe(s, runs, n) for s in (base, *options)]
    summary = {
        "format": "hue-twin-comparison/1",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "city": {"name": city.name, "checksum": runs.specs[(base.name, 0)].city.checksum},
        "base": described[0],
        "options": described[1:],
        "replications": n,
        "seeds": [base.seed + i for i in range(n)],
        "ci_width": ci_width,
        "max_replications": cap if ci_width is not None else None,
        "reused_replications": runs.reused,
        "files": list(RESULT_FILES[:3]),
    }
    write_text(folder / "comparison.json", json.dumps(summary, ensure_ascii=False, indent=2))


def _describe(scenario: Scenario, runs: _Runs, n: int) -> dict[str, Any]:
    return {
        "name": scenario.name,
        "source": scenario.label,
        "title": scenario.title,
        "description": scenario.description,
        "assumptions": scenario.assumptions,
        "window": [scenario.start, scenario.end],
        "digests": [runs.specs[(scenario.name, i)].digest for i in range(n)],
        "runs": [str(runs.run_dir(scenario.name, i).relative_to(runs.folder)) for i in range(n)],
    }
