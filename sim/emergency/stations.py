"""Emergency stations and their units: where ambulances and fire engines are based.

A :class:`Station` is a base on a drive node (a hospital or fire station of the city, or
one added for a what-if siting study with :func:`station_at`) with a number of units.
:mod:`sim.emergency.fleet` keeps the units of a run and changes the stations while it runs;
:class:`sim.emergency.model.Emergency` runs the incidents that use them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.emergency.incidents import nearest_drive_nodes
from sim.emergency.params import UNIT_TYPES, EmergencyParams
from twin.city import City
from twin.errors import TwinError

__all__ = [
    "NoUnitsError",
    "OffNetworkError",
    "Station",
    "StationError",
    "UnknownStationError",
    "UnknownUnitTypeError",
    "check_unit_type",
    "city_stations",
    "station_at",
]


class NoUnitsError(TwinError, ValueError):
    """Incidents of some kind need a unit type of which there are none."""


class OffNetworkError(TwinError, ValueError):
    """A station is not on the drive network (unknown node, or too far from any road)."""


class UnknownUnitTypeError(TwinError, ValueError):
    """A unit type other than ``ambulance`` or ``fire_engine``."""


class StationError(TwinError, ValueError):
    """A station, or a change to one, is malformed (a name already in use, units below 0)."""


class UnknownStationError(TwinError, LookupError):
    """A station change names a station that is not in service."""


def check_unit_type(unit_type: str) -> str:
    """``unit_type`` if known, else :class:`UnknownUnitTypeError`."""
    if unit_type not in UNIT_TYPES:
        raise UnknownUnitTypeError(
            f"unknown unit type {unit_type!r}; expected one of {sorted(UNIT_TYPES)} "
            "(ambulances live at hospitals, fire engines at fire stations)"
        )
    return unit_type


@dataclass(frozen=True)
class Station:
    """A base of emergency units.

    Attributes
    ----------
    name
        Display name.
    unit_type
        ``"ambulance"`` or ``"fire_engine"``.
    node
        Drive node.
    units
        Units based here.
    source
        ``"city"`` (a hospital or fire station POI) or ``"added"``.
    """

    name: str
    unit_type: str
    node: int
    units: int
    source: str = "city"


def city_stations(
    city: City, params: EmergencyParams, *, unit_type: str | None = None
) -> list[Station]:
    """The city's hospitals and fire stations with their default units.

    Parameters
    ----------
    city
        The city; its ``hospital`` POIs base ambulances, its ``fire_station`` POIs fire
        engines.
    params
        Emergency parameters (units per station).
    unit_type
        Only the stations of this unit type (``None``: all).

    Returns
    -------
    The stations, hospitals first, in POI order. Names are the POIs' names, made unique as
    a run specification names them (:func:`sim.spec_builder.city_stations`): an unnamed
    POI is called ``"<category> <poi_id>"`` and a repeated name gets ``" (2)"``,
    ``" (3)"``…, so that each station can be named in a change.
    """
    out: list[Station] = []
    count: dict[str, int] = {}
    taken: set[str] = set()
    for utype, category in UNIT_TYPES.items():
        units = params.units_per_station(utype)
        for row in city.pois_of(category).itertuples():
            name = str(row.name) or f"{category} {row.poi_id}"
            count[name] = count.get(name, 0) + 1
            unique = name if count[name] == 1 else f"{name} ({count[name]})"
            while unique in taken:  # a POI that is itself called "X (2)"
                count[name] += 1
                unique = f"{name} ({count[name]})"
            taken.add(unique)
            out.append(Station(unique, utype, int(row.drive_node), units))
    if unit_type is not None:
        check_unit_type(unit_type)
        out = [s for s in out if s.unit_type == unit_type]
    return out


def station_at(
    city: City,
    unit_type: str,
    *,
    node: int | None = None,
    xy: tuple[float, float] | None = None,
    units: int = 1,
    name: str | None = None,
    max_snap_m: float = 500.0,
) -> Station:
    """A new station on a drive node, or at coordinates snapped to the nearest node.

    Parameters
    ----------
    city
        The city.
    unit_type
        ``"ambulance"`` or ``"fire_engine"``.
    node
        Drive node position; or give ``xy``.
    xy
        Easting and northing in the city's CRS, metres.
    units
        Units based there (``>= 1``).
    name
        Display name (default ``"new <type> at node N"``).
    max_snap_m
        Metres the coordinates may lie from the nearest drive node.
    """
    check_unit_type(unit_type)
    n = city.drive.n_nodes
    if (node is None) == (xy is None):
        raise OffNetworkError("give a station either a drive node or coordinates, not both")
    if node is not None:
        if isinstance(node, bool) or not isinstance(node, (int, np.integer)) or not 0 <= node < n:
            raise OffNetworkError(
                f"station node {node!r} is not in the drive network (nodes are 0..{n - 1}); "
                "give a node position of city.drive or coordinates to snap"
            )
    else:
        nodes, dist = nearest_drive_nodes(city, np.array([xy[0]]), np.array([xy[1]]))
        if dist[0] > max_snap_m:
            raise OffNetworkError(
                f"station at x={xy[0]:.0f}, y={xy[1]:.0f} is {dist[0]:.0f} m from the nearest "
                f"road; it must lie within {max_snap_m:.0f} m. Place it next to a drivable road"
            )
        node = int(nodes[0])
    if isinstance(units, bool) or not isinstance(units, (int, np.integer)) or units < 1:
        raise NoUnitsError(f"a station needs at least 1 unit; got units={units!r}")
    return Station(
        name or f"new {unit_type} at node {node}", unit_type, int(node), int(units), "added"
    )
