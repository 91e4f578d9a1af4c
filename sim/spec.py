"""The run specification: everything a run depends on, in one frozen object with a digest.

A :class:`RunSpec` says *what* a run is: the city (by a checksum of its content, and the
bundle it was loaded from), the window, the seed, which parts run, the resolved parameters
of every part (:mod:`sim.parameters`: defaults merged with overrides, the values actually
used), the emergency stations, the interventions (:mod:`sim.interventions`) and where the
trips come from. :func:`sim.runner.run` runs one; a scenario compiles to one; a sweep varies
one; the manifest of a run folder records it; the run catalog indexes runs by its digest.

It round-trips through TOML (:meth:`RunSpec.to_toml`, :meth:`RunSpec.from_toml`) and JSON
(:meth:`RunSpec.to_json`, :meth:`RunSpec.from_json`). :attr:`RunSpec.digest` is the SHA-256
of its canonical JSON (sorted keys, fixed separators) without the paths that only say where
a file was on one machine (the bundle, a trips CSV, a replayed run): the same on every
machine, in every process and under any ``PYTHONHASHSEED``, and different as soon as
anything that changes the run differs.

Times are seconds after midnight (a window may run to 48:00, past midnight); in TOML and
JSON whole seconds are written as ``"HH:MM:SS"``.
"""

from __future__ import annotations

import hashlib
import json
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import tomli_w

from sim.interventions import (
    LATEST,
    Intervention,
    InterventionError,
    StationSpec,
    intervention_from_dict,
)
from sim.parameters import FAMILIES, Layer, resolve
from twin.clock import format_clock, parse_clock
from twin.errors import ConfigError, TwinError

__all__ = [
    "FORMAT",
    "TRAFFIC_MODES",
    "CityRef",
    "FrozenMap",
    "Parts",
    "ReplaySource",
    "RunSpec",
    "SpecError",
    "TripsSource",
    "Window",
]

#: Identifies a specification and the version of its layout.
FORMAT = "hue-twin-spec/1"
#: How traffic runs: the engine, free flow (no congestion), or a recorded run's link times
#: replayed hour by hour (emergency-only studies such as siting checks).
TRAFFIC_MODES = ("simulate", "free_flow", "replay")


class SpecError(TwinError, ValueError):
    """A run specification is malformed, or does not fit the city it is run on."""


# -- frozen plain data -------------------------------------------------------------------------
class FrozenMap(Mapping):
    """An immutable, hashable, picklable mapping (the parameters of a frozen spec)."""

    __slots__ = ("_data", "_hash")

    def __init__(self, data: Mapping[str, Any] = ()) -> None:
        self._data = dict(data)
        self._hash: int | None = None

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(tuple(sorted(self._data.items())))
        return self._hash

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"

    def __reduce__(self):
        return (FrozenMap, (self._data,))


def freeze(value: Any) -> Any:
    """Plain data made immutable: mappings → :class:`FrozenMap`, lists → tuples."""
    if isinstance(value, Mapping):
        return FrozenMap({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of :func:`freeze`: plain dicts and lists (TOML/JSON-ready)."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(v) for v in value]
    return value


# -- parts of a specification ------------------------------------------------------------------
@dataclass(frozen=True)
class CityRef:
    """The city a run is for.

    Attributes
    ----------
    name
        Its display name (``"Huế"``).
    checksum
        :func:`twin.city.city_checksum` of its content: the run checks it.
    bundle
        The ``.twin`` file it was loaded from; ``""`` for the default city (built from
        ``$TWIN_OSM_PATH`` into the cache). Not part of the digest.
    """

    name: str
    checksum: str
    bundle: str = ""


@dataclass(frozen=True)
class Window:
    """The simulated window ``[start, end)``, seconds after midnight (``end`` ≤ 48:00)."""

    start: float = 0.0
    end: float = 86_400.0

    def __post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise SpecError(f"window {name} = {value!r}; give seconds after midnight")
            object.__setattr__(self, name, float(value))
        if not (0.0 <= self.start < LATEST and 0.0 < self.end <= LATEST):
            raise SpecError(
                f"the window {self.start:g}..{self.end:g} s must lie within 00:00..48:00"
            )
        if self.end <= self.start:
            raise SpecError(
                f"the window ends ({format_clock(self.end)}) before it starts "
                f"({format_clock(self.start)}); give an end later than the start"
            )


@dataclass(frozen=True)
class Parts:
    """Which parts of the model run.

    Attributes
    ----------
    traffic
        ``"simulate"`` (the traffic engine), ``"free_flow"`` or ``"replay"`` (see
        :data:`TRAFFIC_MODES`).
    tourists, emergency
        Whether the tourists and the emergency services run.
    """

    traffic: str = "simulate"
    tourists: bool = True
    emergency: bool = True

    def __post_init__(self) -> None:
        if self.traffic not in TRAFFIC_MODES:
            raise SpecError(
                f"parts.traffic = {self.traffic!r}; expected one of {', '.join(TRAFFIC_MODES)}"
            )
        for name in ("tourists", "emergency"):
            if not isinstance(getattr(self, name), bool):
                raise SpecError(f"parts.{name} = {getattr(self, name)!r}; give true or false")


@dataclass(frozen=True)
class TripsSource:
    """Where the vehicle trips come from: synthesised (``path == ""``) or a trips CSV.

    Attributes
    ----------
    path
        The CSV (not part of the digest).
    sha256
        Its checksum (part of the digest: the run checks it).
    """

    path: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class ReplaySource:
    """The run whose links table is replayed when ``parts.traffic == "replay"``.

    Attributes
    ----------
    run
        Its run folder (not part of the digest).
    digest
        Its specification's digest (part of the digest: the run checks it).
    """

    run: str = ""
    digest: str = ""


def _freeze_parameters(parameters: Mapping[str, Any]) -> FrozenMap:
    missing = [f for f in FAMILIES if f not in parameters]
    unknown = [f for f in parameters if f not in FAMILIES]
    if missing or unknown:
        raise SpecError(
            f"parameters must hold the families {list(FAMILIES)}; missing {missing}, "
            f"unknown {unknown}"
        )
    return freeze({f: parameters[f] for f in FAMILIES})


# -- the specification -------------------------------------------------------------------------
@dataclass(frozen=True)
class RunSpec:
    """Everything one run depends on (see the module docstring).

    Make one for a city with :func:`sim.spec_builder.build_spec`, read one with
    :meth:`from_toml` / :meth:`from_json`, derive one with :meth:`replace`.

    Attributes
    ----------
    city
        The city (:class:`CityRef`).
    window
        The simulated window (:class:`Window`).
    seed
        Seed of the run's random generator (an integer ``>= 0``).
    parts
        Which parts run (:class:`Parts`).
    parameters
        Every family's resolved parameters (:mod:`sim.parameters`), frozen.
    stations
        The emergency stations at the start of the run.
    interventions
        What changes during the run (:mod:`sim.interventions`), in order.
    trips
        Where the trips come from (:class:`TripsSource`).
    replay
        The run replayed when ``parts.traffic == "replay"`` (:class:`ReplaySource`).
    """

    city: CityRef
    window: Window
    seed: int
    parts: Parts
    parameters: FrozenMap
    stations: tuple[StationSpec, ...] = ()
    interventions: tuple[Intervention, ...] = ()
    trips: TripsSource = field(default_factory=TripsSource)
    replay: ReplaySource = field(default_factory=ReplaySource)

    def __post_init__(self) -> None:
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise SpecError(f"seed = {self.seed!r}; give a whole number >= 0 (e.g. 0 or 42)")
        if not isinstance(self.parameters, FrozenMap):
            object.__setattr__(self, "parameters", _freeze_parameters(self.parameters))
        object.__setattr__(self, "stations", tuple(self.stations))
        object.__setattr__(self, "interventions", tuple(self.interventions))
        names = [s.name for s in self.stations]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise SpecError(f"stations {twice} are named twice; give each station its own name")
        if self.parts.traffic == "replay" and not self.replay.digest:
            raise SpecError(
                "parts.traffic = 'replay' needs a run to replay: give replay.run and its digest"
            )

    # -- views ---------------------------------------------------------------------------
    def params(self, family: str) -> Any:
        """One family's parameters as plain data (a fresh, mutable copy)."""
        return thaw(self.parameters[family])

    def replace(self, **changes: Any) -> RunSpec:
        """A copy with some fields replaced (checked again)."""
        return replace(self, **changes)

    # -- serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """TOML/JSON-ready data (the layout :meth:`from_dict` reads)."""
        out: dict[str, Any] = {
            "format": FORMAT,
            "seed": self.seed,
            "city": {
                "name": self.city.name,
                "checksum": self.city.checksum,
                "bundle": self.city.bundle,
            },
            "window": {"start": _clock(self.window.start), "end": _clock(self.window.end)},
            "parts": {
                "traffic": self.parts.traffic,
                "tourists": self.parts.tourists,
                "emergency": self.parts.emergency,
            },
            "trips": {"path": self.trips.path, "sha256": self.trips.sha256},
            "replay": {"run": self.replay.run, "digest": self.replay.digest},
            "parameters": thaw(self.parameters),
            "stations": [s.to_dict() for s in self.stations],
            "interventions": [i.to_dict() for i in self.interventions],
        }
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, where: str = "run specification") -> RunSpec:
        """A specification from :meth:`to_dict`'s layout.

        Parameters missing from ``data`` take their defaults; unknown keys, wrong types and
        values out of range are errors (:mod:`sim.parameters`).

        Raises
        ------
        SpecError
            A malformed specification; the message starts with ``where``.
        """
        data = dict(data)
        fmt = data.pop("format", FORMAT)
        if fmt != FORMAT:
            raise SpecError(f"{where}: format {fmt!r}; this Huế Twin reads {FORMAT!r}")
        known = {
            "seed", "city", "window", "parts", "trips", "replay", "parameters", "stations",
            "interventions",
        }  # fmt: skip
        unknown = sorted(set(data) - known)
        if unknown:
            raise SpecError(f"{where}: unknown keys {unknown}; expected some of {sorted(known)}")
        try:
            city = CityRef(**_table(data, "city", where))
            window_data = _table(data, "window", where)
            window = Window(
                *(
                    parse_clock(window_data.get(k, d), what=f"{where}: window.{k}", error=SpecError)
                    for k, d in (("start", 0.0), ("end", 86_400.0))
                )
            )
            parts = Parts(**_table(data, "parts", where))
            trips = TripsSource(**_table(data, "trips", where))
            replay = ReplaySource(**_table(data, "replay", where))
        except TypeError as exc:
            raise SpecError(f"{where}: {exc}") from None
        parameters_data = data.get("parameters", {})
        if not isinstance(parameters_data, Mapping):
            raise SpecError(f"{where}: parameters must be a table of families")
        unknown = [f for f in parameters_data if f not in FAMILIES]
        if unknown:
            raise SpecError(
                f"{where}: unknown parameter families {unknown}; expected {list(FAMILIES)}"
            )
        try:
            parameters = {
                family: resolve(family, [Layer(where, parameters_data.get(family, {}))])
                for family in FAMILIES
            }
        except ConfigError as exc:
            raise SpecError(str(exc)) from None
        try:
            stations = tuple(StationSpec(**s) for s in _list(data, "stations", where))
            interventions = tuple(
                intervention_from_dict(item, where=f"{where}: interventions[{k}]")
                for k, item in enumerate(_list(data, "interventions", where))
            )
        except (TypeError, InterventionError) as exc:
            raise SpecError(f"{where}: {exc}") from None
        return cls(
            city=city,
            window=window,
            seed=data.get("seed", 0),
            parts=parts,
            parameters=parameters,
            stations=stations,
            interventions=interventions,
            trips=trips,
            replay=replay,
        )

    def to_toml(self) -> str:
        """The specification as TOML text."""
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_toml(cls, text: str, *, where: str = "run specification") -> RunSpec:
        """A specification from :meth:`to_toml`'s text."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"{where}: not valid TOML ({exc})") from None
        return cls.from_dict(data, where=where)

    def to_json(self, *, indent: int | None = 2) -> str:
        """The specification as JSON text."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, allow_nan=False)

    @classmethod
    def from_json(cls, text: str, *, where: str = "run specification") -> RunSpec:
        """A specification from :meth:`to_json`'s text."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SpecError(f"{where}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise SpecError(f"{where}: expected a JSON object")
        return cls.from_dict(data, where=where)

    @classmethod
    def read(cls, path: str | Path) -> RunSpec:
        """A specification from a ``.toml`` or ``.json`` file."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise SpecError(f"cannot read the run specification {path}: {exc}") from None
        if path.suffix.lower() == ".json":
            return cls.from_json(text, where=str(path))
        return cls.from_toml(text, where=str(path))

    # -- identity -------------------------------------------------------------------------
    @property
    def digest(self) -> str:
        """SHA-256 (hex) of the canonical JSON of the specification without its paths."""
        data = self.to_dict()
        data["city"].pop("bundle")
        data["trips"].pop("path")
        data["replay"].pop("run")
        text = json.dumps(
            data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )
        return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _clock(seconds: float) -> str | float:
    return format_clock(seconds) if float(seconds).is_integer() else float(seconds)


def _table(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, Mapping):
        raise SpecError(f"{where}: {key} must be a table, got {value!r}")
    return dict(value)


def _list(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list | tuple) or not all(isinstance(v, Mapping) for v in value):
        raise SpecError(f"{where}: {key} must be an array of tables")
    return [dict(v) for v in value]
