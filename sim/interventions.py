"""Interventions: the changes a run carries out on its own clock, as typed data.

Every intervention holds for a window ``[start, until)`` of the run's clock (seconds after
midnight; ``start=None`` from the beginning of the run, ``until=None`` to its end) and some
apply to chosen vehicle classes only (``classes``: empty for every class). They are plain
frozen data: a run specification lists them, TOML and JSON carry them (``from``/``until``
as ``"HH:MM:SS"``), and :class:`sim.world.World` carries them out through the public
methods of the traffic engine, the tourists and the emergency services.

=======================  ==================================================================
kind                     what happens in the window
=======================  ==================================================================
``close_links``          the links (by stable ``edge_id``) are closed to ``classes`` (to
                         every class when empty) and open again at ``until``; traffic
                         reroutes at once; each group of classes routes on the links it may
                         use, so a flood that closes a street to motorbikes and cars leaves
                         it to trucks, buses and ambulances
``change_links``         speed (km/h or a factor), capacity (PCU/h or a factor), lanes
                         (capacity and storage follow in proportion) or storage (a factor)
``add_road``             a new road between two nodes, built into the network before the
                         run with new stable edge ids, usable only inside its window
``add_station``          an ambulance or fire station with its units
``remove_station``       a station's units leave service (busy ones when back at base)
``move_station``         a station's base moves to another node
``set_station_units``    a station's number of units
``change_site``          a tourist site closes, or its capacity or gate throughput changes
``event_trips``          visitors of an event drive to a place before it starts and home
                         after it ends (extra vehicle trips in the demand)
=======================  ==================================================================
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from sim.emergency.params import UNIT_TYPES
from twin.clock import format_clock, parse_clock
from twin.errors import TwinError

__all__ = [
    "KINDS",
    "AddRoad",
    "AddStation",
    "ChangeLinks",
    "ChangeSite",
    "CloseLinks",
    "EventTrips",
    "Intervention",
    "InterventionError",
    "MoveStation",
    "RemoveStation",
    "SetStationUnits",
    "StationSpec",
    "intervention_from_dict",
]

#: Latest clock time a run may reach (48:00: a window may run past midnight), seconds.
LATEST = 2 * 86_400.0


class InterventionError(TwinError, ValueError):
    """An intervention is malformed: an unknown kind or key, a bad window or value."""


@dataclass(frozen=True)
class StationSpec:
    """An emergency station of a run.

    Attributes
    ----------
    name
        Its name (unique among the run's stations).
    unit_type
        ``"ambulance"`` or ``"fire_engine"``.
    node_id
        The drive node it stands at, by the city's node id (an OSM node id for Huế).
    units
        Units based there (``>= 0``).
    """

    name: str
    unit_type: str
    node_id: int
    units: int

    def __post_init__(self) -> None:
        if self.unit_type not in UNIT_TYPES:
            raise InterventionError(
                f"station {self.name!r}: unit_type {self.unit_type!r} is not one of "
                f"{sorted(UNIT_TYPES)}"
            )
        if isinstance(self.units, bool) or not isinstance(self.units, int) or self.units < 0:
            raise InterventionError(
                f"station {self.name!r}: units = {self.units!r}; give a whole number >= 0"
            )
        if isinstance(self.node_id, bool) or not isinstance(self.node_id, int):
            raise InterventionError(
                f"station {self.name!r}: node_id = {self.node_id!r}; give a drive node id"
            )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "unit_type": self.unit_type,
            "node_id": self.node_id,
            "units": self.units,
        }


@dataclass(frozen=True, kw_only=True)
class Intervention:
    """What every intervention has: a window, the classes it applies to, and a label.

    Attributes
    ----------
    start, until
        The window, seconds after midnight (``None``: from the run's start, to its end).
    classes
        Vehicle classes it applies to (link interventions); empty for every class.
    label
        What a person calls it (``"Cầu Trường Tiền closed"``), for reports.
    """

    kind: ClassVar[str] = ""
    start: float | None = None
    until: float | None = None
    classes: tuple[str, ...] = ()
    label: str = ""

    def __post_init__(self) -> None:
        for name in ("start", "until"):
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise InterventionError(f"{self.kind}: {name} = {value!r}; give seconds or None")
            if not (0.0 <= value <= LATEST and math.isfinite(value)):
                raise InterventionError(
                    f"{self.kind}: {name} = {value!r} s is outside 00:00..48:00"
                )
            object.__setattr__(self, name, float(value))
        if self.start is not None and self.until is not None and self.until <= self.start:
            raise InterventionError(
                f"{self.kind}: until ({format_clock(self.until)}) is not after from "
                f"({format_clock(self.start)}); give a window that ends after it starts"
            )
        object.__setattr__(self, "classes", tuple(str(c) for c in self.classes))
        if len(set(self.classes)) != len(self.classes):
            raise InterventionError(f"{self.kind}: classes {list(self.classes)} repeat a class")

    def to_dict(self) -> dict[str, Any]:
        """TOML/JSON-ready data: ``kind`` first, ``from``/``until`` as clock text, ``None``
        values and empty ``classes`` left out."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.start is not None:
            out["from"] = _clock_value(self.start)
        if self.until is not None:
            out["until"] = _clock_value(self.until)
        for f in fields(self):
            if f.name in ("start", "until"):
                continue
            value = getattr(self, f.name)
            if value is None or (f.name in ("classes", "label") and not value):
                continue
            if isinstance(value, tuple):
                value = [v.to_dict() if hasattr(v, "to_dict") else v for v in value]
            elif hasattr(value, "to_dict"):
                value = value.to_dict()
            out[f.name] = value
        return out


def _clock_value(seconds: float) -> str | float:
    """Whole seconds as ``"HH:MM:SS"``; fractions as a number (exact round trip)."""
    return format_clock(seconds) if float(seconds).is_integer() else float(seconds)


def _edges(value: Any, kind: str) -> tuple[int, ...]:
    edges = tuple(value)
    if not edges or any(isinstance(e, bool) or not isinstance(e, int) for e in edges):
        raise InterventionError(f"{kind}: edges must be a non-empty list of edge ids (integers)")
    return edges


@dataclass(frozen=True, kw_only=True)
class CloseLinks(Intervention):
    """Close links (by stable edge id) to ``classes`` (every class when empty)."""

    kind: ClassVar[str] = "close_links"
    edges: tuple[int, ...]

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "edges", _edges(self.edges, self.kind))


@dataclass(frozen=True, kw_only=True)
class ChangeLinks(Intervention):
    """Change links for the window.

    Attributes
    ----------
    edges
        Stable edge ids.
    speed_kmh, speed_factor
        New free-flow speed (km/h), or a multiplier on it (at most one of the two).
    capacity_pcu_h, capacity_factor
        New outflow capacity of each link (PCU/h), or a multiplier on it.
    lanes
        New number of lanes: capacity and storage scale by ``lanes / lanes before``.
    storage_factor
        Multiplier on the PCU a link holds.
    """

    kind: ClassVar[str] = "change_links"
    edges: tuple[int, ...]
    speed_kmh: float | None = None
    speed_factor: float | None = None
    capacity_pcu_h: float | None = None
    capacity_factor: float | None = None
    lanes: float | None = None
    storage_factor: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "edges", _edges(self.edges, self.kind))
        changes = ("speed_kmh", "speed_factor", "capacity_pcu_h", "capacity_factor", "lanes")
        given = [n for n in (*changes, "storage_factor") if getattr(self, n) is not None]
        if not given:
            raise InterventionError(
                "change_links changes nothing; give speed_kmh or speed_factor, capacity_pcu_h "
                "or capacity_factor, lanes, or storage_factor"
            )
        for a, b in (("speed_kmh", "speed_factor"), ("capacity_pcu_h", "capacity_factor")):
            if getattr(self, a) is not None and getattr(self, b) is not None:
                raise InterventionError(f"change_links: give {a} or {b}, not both")
        for name in given:
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise InterventionError(f"change_links: {name} = {value!r}; give a number > 0")
            if not math.isfinite(value):
                raise InterventionError(f"change_links: {name} = {value!r}; give a finite number")
            object.__setattr__(self, name, float(value))
        if self.classes:
            raise InterventionError(
                "change_links applies to every class; to keep classes off links use close_links "
                "with classes"
            )


@dataclass(frozen=True, kw_only=True)
class AddRoad(Intervention):
    """A new road (or bridge) between two drive nodes, usable only inside its window.

    Attributes
    ----------
    from_node, to_node
        Its ends, by node id.
    road_class
        A road class of the city (``"secondary"``…): its defaults give capacity per lane and
        jam density.
    lanes
        Lanes each way.
    speed_kmh
        Free-flow speed; ``None`` for the road class's default.
    length_m
        Length; ``None`` for the straight line between the ends.
    both_ways
        Also add the road from ``to_node`` back to ``from_node``.
    name
        Street name (``"Cầu mới"``).
    bridge
        Whether it is a bridge.
    edge_ids
        The stable ids of the new links (filled in when the specification is made).
    """

    kind: ClassVar[str] = "add_road"
    from_node: int
    to_node: int
    road_class: str
    lanes: float = 1.0
    speed_kmh: float | None = None
    length_m: float | None = None
    both_ways: bool = True
    name: str = ""
    bridge: bool = False
    edge_ids: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        for name in ("from_node", "to_node"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int):
                raise InterventionError(f"add_road: {name} = {value!r}; give a drive node id")
        if self.from_node == self.to_node:
            raise InterventionError("add_road: from_node and to_node are the same node")
        for name in ("lanes", "speed_kmh", "length_m"):
            value = getattr(self, name)
            if value is None and name != "lanes":
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise InterventionError(f"add_road: {name} = {value!r}; give a number > 0")
            object.__setattr__(self, name, float(value))
        object.__setattr__(self, "edge_ids", tuple(int(e) for e in self.edge_ids))
        if self.classes:
            raise InterventionError(
                "add_road opens the road to every class; close it to some with close_links"
            )


@dataclass(frozen=True, kw_only=True)
class AddStation(Intervention):
    """A new emergency station, in service inside the window."""

    kind: ClassVar[str] = "add_station"
    station: StationSpec

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.station, dict):
            object.__setattr__(self, "station", StationSpec(**self.station))


@dataclass(frozen=True, kw_only=True)
class RemoveStation(Intervention):
    """A station out of service inside the window (its units back in service after)."""

    kind: ClassVar[str] = "remove_station"
    name: str


@dataclass(frozen=True, kw_only=True)
class MoveStation(Intervention):
    """A station based at another drive node (by node id) inside the window."""

    kind: ClassVar[str] = "move_station"
    name: str
    node_id: int


@dataclass(frozen=True, kw_only=True)
class SetStationUnits(Intervention):
    """A station's units set to ``units`` inside the window."""

    kind: ClassVar[str] = "set_station_units"
    name: str
    units: int

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.units, bool) or not isinstance(self.units, int) or self.units < 0:
            raise InterventionError(
                f"set_station_units: units = {self.units!r}; give a whole number >= 0"
            )


@dataclass(frozen=True, kw_only=True)
class ChangeSite(Intervention):
    """A tourist site (by its name in the attraction table) closed, or with another
    capacity (visitors at once) or gate throughput (visitors per minute), in the window."""

    kind: ClassVar[str] = "change_site"
    site: str
    closed: bool = False
    capacity: float | None = None
    gate_per_min: float | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.closed and self.capacity is None and self.gate_per_min is None:
            raise InterventionError(
                f"change_site {self.site!r} changes nothing; give closed = true, capacity or "
                "gate_per_min"
            )
        for name, least in (("capacity", 1.0), ("gate_per_min", 0.0)):
            value = getattr(self, name)
            if value is None:
                continue
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if not ok or not (value >= least if least else value > 0):
                wanted = "a number of visitors >= 1" if least else "a number > 0"
                raise InterventionError(f"change_site: {name} = {value!r}; give {wanted}")
            object.__setattr__(self, name, float(value))

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        if not self.closed:
            out.pop("closed", None)
        return out


@dataclass(frozen=True, kw_only=True)
class EventTrips(Intervention):
    """Visitors of an event at a drive node, travelling by the run's vehicle mix.

    They arrive during the hour before ``start`` and leave during the hour after ``until``
    (both clipped to the run's window), from and to homes drawn by residents; each vehicle
    carries ``persons_per_vehicle`` visitors. ``start`` and ``until`` are required. When
    the roads around the place close, the vehicles stop at the edge of the closed area
    (``drop_nodes``), each at the drop node nearest its home, and the visitors walk on.

    Attributes
    ----------
    node_id
        The drive node of the place.
    visitors
        Persons who come.
    persons_per_vehicle
        Visitors per vehicle (1.5: mostly motorbikes with a passenger).
    drop_nodes
        Drive nodes where the vehicles stop (the edge of the roads closed around the
        place); empty: they drive to ``node_id``.
    """

    kind: ClassVar[str] = "event_trips"
    node_id: int
    visitors: int
    persons_per_vehicle: float = 1.5
    drop_nodes: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.start is None or self.until is None:
            raise InterventionError("event_trips needs a window: give from and until")
        if (
            isinstance(self.visitors, bool)
            or not isinstance(self.visitors, int)
            or self.visitors < 1
        ):
            raise InterventionError(
                f"event_trips: visitors = {self.visitors!r}; give a whole number >= 1"
            )
        value = self.persons_per_vehicle
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 1:
            raise InterventionError(
                f"event_trips: persons_per_vehicle = {value!r}; give a number >= 1"
            )
        object.__setattr__(self, "persons_per_vehicle", float(value))
        if self.classes:
            raise InterventionError("event_trips uses the run's vehicle mix; give no classes")
        nodes = self.drop_nodes
        if any(isinstance(n, bool) or not isinstance(n, int) for n in nodes):
            raise InterventionError(
                f"event_trips: drop_nodes = {list(nodes)!r}; give drive node ids"
            )
        object.__setattr__(self, "drop_nodes", tuple(int(n) for n in nodes))


#: Intervention classes by ``kind``.
KINDS: dict[str, type[Intervention]] = {
    cls.kind: cls
    for cls in (
        CloseLinks,
        ChangeLinks,
        AddRoad,
        AddStation,
        RemoveStation,
        MoveStation,
        SetStationUnits,
        ChangeSite,
        EventTrips,
    )
}


def intervention_from_dict(data: dict[str, Any], *, where: str = "intervention") -> Intervention:
    """An intervention from TOML/JSON data (``kind``, ``from``/``until`` as clock text or
    seconds, and the kind's own keys).

    Raises
    ------
    InterventionError
        An unknown kind or key, or a bad value; the message starts with ``where``.
    """
    data = dict(data)
    kind = data.pop("kind", None)
    if kind not in KINDS:
        raise InterventionError(f"{where}: kind = {kind!r}; expected one of {sorted(KINDS)}")
    cls = KINDS[kind]
    known = {f.name for f in fields(cls)} - {"start"} | {"from"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InterventionError(
            f"{where}: unknown keys {unknown} for {kind}; expected some of {sorted(known)}"
        )
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key in ("from", "until"):
            name = "start" if key == "from" else key
            values[name] = parse_clock(
                value, what=f"{where}: {key}", error=InterventionError, latest=LATEST
            )
        elif key in ("edges", "classes", "edge_ids", "drop_nodes"):
            if not isinstance(value, list | tuple):
                raise InterventionError(f"{where}: {key} = {value!r}; give a list")
            values[key] = tuple(value)
        elif key == "station":
            if not isinstance(value, dict):
                raise InterventionError(f"{where}: station = {value!r}; give a table")
            try:
                values[key] = StationSpec(**value)
            except TypeError as exc:
                raise InterventionError(f"{where}: station: {exc}") from None
        else:
            values[key] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise InterventionError(f"{where}: {kind}: {exc}") from None
    except InterventionError as exc:
        raise InterventionError(f"{where}: {exc}") from None
