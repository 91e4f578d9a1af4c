"""The city model: road and footpath networks, POIs, buildings, zones and metadata.

A :class:`City` is what ``twin build`` compiles into a ``.twin`` bundle and what every
simulation reads. Coordinates ``x``/``y`` are metres in the city's projected CRS: the UTM
zone of its extract's centre unless a user gives another (EPSG:32648, UTM zone 48N, for
Huế; :mod:`twin.build.projection`).

Tables and their columns
------------------------
``pois``
    ``poi_id`` (str, stable: ``"node/123"``, ``"way/456"``, ``"extra/minh_mang"``), ``name``,
    ``category`` (one of :data:`POI_CATEGORIES`), ``x``, ``y``, ``lon``, ``lat``,
    ``drive_node``, ``walk_node`` (positions in the networks), ``access_m`` (metres from
    the POI to its drive node), ``size`` (rooms, beds or another size tag, NaN when
    untagged), ``source`` (``"osm"`` or ``"extra"``).
``buildings``
    ``building_id``, ``x``, ``y`` (centroid), ``footprint_m2``, ``height_m``,
    ``height_source`` (``"height"``, ``"levels"``, ``"estimate"``), ``levels``,
    ``floor_area_m2``, ``use`` (one of :data:`BUILDING_USES`), ``zone``, ``residents``,
    ``geometry`` (footprint as WKB, projected).
``zones``
    ``zone`` (0..k-1), ``name``, ``kind`` (``"ward"``, ``"commune"`` or ``"grid"``), ``x``,
    ``y`` (centroid), ``area_km2``, ``population``, ``jobs``, ``schools``, ``markets``,
    ``pois`` (attraction weights, counts or floor-area based), ``drive_node`` (the drive
    node nearest the centroid), ``geometry`` (WKB, projected).

The shapes of roads, footpaths and water are in :attr:`City.geometry`
(:class:`twin.geometry.CityGeometry`); the simulation never reads them.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from twin.geometry import CityGeometry
from twin.network import Network

#: POI classes a city holds.
POI_CATEGORIES: tuple[str, ...] = (
    "attraction",
    "museum",
    "tomb",
    "city_gate",
    "pagoda_temple",
    "hotel",
    "hostel",
    "guest_house",
    "hospital",
    "fire_station",
    "police",
    "market",
    "bus_station",
    "pier",
)
#: Building use classes.
BUILDING_USES: tuple[str, ...] = (
    "residential",
    "commercial",
    "office",
    "industrial",
    "education",
    "health",
    "religious",
    "public",
    "other",
)
#: The projected CRS of Huế.
HUE_CRS = "EPSG:32648"

#: Columns that place a POI: its id, name and category, where it stands and its network nodes
#: (the first columns of :data:`POI_CONTRACT_COLUMNS`; attraction sites start with them too).
POI_PLACE_COLUMNS: tuple[str, ...] = (
    "poi_id",
    "name",
    "category",
    "x",
    "y",
    "lon",
    "lat",
    "drive_node",
    "walk_node",
)
#: Columns every ``pois`` table has (see the module docstring); builders may add more.
POI_CONTRACT_COLUMNS: tuple[str, ...] = (*POI_PLACE_COLUMNS, "access_m", "size", "source")
#: Columns every ``buildings`` table has (see the module docstring); builders may add more.
BUILDING_CONTRACT_COLUMNS: tuple[str, ...] = (
    "building_id",
    "x",
    "y",
    "footprint_m2",
    "height_m",
    "height_source",
    "levels",
    "floor_area_m2",
    "use",
    "zone",
    "residents",
    "geometry",
)
#: Columns every ``zones`` table has (see the module docstring); builders may add more.
ZONE_CONTRACT_COLUMNS: tuple[str, ...] = (
    "zone",
    "name",
    "kind",
    "x",
    "y",
    "area_km2",
    "population",
    "jobs",
    "schools",
    "markets",
    "pois",
    "drive_node",
    "geometry",
)


@dataclass(frozen=True, eq=False)
class City:
    """Everything the simulations know about a city.

    Attributes
    ----------
    name
        Display name (``"Huế"``).
    crs
        Projected CRS of every ``x``/``y`` (``"EPSG:32648"``).
    drive, walk
        The drive and walk networks; the drive network is strongly connected.
    pois, buildings, zones
        Tables described in the module docstring.
    node_zone
        ``int32[drive.n_nodes]``: zone of each drive node.
    meta
        Build metadata: ``source`` (path), ``source_sha256``, ``source_date``, ``params``,
        ``versions``, ``dropped`` (what the connectivity filter removed), ``notes`` (what a
        user should know about the build) and so on.
    geometry
        The shapes of the roads, footpaths and water, for views and maps; ``None`` for a
        city built without them (a GMNS network, a synthetic city): see :meth:`shapes`.
    """

    name: str
    crs: str
    drive: Network
    walk: Network
    pois: pd.DataFrame
    buildings: pd.DataFrame
    zones: pd.DataFrame
    node_zone: np.ndarray
    meta: dict = field(default_factory=dict)
    geometry: CityGeometry | None = field(default=None, repr=False)

    def shapes(self) -> CityGeometry:
        """The city's shapes, each road's polyline in the order of the current networks
        (a road a scenario added is straight); straight edges and no water when the city
        has no :attr:`geometry`."""
        if self.geometry is None:
            return CityGeometry.straight(self.drive, self.walk)
        return CityGeometry(
            drive=self.geometry.drive.for_network(self.drive),
            walk=self.geometry.walk.for_network(self.walk),
            water=self.geometry.water,
        )

    @property
    def population(self) -> float:
        """Residents in the city."""
        return float(self.zones["population"].sum()) if len(self.zones) else 0.0

    def pois_of(self, category: str) -> pd.DataFrame:
        """The POIs of one category."""
        return self.pois[self.pois["category"] == category]


def city_checksum(city: City) -> str:
    """SHA-256 (hex) of everything in a city that a simulation reads: its name and CRS, both
    networks' arrays, the POI, building and zone tables and the node zones.

    The same content gives the same checksum on any machine and in any process (it hashes
    values, not files), so a run specification can name its city by it; build metadata
    (paths, timestamps, versions) is left out.
    """
    digest = hashlib.sha256()

    def add(label: str, data: bytes) -> None:
        digest.update(f"{label}:{len(data)}:".encode())
        digest.update(data)

    add("name", city.name.encode())
    add("crs", city.crs.encode())
    for kind in ("drive", "walk"):
        network = getattr(city, kind)
        for name, array in network.arrays().items():
            if array.dtype == object:
                add(f"{kind}.{name}", "\x1f".join(map(str, array)).encode())
            else:
                add(f"{kind}.{name}", np.ascontiguousarray(array).tobytes())
        add(f"{kind}.road_classes", "\x1f".join(network.road_classes).encode())
    add("node_zone", np.ascontiguousarray(city.node_zone, dtype=np.int64).tobytes())
    for name in ("pois", "buildings", "zones"):
        table = getattr(city, name)
        add(f"{name}.columns", "\x1f".join(map(str, table.columns)).encode())
        hashed = pd.util.hash_pandas_object(table, index=False) if len(table) else pd.Series([])
        add(name, np.ascontiguousarray(hashed.to_numpy(np.uint64)).tobytes())
    return digest.hexdigest()
