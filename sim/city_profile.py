"""A city's profile in its runs: the first layer of parameters, and what a run borrowed.

A city built by ``twin build`` carries its profile (:mod:`twin.city_profile`) in
``City.meta["profile"]``. :func:`profile_layers` turns the profile's family sections into the
first layer of overrides of every run on the city (:func:`sim.spec_builder.build_spec` puts
it before scenarios and ``--set``), so the run specification holds the values used and its
digest changes with the profile. A city without a profile (a GMNS network, a synthetic
city, a bundle built before profiles) gets no layer: the defaults.

:func:`profile_notes` says, once per run, which of the values a run used are another city's:
every part of a borrowed profile (the extract lies outside the profile's area), or the parts
a profile still marks as placeholders, that the run actually used and no later layer
replaced; and, on a city other than Huế, the shipped junction control defaults, which a
profile does not hold. The runner writes it into ``kpis.json``'s ``notes``.

Commands that read a city's parameters outside a run (``twin coverage``, ``twin site``) lay
them the same way with :func:`city_emergency_params`, and say what they borrowed with
:func:`command_notes`.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.parameters import Layer, resolve, resolve_all
from twin.city import City
from twin.city_profile import (
    DEFAULT_PROFILE,
    PROFILE_FAMILIES,
    CityProfile,
    borrowed_parts,
    describe,
    population_note,
)

if TYPE_CHECKING:
    from sim.emergency.params import EmergencyParams

#: The junction control defaults every city's traffic reads (:mod:`sim.traffic.junctions`).
JUNCTION_TABLE = "twin/defaults/junctions.csv"

__all__ = [
    "check_profile",
    "city_emergency_params",
    "command_notes",
    "profile_layers",
    "profile_notes",
]


def profile_layers(city: City) -> list[tuple[str, Layer]]:
    """The city's profile as ``(family, Layer)`` overrides, in family order.

    The layer's source is ``"city profile <name>"``. The attraction rows of Huế's shipped
    profile and of a borrowed one are left out, so the run reads the shipped table, which
    skips the rows an extract lacks: Huế's rows are that table's (a test holds them equal),
    and in a part of Huế (or with no POIs) a missing site is no error; elsewhere they match
    nothing and the city's own sightseeing POIs are the sites (``tourists.other_sites``).
    A city's own profile's rows are its table, matched strictly.
    """
    meta = city.meta.get("profile") if city.meta else None
    if not meta:
        return []
    data = meta.get("data", {})
    source = f"city profile {meta.get('name', {}).get('vi', '?')}"
    layers = []
    for family in PROFILE_FAMILIES:
        if family not in data:
            continue
        values = copy.deepcopy(data[family])
        if family == "tourists" and (meta.get("borrowed") or meta.get("file") == DEFAULT_PROFILE):
            values.pop("attractions", None)
        if values:
            layers.append((family, Layer(source, values)))
    return layers


def city_emergency_params(city: City, path: str | Path | None = None) -> EmergencyParams:
    """The emergency parameters of ``city`` in the order a run lays them: the defaults, the
    city's profile, then the TOML file ``path`` (``--params`` of ``twin coverage`` and
    ``twin site``) over both.

    Raises
    ------
    ConfigError, SourceNotFoundError
        A wrong value in the profile or the file, or no file at ``path``.
    """
    from sim.emergency.params import load_emergency_params

    layers = [layer for family, layer in profile_layers(city) if family == "emergency"]
    base = resolve("emergency", layers) if layers else None
    return load_emergency_params(path, base=base)


def command_notes(
    city: City, *, emergency: EmergencyParams | None = None, used: Iterable[str]
) -> list[str]:
    """:func:`profile_notes` for a command that reads the city's parameters outside a run:
    the profile's values of every family, with the emergency parameters the command
    resolved (:func:`city_emergency_params`) in place of the profile's."""
    parameters = resolve_all(profile_layers(city))
    if emergency is not None:
        parameters["emergency"] = emergency.raw
    return profile_notes(city, parameters, used=used)


def check_profile(profile: CityProfile) -> None:
    """Check a profile's family sections as a run checks its layers (unknown keys with the
    closest valid one, types, ranges; :func:`sim.parameters.resolve`).

    Raises
    ------
    ConfigError
        The first wrong value, naming the profile's file.
    """
    for family, values in profile.families.items():
        resolve(family, [Layer(f"city profile {profile.where}", values)])


def profile_notes(city: City, parameters: Mapping[str, Any], *, used: Iterable[str]) -> list[str]:
    """What a run says about the values it took from another city's profile.

    Parameters
    ----------
    city
        The city run.
    parameters
        The run's resolved parameters (``spec.parameters``).
    used
        The parts of the run that ran and read their parameters: any of ``"demand"``
        (synthesised trips), ``"traffic"``, ``"tourists"``, ``"emergency"``.

    Returns
    -------
    At most three sentences: the borrowed (or placeholder) values used, at build and in the
    run; on a city other than Huế whose traffic ran on the shipped junction table, that
    table; and, when the build estimated the population, how. Empty for Huế.
    """
    meta = city.meta.get("profile") if city.meta else None
    if not meta:
        return []
    used = set(used)
    population = city.meta.get("features", {}).get("population", {})
    estimated = bool(population.get("estimated"))
    data = meta.get("data", {})
    at_build, in_run = [], []
    for part in borrowed_parts(meta):
        if part.used_by == "build":
            if part.key in ("population.total", "city.name") and meta.get("borrowed"):
                continue  # a borrowed profile's name and total are not used
            if part.key == "population.total" and estimated:
                continue
            if part.key == "population.floor_m2_per_resident" and not estimated:
                continue
            at_build.append(part.label)
        elif part.used_by in used and _still_in_force(data, parameters, part.key):
            in_run.append(_label(part.label, part.key, data))
    notes = []
    if at_build or in_run:
        parts = []
        if at_build:
            parts.append(f"at build, its {_join(at_build)}")
        if in_run:
            parts.append(f"in this run, its {_join(in_run)}")
        if meta.get("borrowed"):
            notes.append(
                f"{city.name} uses values of {describe(meta)}, not its own (the extract lies "
                f"outside that profile's area): {'; '.join(parts)}. Write the city's own "
                "profile with `twin profile init` and rebuild with `twin build --profile`"
            )
        else:
            notes.append(
                f"{city.name} uses values that its profile ({meta.get('file', '?')}) still "
                f"marks as placeholders, copied from Huế's and not yet checked: "
                f"{'; '.join(parts)}. Check them and remove their keys from [profile] "
                "placeholders"
            )
    if "traffic" in used and _shipped_junctions(meta, parameters):
        notes.append(
            f"{city.name} uses the shipped junction control defaults ({JUNCTION_TABLE}: signal "
            "cycles, saturation flows and give-way gaps by road class, set for Vietnamese "
            "signal plans and Huế's motorbike traffic), which a city profile does not hold. "
            "Give the city's own as a CSV in that layout with traffic.junction_defaults "
            "(`--set traffic.junction_defaults=FILE.csv`, or a scenario's [traffic])"
        )
    if estimated:
        notes.append(population_note(city.name, population, meta))
    return notes


def _shipped_junctions(meta: Mapping[str, Any], parameters: Mapping[str, Any]) -> bool:
    """Whether a run on a city other than Huế read the shipped junction table: junction
    control or kinematic waves on (the table gives their saturation flows), and no
    ``traffic.junction_defaults`` of the city's own."""
    if not meta.get("borrowed") and meta.get("file") == DEFAULT_PROFILE:
        return False
    traffic = parameters.get("traffic", {})
    in_use = traffic.get("junctions", True) or traffic.get("kinematic_waves", True)
    return bool(in_use) and not traffic.get("junction_defaults")


def _lookup(data: Any, key: str) -> Any:
    node = data
    for part in key.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def _still_in_force(profile: Mapping[str, Any], parameters: Mapping[str, Any], key: str) -> bool:
    """Whether the run's value at ``key`` is still the profile's (no later layer changed
    it); a table is compared on the keys the profile sets."""
    return _same(_lookup(profile, key), _lookup(parameters, key))


def _same(mine: Any, run: Any) -> bool:
    if isinstance(mine, Mapping):
        return isinstance(run, Mapping) and all(_same(v, run.get(k)) for k, v in mine.items())
    if isinstance(mine, list | tuple):
        return (
            isinstance(run, list | tuple)
            and len(mine) == len(run)
            and all(_same(a, b) for a, b in zip(mine, run, strict=True))
        )
    if isinstance(mine, int | float) and isinstance(run, int | float):
        return float(mine) == float(run)
    return mine == run


def _label(label: str, key: str, data: Mapping[str, Any]) -> str:
    """A part's label with its headline figure, where one tells much."""
    if key == "demand.generation":
        rate = _lookup(data, "demand.generation.person_trips_per_resident")
        if rate is not None:
            return f"{label} ({rate:g} person-trips per resident a day)"
    if key == "tourists.demand":
        volume = _lookup(data, "tourists.demand.tourists_per_day")
        if volume is not None:
            return f"{label} ({volume:,.0f} tourists a day)"
    return label


def _join(labels: list[str]) -> str:
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"
