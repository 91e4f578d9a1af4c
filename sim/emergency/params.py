"""Emergency parameters: incident rates, units per station, service times and travel.

The numbers live in ``twin/defaults/emergency.toml`` (which documents their sources);
:func:`load_emergency_params` reads them, with overrides, into an :class:`EmergencyParams`,
and :func:`resolve_params` accepts whatever a caller passed (parameters, a dict of
overrides, a TOML path or ``None``). :mod:`sim.emergency.incidents` places incidents with them.
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

from twin.errors import ConfigError, SourceNotFoundError

__all__ = [
    "DAY_S",
    "INCIDENT_KINDS",
    "UNIT_TYPES",
    "EmergencyParams",
    "TimeDist",
    "load_emergency_params",
    "params_from_dict",
    "resolve_params",
]

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
        return params_from_dict(_merge(self.raw, overrides), where="overrides")

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
    path: str | Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    base: dict[str, Any] | None = None,
) -> EmergencyParams:
    """Read emergency parameters: the defaults (or ``base``), then a TOML file, then overrides.

    Parameters
    ----------
    path
        A TOML file in the layout of ``twin/defaults/emergency.toml``; only the keys it
        gives replace the defaults. ``None`` for the defaults alone.
    overrides
        A nested dict applied last (``{"units": {"ambulances_per_hospital": 3}}``).
    base
        Complete parameters in the layout of the defaults to start from instead of them,
        e.g. a city's (:func:`sim.city_profile.city_emergency_params`).
    """
    raw = _default_raw() if base is None else copy.deepcopy(base)
    where = "twin/defaults/emergency.toml" if base is None else "the city's emergency parameters"
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
    return params_from_dict(raw, where=where)


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


def params_from_dict(raw: dict, *, where: str) -> EmergencyParams:
    """Emergency parameters from TOML-shaped data (every key of ``emergency.toml``), checked;
    messages start with ``where``."""
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
