"""A sweep file: a base scenario, the parameters to vary, a design, replications.

:func:`load_sweep` reads a sweep (a ``.toml`` path or a library name such as
``hue/sweep-ambulances-demand``) and checks everything that does not need the city: the
base scenario (:func:`scenarios.scenario.load_scenario`), every parameter's key path (the
scenario key path: ``demand.scale``, ``tourism.demand.tourists_per_day``,
``emergency.units.ambulances_per_hospital``, or ``switch.NAME`` for an intervention switched
on or off), its values or range, the design and the replications. Every problem is
reported at once (:class:`~scenarios.problems.ScenarioError`, each with the file and the key
path), before anything runs. ``docs/batch.md`` documents the format key by key.

What a parameter takes
----------------------
``[0.8, 1.0, 1.2]`` (or ``{ values = [...] }``)
    These levels.
``{ range = [1, 4] }``
    Whole numbers 1, 2, 3, 4.
``{ range = [0.5, 1.5], steps = 5 }``
    Five evenly spaced levels from 0.5 to 1.5 (ends included).
``{ range = [0.5, 1.5] }``
    Any number in [0.5, 1.5]: a Latin hypercube or Sobol design draws from the interval;
    a grid needs ``steps``.
``switch.NAME = [false, true]``
    The ``[[intervention]]`` entries with ``switch = "NAME"`` off, then on.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scenarios.files import LIBRARY, library_names
from scenarios.problems import Problem, Problems, ScenarioError
from scenarios.scenario import FAMILY_OF_SECTION, Scenario, bilingual_texts, load_scenario
from sim.parameters import check_overrides, flat_keys
from twin.clock import parse_clock
from twin.errors import TwinError

__all__ = ["DESIGNS", "Design", "Parameter", "Sweep", "load_sweep"]

#: The designs a sweep may use.
DESIGNS = ("grid", "lhs", "sobol")
#: Quantile bins per continuous parameter in the summary of an LHS or Sobol design.
DEFAULT_BINS = 4
_SWEEP_KEYS = {"name", "title", "description", "scenario", "window", "seed", "replications"}
_DESIGN_KEYS = {"kind", "samples", "seed", "bins"}
_SPEC_KEYS = {"values", "range", "steps"}
_LATEST = 2 * 86_400.0
#: A switch name becomes part of a catalog column name (``switch.NAME``).
_SWITCH_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class Parameter:
    """One parameter a sweep varies.

    Attributes
    ----------
    key
        Its scenario key path (``demand.scale``, ``switch.close_bridge``).
    levels
        The values it takes (a list, a whole-number range, or a range with steps); empty
        for a continuous range.
    low, high
        The ends of a continuous range (``None`` otherwise).
    """

    key: str
    levels: tuple[Any, ...] = ()
    low: float | None = None
    high: float | None = None

    @property
    def continuous(self) -> bool:
        """Whether it takes any number between :attr:`low` and :attr:`high`."""
        return not self.levels

    @property
    def section(self) -> str:
        """The scenario section (``demand``, ``tourism`` …) or ``switch``."""
        return self.key.split(".", 1)[0]

    @property
    def path(self) -> tuple[str, ...]:
        """The key path inside its section."""
        return tuple(self.key.split(".")[1:])


@dataclass(frozen=True)
class Design:
    """How the variants are chosen.

    Attributes
    ----------
    kind
        ``"grid"`` (every combination of levels), ``"lhs"`` (a Latin hypercube) or
        ``"sobol"`` (a scrambled Sobol sequence); the last two by ``scipy.stats.qmc``.
    samples
        Points an LHS or Sobol design draws (a power of two for Sobol); ``0`` for a grid.
    seed
        Seed of the LHS or Sobol draw.
    bins
        Quantile bins of each continuous parameter in the summary (LHS and Sobol).
    """

    kind: str = "grid"
    samples: int = 0
    seed: int = 0
    bins: int = DEFAULT_BINS


@dataclass(frozen=True)
class Sweep:
    """A sweep read and checked (not yet compiled on a city).

    Attributes
    ----------
    name
        Its name (the file's stem when the file gives none); a label of every run.
    title, description
        Texts by language (``{"vi": …, "en": …}``).
    scenario
        The base scenario, with the sweep's window and seed when it gives them.
    parameters
        What it varies, in the file's order.
    design
        How variants are chosen.
    replications
        Runs of every variant; replication ``i`` uses the seed ``scenario.seed + i``.
    switches
        The interventions of each switch (scenario ``[[intervention]]`` tables).
    label
        How messages name the sweep (its library name or its path).
    path
        The sweep file.
    """

    name: str
    title: dict[str, str]
    description: dict[str, str]
    scenario: Scenario
    parameters: tuple[Parameter, ...]
    design: Design
    replications: int
    switches: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    label: str = ""
    path: Path | None = None

    def text(self, what: str, lang: str = "en") -> str:
        """``title`` or ``description`` in ``lang`` (then the other language, then the
        name for a title)."""
        texts = getattr(self, what)
        other = "en" if lang == "vi" else "vi"
        return texts.get(lang) or texts.get(other) or (self.name if what == "title" else "")

    def with_replications(self, replications: int) -> Sweep:
        """The same sweep with another number of replications.

        Raises
        ------
        ScenarioError
            ``replications`` is not a whole number >= 1.
        """
        if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
            raise ScenarioError(
                [
                    Problem(
                        self.label,
                        "--replications",
                        f"{replications!r} replications make zero runs; give a whole number >= 1",
                    )
                ]
            )
        return replace(self, replications=replications)


def locate_sweep(ref: str | Path) -> tuple[Path, str]:
    """The sweep file a reference names (a path, or a library name) and its label.

    Raises
    ------
    ScenarioError
        Neither a file nor a library sweep; the message lists the library's sweeps.
    """
    text = str(ref)
    path = Path(text).expanduser()
    if path.is_file():
        return path.resolve(), text
    item = Path(str(LIBRARY)) / f"{text.removesuffix('.toml')}.toml"
    if item.is_file():
        return item, text.removesuffix(".toml")
    names = ", ".join(library_names(sweeps=True)) or "(none)"
    raise ScenarioError(
        [
            Problem(
                text,
                "sweep",
                f"no sweep file {text!r} and no library sweep of that name; give a path to a "
                f".toml file or one of: {names}",
            )
        ]
    )


def load_sweep(ref: str | Path) -> Sweep:
    """Read a sweep file (a path or a library name) and check it without the city.

    Raises
    ------
    ScenarioError
        Every problem at once: unknown sections or keys, an unknown parameter key path
        (with the closest valid one), a value of the wrong type, an empty range, a grid
        range of numbers without ``steps``, a Sobol sample count that is not a power of
        two, a design that makes zero runs, a switch varied but not declared (or declared
        but not varied), and the base scenario's own problems.
    """
    path, label = locate_sweep(ref)
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError([Problem(label, "file", f"not valid TOML ({exc}); fix it")]) from None
    except OSError as exc:
        raise ScenarioError([Problem(label, "file", f"cannot be read ({exc})")]) from None
    if "scenario" in data and "sweep" not in data:
        raise ScenarioError(
            [
                Problem(
                    label,
                    "file",
                    "a scenario file, not a sweep (it has [scenario] and no [sweep]); run it "
                    "with twin run or twin compare, or vary it from a sweep file whose [sweep] "
                    f'table names it: scenario = "{path.name}" (docs/batch.md)',
                )
            ]
        )
    problems = Problems(label)
    known = {"sweep", "design", "vary", "intervention"}
    for section in data:
        if section not in known:
            problems.add(
                section,
                f"unknown section [{section}]{_close(section, known)}; a sweep has "
                f"{', '.join(sorted(known))}",
            )
    head = _table(data, "sweep", problems)
    for key in head:
        if key not in _SWEEP_KEYS:
            problems.add(
                f"sweep.{key}",
                f"unknown key{_close(key, _SWEEP_KEYS)}; [sweep] takes "
                f"{', '.join(sorted(_SWEEP_KEYS))}",
            )
    name = head.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        problems.add("sweep.name", f"name = {name!r}; give a short name such as 'ambulances'")
        name = path.stem
    title = bilingual_texts(head.get("title", {}), "sweep.title", problems)
    description = bilingual_texts(head.get("description", {}), "sweep.description", problems)
    scenario = _base_scenario(head, path, problems)
    replications = head.get("replications", 1)
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        problems.add(
            "sweep.replications",
            f"replications = {replications!r} makes zero runs; give a whole number >= 1",
        )
        replications = 1
    design = _design(_table(data, "design", problems), problems)
    switches = _switches(data.get("intervention", []), scenario, problems)
    parameters = _parameters(_table(data, "vary", problems), design, switches, problems)
    if not parameters and not any(p.key.startswith("vary") for p in problems.found):
        problems.add(
            "vary",
            "the sweep varies nothing, so its design makes no variants; give at least one "
            'parameter under [vary], e.g. "demand.scale" = [0.8, 1.0, 1.2]',
        )
    problems.raise_if_any()
    if scenario is None:  # cannot happen: a missing base scenario is a problem raised above
        raise ScenarioError([Problem(label, "sweep.scenario", "no base scenario")])
    return Sweep(
        name=name.strip(),
        title=title,
        description=description,
        scenario=scenario,
        parameters=tuple(parameters),
        design=design,
        replications=replications,
        switches=switches,
        label=label,
        path=path,
    )


# -- [sweep] ----------------------------------------------------------------------------------
def _base_scenario(head: dict[str, Any], path: Path, problems: Problems) -> Scenario | None:
    ref = head.get("scenario")
    if not isinstance(ref, str) or not ref:
        problems.add(
            "sweep.scenario",
            f"scenario = {ref!r}; name the base scenario: a .toml path relative to this file "
            "or a library name such as 'hue/baseline'",
        )
        return None
    local = path.parent / ref
    try:
        scenario = load_scenario(local if local.is_file() else ref)
    except ScenarioError as exc:
        for problem in exc.problems:
            problems.add("sweep.scenario", f"the base scenario: {problem}")
        return None
    changes: dict[str, Any] = {}
    if "window" in head:
        window = _window(head["window"], problems)
        if window is not None:
            changes["start"], changes["end"] = window
    if "seed" in head:
        seed = head["seed"]
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            problems.add("sweep.seed", f"seed = {seed!r}; give a whole number >= 0")
        else:
            changes["seed"] = seed
    scenario = replace(scenario, **changes)
    if "start" in changes:  # the base scenario's interventions must fit the sweep's window
        _check_interventions(scenario.interventions, "sweep.scenario", scenario, problems)
    return scenario


def _window(value: Any, problems: Problems) -> tuple[float, float] | None:
    if not isinstance(value, list) or len(value) != 2:
        problems.add(
            "sweep.window", f'window = {value!r}; give [start, end], e.g. ["07:00", "08:00"]'
        )
        return None
    try:
        start, end = (
            parse_clock(v, what=f"window {part}", error=TwinError, latest=_LATEST)
            for v, part in zip(value, ("start", "end"), strict=True)
        )
    except TwinError as exc:
        problems.add("sweep.window", str(exc))
        return None
    if end <= start:
        problems.add("sweep.window", f"window {value!r} ends before it starts; give [start, end]")
        return None
    return start, end


# -- [design] ---------------------------------------------------------------------------------
def _design(table: dict[str, Any], problems: Problems) -> Design:
    for key in table:
        if key not in _DESIGN_KEYS:
            problems.add(
                f"design.{key}",
                f"unknown key{_close(key, _DESIGN_KEYS)}; [design] takes "
                f"{', '.join(sorted(_DESIGN_KEYS))}",
            )
    kind = table.get("kind", "grid")
    if kind not in DESIGNS:
        problems.add(
            "design.kind",
            f"kind = {kind!r}{_close(str(kind), DESIGNS)}; give one of {', '.join(DESIGNS)}",
        )
        return Design()
    if kind == "grid":
        for key in ("samples", "seed", "bins"):
            if key in table:
                problems.add(
                    f"design.{key}",
                    f"a grid runs every combination of the levels and draws nothing, so it "
                    f"takes no {key}; remove it, or use kind = 'lhs' or 'sobol'",
                )
        return Design()
    samples = table.get("samples")
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        problems.add(
            "design.samples",
            f"samples = {samples!r} makes zero runs; a {kind} design needs the number of "
            "points to draw, a whole number >= 1 (e.g. samples = 16)",
        )
        samples = 1
    elif kind == "sobol" and samples & (samples - 1):
        below = 1 << (samples.bit_length() - 1)
        problems.add(
            "design.samples",
            f"samples = {samples} is not a power of two; a Sobol sequence keeps its balance "
            f"only at powers of two: give {below} or {below * 2}",
        )
    seed = table.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.add("design.seed", f"seed = {seed!r}; give a whole number >= 0")
        seed = 0
    bins = table.get("bins", DEFAULT_BINS)
    if isinstance(bins, bool) or not isinstance(bins, int) or bins < 2:
        problems.add("design.bins", f"bins = {bins!r}; give a whole number >= 2")
        bins = DEFAULT_BINS
    return Design(kind=kind, samples=samples, seed=seed, bins=bins)


# -- [vary] -----------------------------------------------------------------------------------
def _parameters(
    table: dict[str, Any], design: Design, switches: dict[str, Any], problems: Problems
) -> list[Parameter]:
    found: dict[str, Any] = {}
    for key, spec in _flatten(table, ()):
        name = ".".join(key)
        if name in found:
            problems.add(f"vary.{name}", "given twice; give each parameter once")
            continue
        found[name] = spec
    valid = _valid_keys(switches)
    parameters = []
    for name, spec in found.items():
        where = f"vary.{name}"
        section = name.split(".", 1)[0]
        if name not in valid:
            problems.add(where, _unknown_key(name, valid, switches))
            continue
        if section != "switch" and any(k.startswith(f"{name}.") for k in valid):
            problems.add(
                where,
                f"{name} is a table of parameters, not one value; vary one of its keys, "
                f"e.g. {next(k for k in valid if k.startswith(name + '.'))}",
            )
            continue
        parameter = _parameter(name, spec, design, problems, where)
        if parameter is None:
            continue
        if section == "switch":
            if any(not isinstance(v, bool) for v in parameter.levels) or parameter.continuous:
                problems.add(where, "a switch takes true and false: give [false, true]")
                continue
        else:
            _check_values(name, parameter, problems, where)
        parameters.append(parameter)
    for switch in switches:
        if f"switch.{switch}" not in found:
            problems.add(
                f"vary.switch.{switch}",
                f"interventions with switch = {switch!r} are declared but never varied; add "
                f"switch.{switch} = [false, true] under [vary], or remove them",
            )
    return parameters


def _flatten(table: Any, prefix: tuple[str, ...]):
    """(key path, spec) of every parameter of ``[vary]``: quoted dotted keys
    (``"demand.scale"``) and nested tables (``demand.scale`` unquoted) alike."""
    for key, value in table.items():
        path = (*prefix, *str(key).split("."))
        if isinstance(value, dict) and not (set(value) & _SPEC_KEYS):
            yield from _flatten(value, path)
        else:
            yield path, value


def _valid_keys(switches: dict[str, Any]) -> list[str]:
    keys = []
    for section, family in FAMILY_OF_SECTION.items():
        keys.extend(section + key[len(family) :] for key in flat_keys(family))
    keys.extend(f"switch.{name}" for name in switches)
    return keys


def _unknown_key(name: str, valid: list[str], switches: dict[str, Any]) -> str:
    section = name.split(".", 1)[0]
    if section == "switch":
        declared = ", ".join(sorted(switches)) or "none"
        return (
            f"no [[intervention]] has switch = {name.split('.', 1)[-1]!r}"
            f"{_close(name, valid)}; the switches declared are: {declared}"
        )
    sections = [*FAMILY_OF_SECTION, "switch"]
    if section not in sections:
        return (
            f"unknown parameter {name!r}{_close(name, valid)}; a key path starts with a "
            f"scenario section ({', '.join(sections)})"
        )
    return f"unknown parameter {name!r}{_close(name, valid)}"


def _parameter(
    name: str, spec: Any, design: Design, problems: Problems, where: str
) -> Parameter | None:
    if isinstance(spec, list):
        spec = {"values": spec}
    if not isinstance(spec, dict):
        problems.add(
            where,
            f"{name} = {spec!r} is one value; a sweep varies a parameter over a list of "
            "values ([0.8, 1.0]) or a range ({ range = [1, 4] }); a value that stays the "
            "same belongs in the base scenario",
        )
        return None
    unknown = set(spec) - _SPEC_KEYS
    if unknown:
        problems.add(where, f"unknown keys {sorted(unknown)}; give values, or range and steps")
        return None
    if "values" in spec:
        if set(spec) != {"values"}:
            problems.add(where, "give either values or a range, not both")
            return None
        return _listed(name, spec["values"], problems, where)
    return _ranged(name, spec, design, problems, where)


def _listed(name: str, values: Any, problems: Problems, where: str) -> Parameter | None:
    if not isinstance(values, list) or not values:
        problems.add(where, f"{name} has no values: an empty list makes zero runs; give values")
        return None
    if any(not _scalar(v) for v in values):
        problems.add(
            where,
            f"{name} = {values!r}: a sweep varies single values (numbers, text, true/false), "
            "not arrays or tables",
        )
        return None
    seen: list[Any] = []
    for value in values:
        if any(_same(value, s) for s in seen):
            problems.add(where, f"{value!r} is listed twice; give each level once")
            return None
        seen.append(value)
    return Parameter(name, levels=tuple(values))


def _ranged(
    name: str, spec: dict[str, Any], design: Design, problems: Problems, where: str
) -> Parameter | None:
    ends = spec.get("range")
    if (
        not isinstance(ends, list)
        or len(ends) != 2
        or any(isinstance(v, bool) or not isinstance(v, int | float) for v in ends)
        or not all(math.isfinite(v) for v in ends)
    ):
        problems.add(where, f"range = {ends!r}; give [low, high], two numbers")
        return None
    low, high = ends
    if high < low:
        problems.add(
            where, f"range = {ends!r} is empty: its high end is below its low end; give [low, high]"
        )
        return None
    whole = all(isinstance(v, int) for v in ends)
    steps = spec.get("steps")
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
            problems.add(where, f"steps = {steps!r}; give a whole number of levels >= 2")
            return None
        if steps == 1 and low != high:
            problems.add(
                where,
                f"steps = 1 gives one level of the range {ends!r}; give steps >= 2, or list the "
                "one value in the base scenario",
            )
            return None
        if steps == 1:
            return Parameter(name, levels=(low,))
        levels = [low + (high - low) * k / (steps - 1) for k in range(steps)]
        if whole and all(float(v).is_integer() for v in levels):
            levels = [round(v) for v in levels]
        else:
            levels = [round(float(v), 12) for v in levels]
        return Parameter(name, levels=tuple(levels))
    if whole:
        return Parameter(name, levels=tuple(range(low, high + 1)))
    if design.kind == "grid":
        problems.add(
            where,
            f"range = {ends!r} holds every number between its ends, and a grid needs levels: "
            f"give steps ({{ range = {ends}, steps = 5 }}), list the values, or use an lhs or "
            "sobol design",
        )
        return None
    return Parameter(name, low=float(low), high=float(high))


def _check_values(name: str, parameter: Parameter, problems: Problems, where: str) -> None:
    """Every level (or both ends of a range) has the parameter's type."""
    section, *path = name.split(".")
    family = FAMILY_OF_SECTION[section]
    values = parameter.levels if parameter.levels else (parameter.low, parameter.high)
    for value in values:
        nested: Any = value
        for part in reversed(path):
            nested = {part: nested}
        for message in check_overrides(family, nested, source=problems.file):
            problems.add(where, message)
            return


# -- [[intervention]] -------------------------------------------------------------------------
def _switches(
    items: Any, scenario: Scenario | None, problems: Problems
) -> dict[str, list[dict[str, Any]]]:
    if not isinstance(items, list):
        problems.add("intervention", "interventions are [[intervention]] tables")
        return {}
    switches: dict[str, list[dict[str, Any]]] = {}
    for k, item in enumerate(items, start=1):
        key = f"intervention[{k}]"
        if not isinstance(item, dict):
            problems.add(key, "an intervention is a table with a switch and a type")
            continue
        switch = item.get("switch")
        if not isinstance(switch, str) or not _SWITCH_NAME.match(switch):
            problems.add(
                f"{key}.switch",
                f"switch = {switch!r}; every intervention of a sweep has a switch name "
                "(letters, digits and _, e.g. switch = 'close_bridge') that [vary] turns on "
                "and off; an intervention always in force belongs in the base scenario",
            )
            continue
        entry = {k2: copy.deepcopy(v) for k2, v in item.items() if k2 != "switch"}
        switches.setdefault(switch, []).append(entry)
        if scenario is not None:
            _check_interventions([entry], key, scenario, problems, numbered=False)
    return switches


def _check_interventions(
    items: list[dict[str, Any]],
    key: str,
    scenario: Scenario,
    problems: Problems,
    *,
    numbered: bool = True,
) -> None:
    """Check interventions as a scenario does, against the sweep's window."""
    # The scenario language's own check of one [[intervention]] table, so that a sweep's
    # interventions follow exactly the rules of docs/scenarios.md.
    from scenarios.scenario import _check_intervention

    for k, item in enumerate(items, start=1):
        where = f"{key} intervention[{k}]" if numbered else key
        _check_intervention(item, where, problems, scenario.start, scenario.end)


# -- helpers ----------------------------------------------------------------------------------
def _table(data: dict[str, Any], name: str, problems: Problems) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        problems.add(name, f"[{name}] must be a table")
        return {}
    return value


def _scalar(value: Any) -> bool:
    return isinstance(value, bool | int | float | str) and not (
        isinstance(value, float) and not math.isfinite(value)
    )


def _same(a: Any, b: Any) -> bool:
    """Equal as parameter values (``1`` and ``1.0`` are; ``1`` and ``true`` are not)."""
    return (
        isinstance(a, bool) == isinstance(b, bool)
        and isinstance(a, str) == isinstance(b, str)
        and a == b
    )


def _close(word: str, known) -> str:
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
