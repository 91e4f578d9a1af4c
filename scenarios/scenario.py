"""A scenario: a planner's question as one TOML file, read and checked without a city.

:func:`load_scenario` reads a file or a library scenario with its ``extends`` chain
(:mod:`scenarios.files`) and checks what can be checked without the city: the sections and
their keys, the ``[scenario]`` values (window, seed, replications, names in Vietnamese and
English), the parameter keys and types of every family (:mod:`sim.parameters`), the
intervention types, keys and windows. Every problem of the file is reported at once
(:class:`~scenarios.problems.ScenarioError`). :func:`scenarios.compile.compile_scenario`
turns the result into a run specification on a city. ``docs/scenarios.md`` documents the
language key by key.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from scenarios.files import SourceFile, library_names, read_with_parents
from scenarios.problems import Problems
from sim.parameters import check_overrides
from twin.clock import parse_clock
from twin.errors import TwinError

__all__ = [
    "FAMILY_OF_SECTION",
    "INTERVENTION_KEYS",
    "Scenario",
    "list_library",
    "load_scenario",
]

#: Scenario sections that hold a parameter family, and the family.
FAMILY_OF_SECTION = {
    "demand": "demand",
    "tourism": "tourists",
    "emergency": "emergency",
    "traffic": "traffic",
    "vehicles": "vehicles",
}
_SCENARIO_KEYS = {
    "name", "title", "description", "assumptions", "city", "window", "seed", "replications",
    "extends",
}  # fmt: skip
_COMMON = {"type", "from", "until", "label"}
_ROAD = {"road", "way", "area", "geojson"}
#: Keys each intervention type takes (besides ``type``, ``from``, ``until``, ``label``).
INTERVENTION_KEYS: dict[str, set[str]] = {
    "close_road": _ROAD | {"classes"},
    "change_road": _ROAD
    | {
        "speed_kmh",
        "speed_factor",
        "lanes",
        "capacity_pcu_h",
        "capacity_factor",
        "storage_factor",
        "oneway_towards",
    },
    "add_road": {
        "from_point",
        "from_node",
        "to_point",
        "to_node",
        "road_class",
        "lanes",
        "speed_kmh",
        "length_m",
        "both_ways",
        "name",
        "bridge",
    },
    "flood": {"area", "geojson", "depth_m"},
    "add_station": {"name", "unit_type", "point", "node", "units"},
    "move_station": {"name", "point", "node"},
    "remove_station": {"name"},
    "station_units": {"name", "units"},
    "event": {"place", "point", "node", "visitors", "close_radius_m", "persons_per_vehicle"},
    "close_site": {"site"},
    "site_capacity": {"site", "capacity", "gate_per_min"},
}
_LATEST = 2 * 86_400.0


@dataclass(frozen=True)
class Scenario:
    """A scenario read and checked (not yet compiled on a city).

    Attributes
    ----------
    name
        Its name (the file's stem when the file gives none).
    title, description, assumptions
        Texts by language (``{"vi": …, "en": …}``; missing languages are empty).
    city
        A ``.twin`` bundle, or ``""`` for the default city.
    start, end
        The window, seconds after midnight.
    seed
        Seed of the first replication (replication ``i`` uses ``seed + i``).
    replications
        Replications a comparison runs by default.
    data
        The whole file after ``extends`` (plain data).
    sources
        The file and its parents, the file first.
    """

    name: str
    title: dict[str, str]
    description: dict[str, str]
    assumptions: dict[str, str]
    city: str
    start: float
    end: float
    seed: int
    replications: int
    data: dict[str, Any] = field(repr=False)
    sources: tuple[SourceFile, ...] = ()

    @property
    def label(self) -> str:
        """How messages name the scenario (its library name or its path)."""
        return self.sources[0].label if self.sources else self.name

    def text(self, what: str, lang: str = "en") -> str:
        """``title``, ``description`` or ``assumptions`` in ``lang`` (falls back to the
        other language, then to the name)."""
        texts = getattr(self, what)
        other = "en" if lang == "vi" else "vi"
        return texts.get(lang) or texts.get(other) or (self.name if what == "title" else "")

    @property
    def interventions(self) -> list[dict[str, Any]]:
        """The ``[[intervention]]`` entries (copies)."""
        return copy.deepcopy(self.data.get("intervention", []))

    def section(self, name: str) -> dict[str, Any]:
        """A parameter section (``demand``, ``tourism`` …), a copy; empty when absent."""
        return copy.deepcopy(self.data.get(name, {}))


def load_scenario(ref: str | Path) -> Scenario:
    """Read a scenario file (a path or a library name such as ``hue/festival``) with its
    ``extends`` chain and check everything that does not need the city.

    Raises
    ------
    ScenarioError
        Every problem of the file at once: unknown sections or keys, wrong types, times
        outside the window, ``until`` before ``from``, an ``extends`` cycle or missing parent.
    """
    data, chain = read_with_parents(ref)
    problems = Problems(chain[0].label)
    known = {"scenario", "intervention", *FAMILY_OF_SECTION}
    for section in data:
        if section not in known:
            problems.add(
                section,
                f"unknown section [{section}]{_close(section, known)}; the sections are "
                f"{', '.join(sorted(known))}",
            )
    head = data.get("scenario", {})
    if not isinstance(head, dict):
        problems.add("scenario", "[scenario] must be a table")
        head = {}
    for key in head:
        if key not in _SCENARIO_KEYS:
            problems.add(
                f"scenario.{key}",
                f"unknown key{_close(key, _SCENARIO_KEYS)}; [scenario] takes "
                f"{', '.join(sorted(_SCENARIO_KEYS))}",
            )
    name = head.get("name", chain[0].path.stem)
    if not isinstance(name, str) or not name.strip():
        problems.add("scenario.name", f"name = {name!r}; give a short name such as 'festival'")
        name = chain[0].path.stem
    texts = {key: bilingual_texts(head.get(key, {}), f"scenario.{key}", problems) for key in (
        "title", "description", "assumptions")}  # fmt: skip
    city = head.get("city", "")
    if not isinstance(city, str):
        problems.add("scenario.city", f"city = {city!r}; give a .twin file, or leave it out")
        city = ""
    start, end = _window(head.get("window", ["00:00", "24:00"]), problems)
    seed = head.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        problems.add("scenario.seed", f"seed = {seed!r}; give a whole number >= 0")
        seed = 0
    replications = head.get("replications", 1)
    if isinstance(replications, bool) or not isinstance(replications, int) or replications < 1:
        problems.add(
            "scenario.replications", f"replications = {replications!r}; give a whole number >= 1"
        )
        replications = 1
    for section, family in FAMILY_OF_SECTION.items():
        values = data.get(section, {})
        if not isinstance(values, dict):
            problems.add(section, f"[{section}] must be a table of parameters")
            continue
        values = dict(values)
        if section == "demand":
            trips = values.pop("trips", None)
            if trips is not None and not (isinstance(trips, str) and trips):
                problems.add("demand.trips", f"trips = {trips!r}; give a trips CSV file")
        for message in check_overrides(family, values, source=problems.file):
            problems.add(section, message)
    items = data.get("intervention", [])
    if not isinstance(items, list):
        problems.add("intervention", "interventions are [[intervention]] tables")
        items = []
    for k, item in enumerate(items):
        _check_intervention(item, f"intervention[{k + 1}]", problems, start, end)
    problems.raise_if_any()
    return Scenario(
        name=name.strip(),
        title=texts["title"],
        description=texts["description"],
        assumptions=texts["assumptions"],
        city=city,
        start=start,
        end=end,
        seed=seed,
        replications=replications,
        data=data,
        sources=tuple(chain),
    )


def list_library() -> list[Scenario]:
    """The shipped scenarios, read and checked."""
    return [load_scenario(name) for name in library_names()]


def bilingual_texts(value: Any, key: str, problems: Problems) -> dict[str, str]:
    """A text in Vietnamese and English (``{ vi = …, en = … }``, or one string for both)."""
    if isinstance(value, str):
        return {"en": value, "vi": value}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        problems.add(key, f'{key} = {value!r}; give {{ vi = "…", en = "…" }}')
        return {}
    unknown = set(value) - {"vi", "en"}
    if unknown:
        problems.add(key, f"languages {sorted(unknown)}; give vi and en")
    return {k: v for k, v in value.items() if k in ("vi", "en")}


def _window(value: Any, problems: Problems) -> tuple[float, float]:
    if not isinstance(value, list) or len(value) != 2:
        problems.add(
            "scenario.window", f'window = {value!r}; give [start, end], e.g. ["06:00", "10:00"]'
        )
        return 0.0, 86_400.0
    times = []
    for part, text in zip(("start", "end"), value, strict=True):
        try:
            times.append(parse_clock(text, what=f"window {part}", error=TwinError, latest=_LATEST))
        except TwinError as exc:
            problems.add("scenario.window", str(exc))
            times.append(0.0 if part == "start" else 86_400.0)
    if times[1] <= times[0]:
        problems.add(
            "scenario.window", f"window {value!r} ends before it starts; give [start, end]"
        )
        return 0.0, 86_400.0
    return times[0], times[1]


def _check_intervention(item: Any, key: str, problems: Problems, start: float, end: float) -> None:
    if not isinstance(item, dict):
        problems.add(key, "an intervention is a table with a type")
        return
    kind = item.get("type")
    if kind not in INTERVENTION_KEYS:
        problems.add(
            f"{key}.type",
            f"type = {kind!r}{_close(str(kind), INTERVENTION_KEYS)}; the types are "
            f"{', '.join(INTERVENTION_KEYS)}",
        )
        return
    allowed = INTERVENTION_KEYS[kind] | _COMMON
    for name in item:
        if name not in allowed:
            problems.add(
                f"{key}.{name}",
                f"unknown key for {kind}{_close(name, allowed)}; it takes "
                f"{', '.join(sorted(allowed))}",
            )
    times = {}
    for name in ("from", "until"):
        if name not in item:
            continue
        try:
            times[name] = parse_clock(item[name], what=name, error=TwinError, latest=_LATEST)
        except TwinError as exc:
            problems.add(f"{key}.{name}", str(exc))
            continue
        if not start <= times[name] <= end:
            problems.add(
                f"{key}.{name}",
                f"{name} = {item[name]!r} lies outside the scenario's window; give a time in it",
            )
    if "from" in times and "until" in times and times["until"] <= times["from"]:
        problems.add(
            f"{key}.until",
            f"until = {item['until']!r} is not after from = {item['from']!r}; give a window "
            "that ends after it starts",
        )
    if kind == "event" and not {"from", "until"} <= set(times):
        problems.add(key, "an event needs from and until")
    if "classes" in item and not (
        isinstance(item["classes"], list) and all(isinstance(c, str) for c in item["classes"])
    ):
        problems.add(f"{key}.classes", 'classes is a list of vehicle classes, e.g. ["motorbike"]')


def _close(word: str, known) -> str:
    import difflib

    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""
