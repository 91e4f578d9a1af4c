"""Parameters of the travel demand model: loading, merging and checking ``demand.toml``.

:func:`load_demand_params` reads ``twin/defaults/demand.toml``, then a user's TOML file, then a
mapping of overrides, and checks every value; :class:`DemandParams` holds the result for
:func:`twin.demand.model.synthesise_trips` (see :mod:`twin.demand.model` for the model they drive).
"""

from __future__ import annotations

import copy
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from twin.clock import parse_clock
from twin.errors import ConfigError, SourceNotFoundError, TripsError

__all__ = [
    "DemandParams",
    "Purpose",
    "load_demand_params",
    "params_from_data",
    "resolve_demand_params",
]

_ZONE_ATTRACTIONS = ("jobs", "schools", "markets", "pois", "population")
_CONSTRAINTS = ("doubly", "production")


@dataclass(frozen=True)
class Purpose:
    """A tour purpose.

    Attributes
    ----------
    name
        ``"work"``, ``"school"``…
    share
        Fraction of tours (the purposes' shares sum to 1).
    attraction
        Zones-table column that attracts the purpose (``jobs``, ``schools``, ``markets``,
        ``pois`` or ``population``).
    constraint
        ``"doubly"`` or ``"production"`` (gravity model constraint).
    building_uses
        Weight of each building use's floor area (m²) in a node's attraction.
    poi_categories
        POI categories that add ``poi_floor_m2`` each to the attraction of their drive node.
    local_share
        Part of the purpose's attraction spread in proportion to residents rather than to
        the mapped jobs, schools, shops or POIs (every neighbourhood has its own).
    """

    name: str
    share: float
    attraction: str
    constraint: str
    building_uses: Mapping[str, float]
    poi_categories: tuple[str, ...]
    local_share: float = 0.0


@dataclass(frozen=True, eq=False)
class DemandParams:
    """Parameters of :func:`synthesise_trips`; the defaults are in ``twin/defaults/demand.toml``.

    Attributes
    ----------
    person_trips_per_resident
        Trips of all modes per resident per day.
    non_vehicle_at_zero, non_vehicle_floor, non_vehicle_decay_m
        Share of tours walked or cycled at distance ``d`` (metres, straight line):
        ``floor + (at_zero - floor) * exp(-d / decay_m)``.
    beta_per_min
        Gravity impedance ``exp(-beta * t)``, ``t`` in minutes of free-flow driving.
    intrazonal_time_factor
        An anchor's time to itself as a fraction of its time to the nearest other anchor.
    anchors_per_zone
        Most destination nodes per zone.
    max_destinations
        Most destination nodes in the city: zones get ``max_destinations // zones`` anchors
        each when that is fewer than ``anchors_per_zone`` (at least one).
    furness_iterations, furness_tolerance
        Balancing of doubly constrained purposes.
    poi_floor_m2
        Floor area (m²) that one POI is worth in a node's attraction.
    purposes
        The tour purposes.
    profile_start
        ``float64[b]``: start of each departure interval, seconds after midnight; the last
        interval ends at 86,400 s.
    profile_to_activity, profile_to_home
        ``float64[b]``: fraction of the day's legs of each direction in each interval.
    source
        The TOML-shaped data these were read from (:meth:`as_dict`).
    """

    person_trips_per_resident: float
    non_vehicle_at_zero: float
    non_vehicle_floor: float
    non_vehicle_decay_m: float
    beta_per_min: float
    intrazonal_time_factor: float
    anchors_per_zone: int
    max_destinations: int
    furness_iterations: int
    furness_tolerance: float
    poi_floor_m2: float
    purposes: tuple[Purpose, ...]
    profile_start: np.ndarray
    profile_to_activity: np.ndarray
    profile_to_home: np.ndarray
    source: dict[str, Any] | None = None

    def non_vehicle_share(self, distance_m: np.ndarray) -> np.ndarray:
        """Probability that a tour with ends ``distance_m`` metres apart is walked or cycled."""
        span = self.non_vehicle_at_zero - self.non_vehicle_floor
        return self.non_vehicle_floor + span * np.exp(
            -np.asarray(distance_m) / self.non_vehicle_decay_m
        )

    def as_dict(self) -> dict[str, Any]:
        """The parameters as plain TOML-shaped data (for manifests)."""
        return copy.deepcopy(self.source) if self.source is not None else {}


def _default_params_data() -> dict[str, Any]:
    source = resources.files("twin") / "defaults" / "demand.toml"
    with source.open("rb") as fh:
        return tomllib.load(fh)


def _merge(base: dict[str, Any], override: Mapping[str, Any], where: str) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        if key not in out:
            raise ConfigError(
                f"{where}: unknown demand parameter {key!r}; known: {sorted(out)}. "
                "See twin/defaults/demand.toml for the parameters and their meaning"
            )
        if isinstance(out[key], dict) and isinstance(value, Mapping) and key != "departure_profile":
            out[key] = _merge(out[key], value, f"{where} [{key}]")
        else:
            out[key] = copy.deepcopy(value)
    return out


def load_demand_params(
    path: str | Path | None = None, *, overrides: Mapping[str, Any] | None = None
) -> DemandParams:
    """Read demand parameters: the defaults, then a TOML file, then ``overrides``.

    Parameters
    ----------
    path
        A TOML file shaped like ``twin/defaults/demand.toml``; keys it omits keep the defaults.
    overrides
        Nested mapping applied last (``{"distribution": {"beta_per_min": 0.2}}``).

    Raises
    ------
    ConfigError
        Unknown keys, out-of-range values, a malformed departure profile.
    """
    data = _default_params_data()
    where = "twin/defaults/demand.toml"
    if path is not None:
        file = Path(path)
        if not file.is_file():
            raise SourceNotFoundError(f"demand parameter file {file} does not exist")
        try:
            with file.open("rb") as fh:
                data = _merge(data, tomllib.load(fh), str(file))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{file}: not valid TOML ({exc})") from exc
        where = str(file)
    if overrides:
        data = _merge(data, overrides, "demand overrides")
        where = f"{where} + overrides"
    return params_from_data(data, where)


def _number(section: Mapping[str, Any], key: str, where: str, *, low: float, high: float) -> float:
    value = section.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise ConfigError(f"{where}: {key} = {value!r}; expected a number in [{low}, {high}]")
    return float(value)


def params_from_data(data: dict[str, Any], where: str) -> DemandParams:
    """Demand parameters from TOML-shaped data (every key of ``demand.toml``), checked.

    Raises
    ------
    ConfigError
        Out-of-range values, bad purposes or a malformed departure profile; the message
        starts with ``where``.
    """
    gen, mode, dist = data["generation"], data["mode"], data["distribution"]
    purposes = []
    for k, item in enumerate(data.get("purposes", [])):
        label = f"{where}: [[purposes]] #{k + 1}"
        missing = [c for c in ("name", "share", "attraction", "constraint") if c not in item]
        if missing:
            raise ConfigError(f"{label} lacks {missing}")
        if item["attraction"] not in _ZONE_ATTRACTIONS:
            raise ConfigError(
                f"{label}: attraction {item['attraction']!r} is not a zones column; "
                f"use one of {list(_ZONE_ATTRACTIONS)}"
            )
        if item["constraint"] not in _CONSTRAINTS:
            raise ConfigError(
                f"{label}: constraint {item['constraint']!r}; use one of {list(_CONSTRAINTS)}"
            )
        uses = dict(item.get("building_uses", {}))
        if any(not isinstance(v, int | float) or v < 0 for v in uses.values()):
            raise ConfigError(f"{label}: building_uses weights must be numbers >= 0")
        purposes.append(
            Purpose(
                name=str(item["name"]),
                share=_number(item, "share", label, low=0.0, high=1.0),
                attraction=item["attraction"],
                constraint=item["constraint"],
                building_uses={str(u): float(v) for u, v in uses.items()},
                poi_categories=tuple(str(c) for c in item.get("poi_categories", [])),
                local_share=_number(
                    {"local_share": item.get("local_share", 0.0)},
                    "local_share",
                    label,
                    low=0.0,
                    high=1.0,
                ),
            )
        )
    total = sum(p.share for p in purposes)
    if not purposes or not np.isclose(total, 1.0):
        raise ConfigError(
            f"{where}: purpose shares must sum to 1 (they sum to {total:.3f}); rescale them"
        )
    start, to_activity, to_home = _profile(data.get("departure_profile", {}), where)
    return DemandParams(
        person_trips_per_resident=_number(
            gen, "person_trips_per_resident", where, low=0.0, high=20.0
        ),
        non_vehicle_at_zero=_number(mode, "non_vehicle_at_zero", where, low=0.0, high=1.0),
        non_vehicle_floor=_number(mode, "non_vehicle_floor", where, low=0.0, high=1.0),
        non_vehicle_decay_m=_number(mode, "non_vehicle_decay_m", where, low=1e-6, high=1e6),
        beta_per_min=_number(dist, "beta_per_min", where, low=0.0, high=10.0),
        intrazonal_time_factor=_number(dist, "intrazonal_time_factor", where, low=0.0, high=10.0),
        anchors_per_zone=int(_number(dist, "anchors_per_zone", where, low=1, high=100_000)),
        max_destinations=int(_number(dist, "max_destinations", where, low=1, high=10_000_000)),
        furness_iterations=int(_number(dist, "furness_iterations", where, low=1, high=100_000)),
        furness_tolerance=_number(dist, "furness_tolerance", where, low=0.0, high=1.0),
        poi_floor_m2=_number(data["attraction"], "poi_floor_m2", where, low=0.0, high=1e9),
        purposes=tuple(purposes),
        profile_start=start,
        profile_to_activity=to_activity,
        profile_to_home=to_home,
        source=data,
    )


def _profile(table: Mapping[str, Any], where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    label = f"{where}: [departure_profile]"
    columns = list(table.get("columns", []))
    expected = ["start", "to_activity", "to_home"]
    if columns != expected:
        raise ConfigError(f"{label} columns = {columns}; expected {expected}")
    rows = table.get("rows", [])
    if not rows or any(len(r) != 3 for r in rows):
        raise ConfigError(f"{label}: rows must be [start, to_activity, to_home] triples")
    try:
        start = np.array([parse_clock(r[0]) for r in rows], dtype=np.float64)
    except TripsError as exc:
        raise ConfigError(f"{label}: {exc}") from exc
    weights = np.array([[r[1], r[2]] for r in rows], dtype=np.float64)
    if start[0] != 0.0 or np.any(np.diff(start) <= 0) or start[-1] >= 86_400.0:
        raise ConfigError(f"{label}: starts must rise from 00:00 and stay before 24:00")
    if np.any(weights < 0) or np.any(weights.sum(axis=0) <= 0):
        raise ConfigError(f"{label}: weights must be >= 0 with a positive total per column")
    weights /= weights.sum(axis=0)
    return start, weights[:, 0], weights[:, 1]


def resolve_demand_params(
    params: DemandParams | Mapping[str, Any] | str | Path | None,
) -> DemandParams:
    """Demand parameters from any of the forms :func:`twin.demand.model.synthesise_trips` takes.

    ``None`` for the defaults, a :class:`DemandParams` as is, a path to a TOML file, or a
    nested mapping of overrides of the defaults.
    """
    if params is None:
        return load_demand_params()
    if isinstance(params, DemandParams):
        return params
    if isinstance(params, str | Path):
        return load_demand_params(params)
    return load_demand_params(overrides=params)
