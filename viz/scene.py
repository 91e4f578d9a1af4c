"""Scenes: what to draw, as data. A :class:`Scene` is a list of :class:`Layer` (one merged
mesh each, with its colouring), labels and texts; rendering it is :mod:`viz.render`'s job.

:class:`CityMeshes` holds the meshes of a city that do not change with time (buildings,
water, zones, POIs, the road ribbons, without values), built once per city and view, and
:func:`camera` the preset views: the whole city, the Citadel (Hoàng Thành Huế, around Ngọ
Môn) and the crossings of the Perfume River.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyvista as pv
import shapely

from twin.city import City
from twin.geometry import CityGeometry
from viz import meshes
from viz.errors import VizError

__all__ = [
    "CAMERAS",
    "Camera",
    "CityMeshes",
    "Label",
    "Layer",
    "Scene",
    "camera",
    "nice_length",
]

#: Camera presets (``--camera``).
CAMERAS = ("city", "citadel", "crossings")
#: Names the Citadel's preset looks for among the POIs, in order.
CITADEL_NAMES = ("Ngọ Môn", "Hoàng Thành Huế", "Hoàng thành Huế", "Kinh Thành Huế", "Đại Nội")
#: Names of the rivers whose bridges the crossings' preset frames.
RIVER_NAMES = ("Sông Hương",)
#: POI categories drawn as sights, emergency services and lodging (marker colours).
POI_GROUPS = {
    "attraction": 0, "museum": 0, "tomb": 0, "city_gate": 0, "pagoda_temple": 0,
    "hospital": 1, "fire_station": 1, "police": 1,
    "hotel": 2, "hostel": 2, "guest_house": 2,
}  # fmt: skip
POI_COLOURS = ("#7b3294", "#d7191c", "#2c7bb6", "#777777")


@dataclass
class Layer:
    """One merged mesh and how it is coloured.

    Attributes
    ----------
    name
        What it draws (``"roads"``, ``"buildings"``…); one layer of a name per scene.
    mesh
        The mesh.
    color
        A single colour, when not coloured by ``scalars``.
    scalars
        Name of the cell array giving each cell's value.
    cmap, clim
        Colour map and value range of ``scalars``.
    legend
        Title of the layer's colour bar (with the unit); ``None``: no colour bar.
    opacity
        0 (invisible) to 1.
    categories
        Colours of a categorical ``scalars`` (value ``k`` gets ``categories[k]``).
    nan_color
        Colour of cells without a value (NaN); ``None`` for the renderer's grey.
    """

    name: str
    mesh: pv.PolyData
    color: str | None = None
    scalars: str | None = None
    cmap: str | None = None
    clim: tuple[float, float] | None = None
    legend: str | None = None
    opacity: float = 1.0
    categories: tuple[str, ...] | None = None
    nan_color: str | None = None

    @property
    def empty(self) -> bool:
        return self.mesh.n_cells == 0


@dataclass(frozen=True)
class Label:
    """A text pinned to a point of the scene (metres)."""

    xyz: tuple[float, float, float]
    text: str


@dataclass
class Scene:
    """One panel: its title, layers, labels and the lines of its key.

    Attributes
    ----------
    title
        The panel's title (a scenario's title, or "option − base").
    layers
        The meshes, drawn in order.
    labels
        Names pinned to places.
    clock
        The time shown (``"07:45"``), or ``""``.
    key
        Lines explaining the marks (what the columns, dots and lines are).
    """

    title: str
    layers: list[Layer]
    labels: list[Label] = field(default_factory=list)
    clock: str = ""
    key: list[str] = field(default_factory=list)

    def layer(self, name: str) -> Layer | None:
        """The layer called ``name``, if any."""
        return next((layer for layer in self.layers if layer.name == name), None)


@dataclass(frozen=True)
class Camera:
    """Where the view looks from.

    Attributes
    ----------
    name
        The preset's name.
    focus
        The ground point at the centre of the view, metres.
    extent
        Metres of ground across the view.
    elevation
        Degrees above the horizon the view looks down from (90: straight down).
    azimuth
        Degrees clockwise from north the view looks towards.
    """

    name: str
    focus: tuple[float, float]
    extent: float
    elevation: float = 55.0
    azimuth: float = 0.0

    #: Vertical field of view of the renderer, degrees.
    view_angle: float = 30.0

    def position(self) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
        """The camera's position and its up direction."""
        distance = self.extent / (2.0 * math.tan(math.radians(self.view_angle) / 2.0)) * 0.9
        el, az = math.radians(self.elevation), math.radians(self.azimuth)
        dx, dy = math.sin(az), math.cos(az)  # the direction looked towards, on the ground
        horizontal = distance * math.cos(el)
        position = (
            self.focus[0] - dx * horizontal,
            self.focus[1] - dy * horizontal,
            distance * math.sin(el),
        )
        up = (dx * math.sin(el), dy * math.sin(el), math.cos(el))
        return position, up

    @property
    def road_width(self) -> float:
        """Width of a road ribbon that reads well at this extent, metres (about 2.5 pixels
        of a 1600-pixel view, at least 4 m)."""
        return max(4.0, 2.5 * self.extent / 1600.0)


def nice_length(extent: float) -> float:
    """A round length (1, 2 or 5 × 10^k metres) near a sixth of ``extent``."""
    target = extent / 6.0
    power = 10 ** math.floor(math.log10(target))
    return max((k * power for k in (1, 2, 5, 10) if k * power <= target), default=power)


def _network_bounds(city: City) -> tuple[float, float, float, float]:
    x, y = city.drive.x, city.drive.y
    if not len(x):
        raise VizError(f"city {city.name!r} has no drive network to draw")
    return float(x.min()), float(y.min()), float(x.max()), float(y.max())


def camera(city: City, preset: str = "city", *, shapes: CityGeometry | None = None) -> Camera:
    """A preset camera for ``city``.

    Parameters
    ----------
    preset
        ``"city"`` (the whole drive network), ``"citadel"`` (the Citadel, 3.6 km across,
        framed from Ngọ Môn, the Imperial City's gate, found by name among the POIs) or
        ``"crossings"`` (the bridges over the Perfume River: drive edges marked as bridges
        over water named Sông Hương, within 3 km of their median).

    Raises
    ------
    VizError
        An unknown preset, or a city without the place the preset looks for.
    """
    _x0, _y0, _x1, _y1 = _network_bounds(city)
    if preset == "city":
        # most of the city lies in its central part: frame the middle 90 % of the nodes
        xs, ys = city.drive.x, city.drive.y
        qx = np.percentile(xs, [3, 97])
        qy = np.percentile(ys, [3, 97])
        extent = max(qx[1] - qx[0], (qy[1] - qy[0]) * 1.4, 500.0)
        return Camera("city", (float(qx.mean()), float(qy.mean()) - 0.08 * extent), extent)
    if preset == "citadel":
        pois = city.pois
        for name in CITADEL_NAMES:
            hit = pois[pois["name"].astype(str).str.casefold() == name.casefold()]
            if len(hit):
                x, y = float(hit["x"].iloc[0]), float(hit["y"].iloc[0])
                # the Citadel's square (about 2.5 km a side) lies north-west of Ngọ Môn
                return Camera("citadel", (x - 250.0, y + 450.0), 3600.0, elevation=50.0)
        raise VizError(
            f"city {city.name!r} has no POI named {' or '.join(CITADEL_NAMES[:2])}; the "
            "'citadel' view is for Huế: use --camera city or crossings"
        )
    if preset == "crossings":
        shapes = shapes or city.shapes()
        xy = _crossings(city, shapes)
        if not len(xy):
            raise VizError(
                f"city {city.name!r} has no bridge over {RIVER_NAMES[0]}; use --camera city"
            )
        # the city's crossings: those within 3 km of their median (the river runs far
        # beyond the city, with bridges of its own)
        middle = np.median(xy, axis=0)
        xy = xy[np.hypot(*(xy - middle).T) <= 3000.0]
        lo, hi = xy.min(axis=0), xy.max(axis=0)
        extent = max(float(hi[0] - lo[0]), float(hi[1] - lo[1]) * 1.4, 1500.0) * 1.25
        centre = (lo + hi) / 2.0
        return Camera("crossings", (float(centre[0]), float(centre[1])), extent, elevation=55.0)
    raise VizError(f"no camera preset {preset!r}; the presets are {', '.join(CAMERAS)}")


def _crossings(city: City, shapes: CityGeometry) -> np.ndarray:
    """Middle points of the drive edges that are bridges over the named river."""
    water = shapes.water
    river = water[water["name"].isin(RIVER_NAMES)] if len(water) else water
    bridges = np.flatnonzero(city.drive.bridge)
    if not len(river) or not len(bridges):
        return np.zeros((0, 2))
    area = shapely.union_all(shapely.from_wkb(river["geometry"].to_numpy()))
    lines = shapes.drive
    middles = np.array([lines.line(int(e)).mean(axis=0) for e in bridges])
    inside = shapely.contains_xy(area, middles[:, 0], middles[:, 1])
    return middles[inside]


class CityMeshes:
    """The meshes of a city that do not change during a run, built once.

    Parameters
    ----------
    city
        The city.
    road_width
        Width of each direction's ribbon, metres (see :attr:`Camera.road_width`).

    Attributes
    ----------
    shapes
        The city's shapes (:meth:`twin.city.City.shapes`).
    roads
        One ribbon per drive edge, on the right of its direction (cell array ``edge``).
    buildings
        Footprints extruded to their heights (``building``); a building without a footprint
        is drawn as a square of its floor area.
    water
        Water areas at the ground (``polygon``).
    zones
        Zone polygons on the ground, under the water (``polygon``: the zone's row).
    pois
        A marker on each POI (``group``: 0 sights, 1 emergency and police, 2 lodging, 3 other).
    """

    def __init__(self, city: City, *, road_width: float) -> None:
        self.city = city
        self.shapes = city.shapes()
        classes = np.asarray(city.drive.road_classes, dtype=object)
        names = classes[city.drive.road_class] if len(classes) else np.array([], dtype=object)
        factor = np.where(
            np.isin(names, ["motorway", "trunk", "primary"]),
            1.6,
            np.where(np.isin(names, ["secondary", "tertiary"]), 1.2, 0.8),
        )
        self.road_width = road_width
        #: Ribbon width of each drive edge, metres.
        self.road_widths = road_width * factor
        self.roads = meshes.ribbons(
            self.shapes.drive, width=self.road_widths, gap=road_width * 0.15, z=1.5
        )
        b = city.buildings
        footprints = meshes.polygons_from_wkb(
            b["geometry"].tolist(),
            fallback_xy=b[["x", "y"]].to_numpy(float),
            fallback_area=b["footprint_m2"].to_numpy(float),
        )
        self.buildings = meshes.extruded_footprints(footprints, b["height_m"].to_numpy(float))
        water = self.shapes.water
        self.water = meshes.flat_polygons(
            shapely.from_wkb(water["geometry"].to_numpy()) if len(water) else np.zeros(0), z=0.6
        )
        self.zone_ids = city.zones["zone"].to_numpy(np.int64)
        self.zones = meshes.flat_polygons(
            meshes.polygons_from_wkb(city.zones["geometry"].tolist()), z=0.2
        )
        pois = city.pois
        xyz = np.column_stack(
            [pois["x"].to_numpy(float), pois["y"].to_numpy(float), np.full(len(pois), 25.0)]
        )
        self.pois = meshes.markers(xyz, radius=max(road_width * 1.2, 8.0), resolution=6)
        if self.pois.n_cells:
            group = pois["category"].map(POI_GROUPS).fillna(3).to_numpy(np.int64)
            self.pois.cell_data["group"] = group[self.pois.cell_data["item"]]
        self.node_index = pd.Index(city.drive.node_id)

    def road_ribbons(self, edges: np.ndarray, *, share: float = 1.0, z: float = 1.8) -> pv.PolyData:
        """Ribbons over drive edges (positions) where :attr:`roads` draws them, ``share`` of
        their width along the middle of each, ``z`` metres up (cell array ``edge``: the
        edge's position)."""
        edges = np.asarray(edges, dtype=np.int64)
        widths = self.road_widths[edges]
        gap = self.road_width * 0.15 + widths * (1.0 - share) / 2.0
        mesh = meshes.ribbons(self.shapes.drive.take(edges), width=widths * share, gap=gap, z=z)
        if mesh.n_cells:
            mesh.cell_data["edge"] = edges[mesh.cell_data["edge"]]
        return mesh

    def node_xy(self, node_ids: np.ndarray) -> np.ndarray:
        """``float64[n, 2]``: where drive nodes (by node id) stand; NaN for unknown ids."""
        position = self.node_index.get_indexer(np.asarray(node_ids, dtype=np.int64))
        xy = np.full((len(position), 2), math.nan)
        ok = position >= 0
        xy[ok, 0] = self.city.drive.x[position[ok]]
        xy[ok, 1] = self.city.drive.y[position[ok]]
        return xy

    def static_layers(self) -> list[Layer]:
        """Water, buildings and POIs."""
        layers = [
            Layer("water", self.water, color="#9cc9e8"),
            Layer("buildings", self.buildings, color="#d9d3c7"),
        ]
        if self.pois.n_cells:
            layers.append(
                Layer("pois", self.pois, scalars="group", categories=POI_COLOURS, clim=(0, 3))
            )
        return layers
