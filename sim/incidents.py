"""Emergency parameters and where and when incidents happen.

Incidents of three kinds arise as Poisson processes whose rate is constant within each
hour of the day:

- ``medical``: residents (``medical_per_1000_residents_per_day``, placed on the drive node
  nearest each building in proportion to its residents) and tourists
  (``medical_per_1000_tourists_per_day``, placed in the zones the tourists are in);
- ``fire``: ``fires_per_100k_residents_per_day``, placed in proportion to building floor
  area (residents when the city has no buildings);
- ``crash``: ``crashes_per_million_vehicle_km`` times the vehicle-km driven on each link
  (see :class:`sim.emergency.Emergency`).

The rates, unit counts and service times live in ``twin/defaults/emergency.toml``;
:func:`load_emergency_params` reads them into an :class:`EmergencyParams`.
"""

from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from twin.city import City
from twin.errors import ConfigError, SourceNotFoundError

#: Kinds of incident.
INCIDENT_KINDS: tuple[str, ...] = ("medical", "fire", "crash")
#: Unit types and the POI category whose sites are their bases.
UNIT_TYPES: dict[str, str] = {"ambulance": "hospital", "fire_engine": "fire_station"}
#: Seconds in a day.
DAY_S = 86_400.0


@dataclass(frozen=True)
class TimeDist:
    """A random duration: fixed (``cv == 0``), exponential (``cv == 1``) or gamma.

    Attributes
    ----------
    mean
        Seconds.
    cv
        Coefficient of variation (standard deviation over mean).
    """

    mean: float
    cv: float = 0.0

    def sample(self, rng: np.random.Generator) -> float:
        """One draw, seconds."""
        if self.mean == 0.0 or self.cv == 0.0:
            return float(self.mean)
        if self.cv == 1.0:
            return float(rng.exponential(self.mean))
        shape = 1.0 / self.cv**2
        return float(rng.gamma(shape, self.mean / shape))


@dataclass(frozen=True)
class EmergencyParams:
    """Rates and parameters of emergency response (see ``twin/defaults/emergency.toml``).

    Attributes
    ----------
    medical_per_1000_residents_per_day, medical_per_1000_tourists_per_day
        Medical calls per 1,000 residents (tourists) per day.
    fires_per_100k_residents_per_day
        Fires and rescues per 100,000 residents per day.
    crashes_per_million_vehicle_km
        Road crashes needing a unit per million vehicle-km.
    vehicle_km_per_resident_per_day
        Fallback daily vehicle-km per resident when the roads do not count vehicle-km.
    traffic_scale
        Share of the real traffic a run carries; crash rates are divided by it.
    crash_interval_s
        Seconds between reads of the roads' vehicle-km.
    hourly_profile
        ``medical``, ``fire`` and ``traffic``: ``float64[24]`` with mean 1.
    ambulances_per_hospital, fire_engines_per_fire_station
        Units at each station of the city.
    travel
        ``"roads"`` (drive through the run's roads) or ``"zero"`` (theory checks).
    dispatch_delay_s, turnout_s, handover_s
        Call processing, crew turnout and hospital handover times.
    scene_s
        Time on scene by incident kind.
    transport_share
        Share of incidents of each kind whose patient goes to hospital.
    unit_type
        Unit type answering each incident kind.
    speed_factor, congestion_delay_share
        The emergency-vehicle advantage: speed over free flow and the share of congestion
        delay still suffered.
    traffic_speed_factor
        Mean speed of uncongested mixed traffic over free flow (the reference for delay in
        a links table).
    max_snap_m
        Metres a station given by coordinates may lie from the nearest drive node.
    raw
        The merged parameter dict these were read from.
    """

    medical_per_1000_residents_per_day: float
    medical_per_1000_tourists_per_day: float
    fires_per_100k_residents_per_day: float
    crashes_per_million_vehicle_km: float
    vehicle_km_per_resident_per_day: float
    traffic_scale: float
    crash_interval_s: float
    hourly_profile: dict[str, np.ndarray]
    ambulances_per_hospital: int
    fire_engines_per_fire_station: int
    travel: str
    dispatch_delay_s: TimeDist
    turnout_s: TimeDist
    handover_s: TimeDist
    scene_s: dict[str, TimeDist]
    transport_share: dict[str, float]
    unit_type: dict[str, str]
    speed_factor: float
    congestion_delay_share: float
    traffic_speed_factor: float
    max_snap_m: float
    raw: dict = field(default_factory=dict, repr=False)

    def units_per_station(self, unit_type: str) -> int:
        """Default units at each of the city's stations of ``unit_type``."""
        if unit_type == "ambulance":
            return self.ambulances_per_hospital
        return self.fire_engines_per_fire_station

    def with_overrides(self, overrides: dict[str, Any]) -> EmergencyParams:
        """A copy with some values replaced (nested dict in the TOML's layout)."""
        return _params_from_dict(_merge(self.raw, overrides), where="overrides")

    def emergency_link_times(self, free_flow: np.ndarray, congested: np.ndarray) -> np.ndarray:
        """Emergency vehicles' link times from free-flow and observed traffic times, s.

        ``free_flow / speed_factor + congestion_delay_share * delay`` where ``delay`` is the
        observed time over uncongested mixed traffic's, ``max(0, congested - free_flow /
        traffic_speed_factor)``.
        """
        delay = np.maximum(congested - free_flow / self.traffic_speed_factor, 0.0)
        return free_flow / self.speed_factor + self.congestion_delay_share * delay


def _merge(base: dict, overrides: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _default_raw() -> dict:
    source = resources.files("twin") / "defaults" / "emergency.toml"
    with source.open("rb") as fh:
        return tomllib.load(fh)


def load_emergency_params(
    path: str | Path | None = None, *, overrides: dict[str, Any] | None = None
) -> EmergencyParams:
    """Read emergency parameters: the defaults, then a TOML file, then overrides.

    Parameters
    ----------
    path
        A TOML file in the layout of ``twin/defaults/emergency.toml``; only the keys it
        gives replace the defaults. ``None`` for the defaults alone.
    overrides
        A nested dict applied last (``{"units": {"ambulances_per_hospital": 3}}``).
    """
    raw = _default_raw()
    where = "twin/defaults/emergency.toml"
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise SourceNotFoundError(
                f"emergency parameter file {path} does not exist; give a TOML file in the "
                "layout of twin/defaults/emergency.toml"
            )
        try:
            with path.open("rb") as fh:
                raw = _merge(raw, tomllib.load(fh))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: not valid TOML ({exc}); fix the file") from exc
        where = str(path)
    if overrides:
        raw = _merge(raw, overrides)
        where = f"{where} with overrides"
    return _params_from_dict(raw, where=where)


def resolve_params(params: EmergencyParams | dict | str | Path | None) -> EmergencyParams:
    """Parameters from any accepted form: an object, a dict of overrides, a path or None."""
    if params is None:
        return load_emergency_params()
    if isinstance(params, EmergencyParams):
        return params
    if isinstance(params, dict):
        return load_emergency_params(overrides=params)
    if isinstance(params, (str, Path)):
        return load_emergency_params(params)
    raise ConfigError(
        f"emergency params must be EmergencyParams, a dict of overrides, a TOML path or None; "
        f"got {type(params).__name__}"
    )


def _number(raw: dict, section: str, key: str, where: str, *, minimum: float = 0.0) -> float:
    try:
        value = raw[section][key]
    except KeyError as exc:
        raise ConfigError(f"{where}: [{section}] {key} is missing; add it") from exc
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{where}: [{section}] {key} = {value!r} is not a number; give one")
    if value < minimum:
        raise ConfigError(
            f"{where}: [{section}] {key} = {value!r} must be at least {minimum}; "
            "give a non-negative value"
        )
    return float(value)


def _time(value: Any, name: str, where: str) -> TimeDist:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = {"mean": value, "cv": 0.0}
    if not isinstance(value, dict) or "mean" not in value:
        raise ConfigError(
            f"{where}: {name} = {value!r} must be a table {{ mean = seconds, cv = ratio }}"
        )
    mean, cv = value["mean"], value.get("cv", 0.0)
    for label, number in (("mean", mean), ("cv", cv)):
        if (
            isinstance(number, bool)
            or not isinstance(number, (int, float))
            or not math.isfinite(number)
            or number < 0
        ):
            raise ConfigError(
                f"{where}: {name}.{label} = {number!r} must be a non-negative number of "
                f"{'seconds' if label == 'mean' else 'sd over mean'}"
            )
    return TimeDist(float(mean), float(cv))


def _params_from_dict(raw: dict, *, where: str) -> EmergencyParams:
    for section in ("demand", "units", "response", "emergency_vehicle", "stations"):
        if not isinstance(raw.get(section), dict):
            raise ConfigError(f"{where}: section [{section}] is missing; add it")
    demand, units, response = raw["demand"], raw["units"], raw["response"]
    profiles = {}
    for kind in ("medical", "fire", "traffic"):
        values = demand.get("hourly_profile", {}).get(kind)
        arr = np.asarray(values if values is not None else [], dtype=float)
        if arr.shape != (24,) or not np.all(np.isfinite(arr)) or (arr < 0).any() or arr.sum() <= 0:
            raise ConfigError(
                f"{where}: [demand.hourly_profile] {kind} must be 24 non-negative numbers "
                f"(hours 0-23) with a positive sum; got {values!r}"
            )
        profiles[kind] = arr / arr.mean()
    counts = {}
    for key in ("ambulances_per_hospital", "fire_engines_per_fire_station"):
        value = units.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(
                f"{where}: [units] {key} = {value!r} must be a whole number of units >= 0"
            )
        counts[key] = value
    travel = response.get("travel", "roads")
    if travel not in ("roads", "zero"):
        raise ConfigError(
            f"{where}: [response] travel = {travel!r}; expected 'roads' (drive through the "
            "run's roads) or 'zero' (no travel time, for theory checks)"
        )
    scene, share, unit_type = {}, {}, {}
    for kind in INCIDENT_KINDS:
        scene[kind] = _time(response.get("scene_s", {}).get(kind), f"scene_s.{kind}", where)
        value = response.get("transport_share", {}).get(kind, 0.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ConfigError(
                f"{where}: [response.transport_share] {kind} = {value!r} must be a share "
                "between 0 and 1"
            )
        share[kind] = float(value)
        utype = response.get("unit_type", {}).get(kind)
        if utype not in UNIT_TYPES:
            raise ConfigError(
                f"{where}: [response.unit_type] {kind} = {utype!r} is not a unit type; "
                f"use one of {sorted(UNIT_TYPES)}"
            )
        unit_type[kind] = utype
    ev = raw["emergency_vehicle"]
    speed_factor = _number(raw, "emergency_vehicle", "speed_factor", where)
    if speed_factor <= 0:
        raise ConfigError(f"{where}: [emergency_vehicle] speed_factor must be above 0")
    delay_share = _number(raw, "emergency_vehicle", "congestion_delay_share", where)
    if delay_share > 1 or "congestion_delay_share" not in ev:
        raise ConfigError(
            f"{where}: [emergency_vehicle] congestion_delay_share = {delay_share} must be a "
            "share between 0 and 1"
        )
    traffic_factor = _number(raw, "emergency_vehicle", "traffic_speed_factor", where)
    if not 0 < traffic_factor <= 2:
        raise ConfigError(
            f"{where}: [emergency_vehicle] traffic_speed_factor = {traffic_factor} must be "
            "above 0 (about 0.9 for Huế's motorbike-heavy traffic)"
        )
    traffic_scale = _number(raw, "demand", "traffic_scale", where)
    crash_interval = _number(raw, "demand", "crash_interval_s", where)
    if traffic_scale <= 0 or crash_interval <= 0:
        raise ConfigError(
            f"{where}: [demand] traffic_scale ({traffic_scale}) and crash_interval_s "
            f"({crash_interval}) must be above 0"
        )
    return EmergencyParams(
        medical_per_1000_residents_per_day=_number(
            raw, "demand", "medical_per_1000_residents_per_day", where
        ),
        medical_per_1000_tourists_per_day=_number(
            raw, "demand", "medical_per_1000_tourists_per_day", where
        ),
        fires_per_100k_residents_per_day=_number(
            raw, "demand", "fires_per_100k_residents_per_day", where
        ),
        crashes_per_million_vehicle_km=_number(
            raw, "demand", "crashes_per_million_vehicle_km", where
        ),
        vehicle_km_per_resident_per_day=_number(
            raw, "demand", "vehicle_km_per_resident_per_day", where
        ),
        traffic_scale=traffic_scale,
        crash_interval_s=crash_interval,
        hourly_profile=profiles,
        ambulances_per_hospital=counts["ambulances_per_hospital"],
        fire_engines_per_fire_station=counts["fire_engines_per_fire_station"],
        travel=travel,
        dispatch_delay_s=_time(response.get("dispatch_delay_s"), "dispatch_delay_s", where),
        turnout_s=_time(response.get("turnout_s"), "turnout_s", where),
        handover_s=_time(response.get("handover_s"), "handover_s", where),
        scene_s=scene,
        transport_share=share,
        unit_type=unit_type,
        speed_factor=speed_factor,
        congestion_delay_share=delay_share,
        traffic_speed_factor=traffic_factor,
        max_snap_m=_number(raw, "stations", "max_snap_m", where),
        raw=raw,
    )


# -- where people are ----------------------------------------------------------------------
def nearest_drive_nodes(city: City, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The drive node nearest each point and its distance, metres."""
    tree = cKDTree(np.column_stack([city.drive.x, city.drive.y]))
    dist, node = tree.query(np.column_stack([np.asarray(x, float), np.asarray(y, float)]))
    return np.asarray(node, dtype=np.int64), np.asarray(dist, dtype=float)


def _by_node(city: City, column: str) -> np.ndarray:
    n = city.drive.n_nodes
    b = city.buildings
    if len(b) and column in b and float(b[column].sum()) > 0:
        node, _ = nearest_drive_nodes(city, b["x"].to_numpy(), b["y"].to_numpy())
        return np.bincount(node, weights=b[column].to_numpy(float), minlength=n)
    return np.zeros(n)


def residents_by_node(city: City) -> np.ndarray:
    """``float64[n_nodes]``: residents on each drive node.

    The zones' populations are the totals. Within a zone, they are shared among its drive
    nodes in proportion to the residents of the buildings nearest each node; a zone with no
    resident buildings spreads its population evenly over its nodes. (The buildings table
    may hold only part of the city's housing, so its residents give the pattern, not the
    total.)
    """
    zone = np.asarray(city.node_zone, dtype=np.int64)
    population = city.zones["population"].to_numpy(float)
    weights = _by_node(city, "residents")
    nz = len(population)
    if nz == 0:
        return weights
    in_zone = np.bincount(zone, weights=weights, minlength=nz)[:nz]
    even = _zone_spread(city, population)
    share = np.divide(weights, in_zone[zone], out=np.zeros_like(weights), where=in_zone[zone] > 0)
    return np.where(in_zone[zone] > 0, population[zone] * share, even)


def _zone_spread(city: City, per_zone: np.ndarray) -> np.ndarray:
    """Spread a quantity per zone evenly over each zone's drive nodes."""
    zone = np.asarray(city.node_zone, dtype=np.int64)
    per_zone = np.asarray(per_zone, dtype=float)
    if len(per_zone) == 0:
        return np.zeros(city.drive.n_nodes)
    count = np.bincount(zone, minlength=len(per_zone)).astype(float)
    share = np.divide(per_zone, count, out=np.zeros_like(per_zone), where=count > 0)
    return share[zone]


def fire_weights_by_node(city: City) -> np.ndarray:
    """``float64[n_nodes]``: where fires start, by building floor area (else residents)."""
    weights = _by_node(city, "floor_area_m2")
    return weights if weights.sum() > 0 else residents_by_node(city)


def tourists_array(tourists: Any, n_zones: int) -> np.ndarray:
    """Tourists per zone from a tourist component (``tourists_by_zone()``) or ``None``."""
    if tourists is None:
        return np.zeros(n_zones)
    values = tourists.tourists_by_zone() if hasattr(tourists, "tourists_by_zone") else tourists
    if isinstance(values, pd.Series):
        out = np.zeros(n_zones)
        index = values.index.to_numpy()
        ok = (index >= 0) & (index < n_zones)
        out[index[ok].astype(int)] = values.to_numpy(float)[ok]
        return out
    if isinstance(values, dict):
        out = np.zeros(n_zones)
        for zone, count in values.items():
            if 0 <= int(zone) < n_zones:
                out[int(zone)] = float(count)
        return out
    arr = np.asarray(values, dtype=float)
    if arr.shape != (n_zones,):
        raise ConfigError(
            f"tourists_by_zone() returned shape {arr.shape}; expected ({n_zones},), one "
            "count per zone"
        )
    return arr


def expected_incidents(
    city: City,
    params: EmergencyParams,
    *,
    tourists_by_zone: np.ndarray | None = None,
    vehicle_km_by_zone: np.ndarray | None = None,
) -> pd.DataFrame:
    """Expected incidents by zone, hour and kind for one day.

    Parameters
    ----------
    tourists_by_zone
        Tourists present in each zone (zeros when ``None``).
    vehicle_km_by_zone
        Vehicle-km driven in each zone over the day; ``None`` for the fallback estimate
        (residents × ``vehicle_km_per_resident_per_day`` spread by link length × lanes).

    Returns
    -------
    DataFrame with ``zone``, ``hour``, ``kind`` and ``expected`` (incidents in that hour).
    """
    nz = len(city.zones)
    zone_of_node = np.asarray(city.node_zone, dtype=np.int64)
    residents = np.bincount(zone_of_node, weights=residents_by_node(city), minlength=nz)[:nz]
    tourists = np.zeros(nz) if tourists_by_zone is None else np.asarray(tourists_by_zone, float)
    if vehicle_km_by_zone is None:
        vkm_edge = fallback_vehicle_km_share(city) * (
            residents.sum() * params.vehicle_km_per_resident_per_day
        )
        vehicle_km_by_zone = np.bincount(
            zone_of_node[city.drive.tail], weights=vkm_edge, minlength=nz
        )[:nz]
    daily = {
        "medical": residents * params.medical_per_1000_residents_per_day / 1000.0
        + tourists * params.medical_per_1000_tourists_per_day / 1000.0,
        "fire": residents * params.fires_per_100k_residents_per_day / 100_000.0,
        "crash": np.asarray(vehicle_km_by_zone, float)
        * params.crashes_per_million_vehicle_km
        / 1e6,
    }
    profile = {
        "medical": params.hourly_profile["medical"],
        "fire": params.hourly_profile["fire"],
        "crash": params.hourly_profile["traffic"],
    }
    rows = []
    for kind in INCIDENT_KINDS:
        hourly = np.outer(daily[kind], profile[kind] / 24.0)
        zz, hh = np.meshgrid(np.arange(nz), np.arange(24), indexing="ij")
        rows.append(
            pd.DataFrame(
                {"zone": zz.ravel(), "hour": hh.ravel(), "kind": kind, "expected": hourly.ravel()}
            )
        )
    return pd.concat(rows, ignore_index=True)


def fallback_vehicle_km_share(city: City) -> np.ndarray:
    """``float64[n_edges]``: each link's share of vehicle-km when nothing is counted.

    Proportional to length × lanes, so that wide arterials carry more than alleys.
    """
    w = city.drive.length * np.maximum(city.drive.lanes, 1.0)
    total = w.sum()
    return w / total if total > 0 else np.full(city.drive.n_edges, 1.0 / max(city.drive.n_edges, 1))


# -- when -----------------------------------------------------------------------------------
def next_arrival(t: float, rate_by_hour: np.ndarray, rng: np.random.Generator) -> float:
    """Next event time of a Poisson process whose rate is constant within each hour.

    Parameters
    ----------
    t
        Now, seconds after midnight (the process repeats every day).
    rate_by_hour
        ``float64[24]``: events per second in each hour of the day.
    rng
        Random generator.

    Returns
    -------
    Seconds after midnight of the next event (``inf`` when every rate is zero). The gap is
    exponential within an hour; at an hour's end the draw restarts (memorylessness), so the
    process is exact.
    """
    rates = np.asarray(rate_by_hour, dtype=float)
    if not (rates > 0).any():
        return math.inf
    while True:
        hour = int(t // 3600.0) % 24
        boundary = (math.floor(t / 3600.0) + 1) * 3600.0
        rate = rates[hour]
        if rate > 0:
            candidate = t + rng.exponential(1.0 / rate)
            if candidate < boundary:
                return candidate
        t = boundary


class NodeSampler:
    """Draws nodes in proportion to non-negative weights (alias-free, by bisection).

    Parameters
    ----------
    weights
        ``float64[n]``; at least one must be positive.
    """

    def __init__(self, weights: np.ndarray) -> None:
        w = np.asarray(weights, dtype=float)
        self.total = float(w.sum())
        self._cum = np.cumsum(w)

    def draw(self, rng: np.random.Generator) -> int:
        """One node."""
        u = rng.random() * self.total
        return int(min(np.searchsorted(self._cum, u, side="right"), len(self._cum) - 1))
