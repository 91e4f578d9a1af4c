"""Views of results on a city: scenes for each panel at each 15-minute interval.

A :class:`View` takes a city and what :func:`viz.results.load_results` read, and gives, for
any interval of the window, one :class:`~viz.scene.Scene` per panel: every side (2-4 runs
or scenarios side by side, with one shared colour range), or, with ``diff``, each option
minus the base with a diverging colour map centred on zero. The scenes are data; drawing
them is :mod:`viz.render`'s job, so a whole day of frames costs one set of meshes and one
array of values per frame.

What the runs record, and so what is drawn: road states per link and 15 minutes; tourists
at each site (arrival to departure, from the visits); each incident from its call until the
unit leaves the scene. A unit on its way is drawn on the fastest road from its station to
the incident at the speeds the run measured when it left, where the share of its travel
time gone puts it (:mod:`viz.unit_routes`): the runs record when a unit leaves and arrives,
not the roads it takes, so route and position are estimates (the legend says "estimated").
Tourist parties between sites are not drawn (not recorded). A road a side's scenario added
(a new bridge) is drawn on its panels like every road, outlined in black and named
(:mod:`viz.added_roads`). On the sides (not in a difference, whose colours show what a
closure changed), a road the side's interventions close is black while closed to every
vehicle, and has a black stripe along its middle while closed to some classes only (a flood
closes streets to motorbikes and cars).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.city import City
from twin.clock import format_clock, parse_clock
from twin.geometry import Polylines
from viz import meshes
from viz.added_roads import ViewRoads
from viz.errors import VizError
from viz.measures import (
    Measure,
    difference_limits,
    measure,
    road_series,
    sequential_limits,
    zone_measure,
    zone_values,
)
from viz.results import INTERVAL_S, Results, Side, check_results_city
from viz.scene import Camera, CityMeshes, Label, Layer, Scene, camera, nice_length
from viz.text import check_lang, say
from viz.unit_routes import UnitRoutes, point_along

__all__ = ["View", "ViewOptions"]

#: Largest height of a crowding column per tourist, metres.
MAX_M_PER_TOURIST = 1.0


@dataclass(frozen=True)
class ViewOptions:
    """What a view shows.

    Attributes
    ----------
    color
        Road measure (:data:`viz.measures.MEASURES`).
    at
        A time of the window (``"HH:MM"`` or seconds after midnight): its 15-minute
        interval is shown; ``None`` for the busiest interval.
    diff
        Show option − base instead of the sides.
    camera
        Camera preset (:data:`viz.scene.CAMERAS`), or a :class:`~viz.scene.Camera`.
    lang
        ``"en"`` or ``"vi"``.
    zones
        Zone measure of the coloured ward surface (:data:`viz.measures.ZONE_MEASURES`),
        ``"auto"`` (the response time when the runs had incidents) or ``None`` (no surface).
    """

    color: str = "speed_ratio"
    at: str | float | None = None
    diff: bool = False
    camera: str | Camera = "city"
    lang: str = "en"
    zones: str | None = "auto"


class View:
    """Scenes of results on a city (see the module docstring).

    Parameters
    ----------
    city
        The city the results were made on.
    results
        From :func:`viz.results.load_results`.
    options
        What to show.
    check_city
        Check that the results were made on ``city`` (their manifests' city checksum).

    Raises
    ------
    CityMismatchError
        The results were made on another city.
    UnknownMeasureError
        ``options.color`` or ``options.zones`` is not a measure.
    VizError
        ``diff`` with one side, a time outside the window, an unknown camera or language.
    """

    def __init__(
        self, city: City, results: Results, options: ViewOptions, *, check_city: bool = True
    ) -> None:
        self.lang = check_lang(options.lang)
        self.options = options
        self.measure: Measure = measure(options.color)
        if check_city:
            check_results_city(results, city)
        self.city, self.results = city, results
        self.sides: tuple[Side, ...] = results.sides
        if options.diff and len(self.sides) < 2:
            raise VizError(
                "--diff needs a base and an option: give a comparison folder or two run folders"
            )
        self.camera: Camera = (
            options.camera if isinstance(options.camera, Camera) else camera(city, options.camera)
        )
        self.meshes = CityMeshes(city, road_width=self.camera.road_width)
        start = min(s.window[0] for s in self.sides)
        end = max(s.window[1] for s in self.sides)
        self.intervals = np.arange(math.floor(start / INTERVAL_S) * INTERVAL_S, end, INTERVAL_S)
        if not len(self.intervals):
            raise VizError(f"the window {format_clock(start)}–{format_clock(end)} is empty")
        self.window = (start, end)
        #: The road columns of every panel: the city's drive edges, then the added roads.
        self.roads = ViewRoads(city, self.sides)
        self.series = [self.road_series(self.measure, s) for s in self.sides]
        if options.diff:
            base = self.series[0]
            self.panels = [o - base for o in self.series[1:]]
            self.clim = difference_limits(self.panels)
        else:
            self.panels = self.series
            self.clim = sequential_limits(self.measure, self.series)
        self.zone_measure = self._zone_measure(options.zones)
        self.zone_panels, self.zone_clim = self._zones()
        self._crowd_scale = self._crowding_scale()
        #: Per side, km/h measured on each road in each interval; edge times of the units.
        self._measured_kmh: dict[int, np.ndarray] = {}
        self._unit_times: dict[tuple, np.ndarray] = {}
        self._unit_routes: dict[int, UnitRoutes] = {}
        #: Whether some side closes roads at some time (the key then says how it is drawn).
        self._closes_roads = any(side.closes_roads for side in self.sides)

    def road_series(self, m: Measure, side: Side) -> np.ndarray:
        """``float64[intervals, columns]``: ``m`` of every road column (:attr:`roads`) in
        every interval, measured on the network ``side`` ran on."""
        net = self.roads.network(side)
        return road_series(m, side, net, self.intervals, edge_ids=self.roads.edge_ids)

    # -- time ----------------------------------------------------------------------------
    def busiest(self) -> int:
        """Index of the interval with the most vehicles entering roads, all sides together."""
        total = np.zeros(len(self.intervals))
        for side in self.sides:
            entries = side.links.groupby("interval_start")["entries"].sum()
            total += entries.reindex(self.intervals).fillna(0.0).to_numpy()
        return int(np.argmax(total))

    def index_at(self, at: str | float | None) -> int:
        """Index of the interval holding ``at`` (``None``: :meth:`busiest`).

        Raises
        ------
        VizError
            ``at`` is not a clock time or lies outside the window.
        """
        if at is None:
            return self.busiest()
        try:
            seconds = float(parse_clock(at))
        except (ValueError, TypeError) as exc:
            raise VizError(f"--at {at!r} is not a time; give HH:MM ({exc})") from None
        if not (self.window[0] <= seconds < self.window[1]):
            raise VizError(
                f"--at {format_clock(seconds)} is outside the results' window "
                f"{format_clock(self.window[0])}–{format_clock(self.window[1])}"
            )
        return int(np.searchsorted(self.intervals, seconds, side="right") - 1)

    # -- panels --------------------------------------------------------------------------
    @property
    def titles(self) -> list[str]:
        """The title of each panel."""
        if self.options.diff:
            base = self.sides[0].text("title", self.lang)
            return [
                say("difference", self.lang, option=s.text("title", self.lang), base=base)
                for s in self.sides[1:]
            ]
        return [s.text("title", self.lang) for s in self.sides]

    @property
    def legend(self) -> str:
        """Title of the roads' colour bar."""
        label = self.measure.label(self.lang)
        return say("difference_of", self.lang, what=label) if self.options.diff else label

    @property
    def cmap(self) -> str:
        return self.measure.difference_cmap() if self.options.diff else self.measure.cmap

    def panel_sides(self, k: int) -> tuple[Side, ...]:
        """The sides panel ``k`` shows: one, or the option and the base of a difference."""
        if self.options.diff:
            return self.sides[k + 1], self.sides[0]
        return (self.sides[k],)

    def scenes(self, index: int) -> list[Scene]:
        """One scene per panel at interval ``index``."""
        t = float(self.intervals[index])
        clock = f"{format_clock(t)[:5]}–{format_clock(t + INTERVAL_S)[:5]}"
        out = []
        for k, (title, values) in enumerate(zip(self.titles, self.panels, strict=True)):
            side = self.panel_sides(k)[0]
            layers = self.meshes.static_layers()
            zones = self._zone_layer(k)
            if zones is not None:
                layers.insert(1, zones)
            layers.append(self._road_layer(values[index]))
            added, road_labels = self._added_road_layers(k, values[index])
            layers.extend(added)
            if not self.options.diff:  # a difference shows what a closure changed instead
                layers.extend(self._closure_layers(side, t + INTERVAL_S / 2.0))
            crowd, labels = self._crowding(side, t + INTERVAL_S / 2.0)
            labels.extend(road_labels)
            layers.extend([crowd, *self._emergency(side, t + INTERVAL_S / 2.0)])
            layers.append(self._scale_bar())
            labels.extend(self._scale_labels())
            key = [say("pois", self.lang), say("crowding", self.lang, **self._crowd_key())]
            key.append(say("stations", self.lang))
            key.append(say("emergency", self.lang))
            if len(self.roads.added):
                key.append(say("new_roads", self.lang))
            if self._closes_roads and not self.options.diff:
                key.append(say("closed", self.lang))
            if self.options.diff:
                neither = self.measure.better == "neither"
                key.append(say("more_less" if neither else "better_worse", self.lang))
            key.append(say("no_traffic", self.lang))
            out.append(
                Scene(
                    title=title,
                    layers=[layer for layer in layers if not layer.empty],
                    labels=labels,
                    clock=clock,
                    key=key,
                )
            )
        return out

    # -- layers --------------------------------------------------------------------------
    def _road_layer(self, values: np.ndarray) -> Layer:
        mesh = self.meshes.roads.copy(deep=False)
        if mesh.n_cells:
            mesh.cell_data["value"] = values[mesh.cell_data["edge"]]
        return Layer(
            "roads", mesh, scalars="value", cmap=self.cmap, clim=self.clim, legend=self.legend
        )

    def _added_road_layers(self, k: int, values: np.ndarray) -> tuple[list[Layer], list[Label]]:
        """The roads panel ``k``'s sides added, coloured by ``values`` (one per road column)
        over a dark outline, and a label naming each."""
        columns = self.roads.columns_of(self.panel_sides(k))
        if not len(columns):
            return [], []
        ribbons, outline = self.roads.meshes(columns, road_width=self.camera.road_width)
        if ribbons.n_cells:
            ribbons.cell_data["value"] = values[ribbons.cell_data["edge"]]
        layers = [
            Layer("new_roads_outline", outline, color="#111111"),
            Layer("new_roads", ribbons, scalars="value", cmap=self.cmap, clim=self.clim),
        ]
        labels = []
        for name, window, (x, y) in self.roads.places(columns):
            if window is None:
                text = say("new_road", self.lang, name=name)
            else:
                text = say("new_road_open", self.lang, name=name, start=window[0], end=window[1])
            labels.append(Label((float(x), float(y), 30.0), text))
        return layers, labels

    def _closure_layers(self, side: Side, t: float) -> list[Layer]:
        """The city's roads ``side`` closes at ``t`` (seconds after midnight): black over
        the whole road and a little wider (to be seen) when closed to every vehicle, a
        black stripe along its middle when closed to some classes only (the others still
        drive it, in its colour)."""
        every, some = side.closures_at(t)
        layers = []
        for name, ids, share in (("closed", every, 1.6), ("closed_some", some, 0.35)):
            edges = self.roads.city_positions(ids)
            edges = edges[edges >= 0]  # an added road outside its window is not the city's
            if len(edges):
                mesh = self.meshes.road_ribbons(edges, share=share, z=1.8)
                layers.append(Layer(name, mesh, color="#111111"))
        return layers

    def _zone_measure(self, name: str | None) -> Measure | None:
        if name is None:
            return None
        if name != "auto":
            return zone_measure(name)
        has = any(
            len(s.incidents) and np.isfinite(s.incidents["response_time"].to_numpy(float)).any()
            for s in self.sides
        )
        return zone_measure("response_time_mean_s") if has else None

    def _zones(self) -> tuple[list[np.ndarray], tuple[float, float] | None]:
        m = self.zone_measure
        if m is None or self.meshes.zones.n_cells == 0:
            return [], None
        ids = self.meshes.zone_ids
        values = [zone_values(m, s, ids) for s in self.sides]
        if self.options.diff:
            panels = [v - values[0] for v in values[1:]]
            return panels, difference_limits(panels)
        return values, sequential_limits(m, values)

    def _zone_layer(self, k: int) -> Layer | None:
        if not self.zone_panels:
            return None
        m = self.zone_measure
        mesh = self.meshes.zones.copy(deep=False)
        mesh.cell_data["value"] = self.zone_panels[k][mesh.cell_data["polygon"]]
        label = m.label(self.lang)
        legend = say("zones_of", self.lang, what=label)
        if self.options.diff:
            legend = say("zones_of", self.lang, what=say("difference_of", self.lang, what=label))
        return Layer(
            "zones",
            mesh,
            scalars="value",
            cmap=m.difference_cmap() if self.options.diff else m.cmap,
            clim=self.zone_clim,
            legend=legend,
            opacity=0.3,
            nan_color="#e4dfd3",
        )

    # -- tourists --------------------------------------------------------------------------
    def _sites(self) -> pd.DataFrame:
        pois = self.city.pois
        return pois.drop_duplicates("poi_id").set_index("poi_id")[["name", "x", "y"]]

    def _people(self, side: Side, t: float) -> pd.Series:
        """Tourists at or queueing for each site (by poi_id) at time ``t``, per run."""
        visits = side.visits
        if not len(visits) or "poi_id" not in visits.columns:
            return pd.Series(dtype=float)
        arrive = visits["arrive"].to_numpy(float)
        leave = visits["leave"].to_numpy(float)
        missed = visits["missed"].astype(bool).to_numpy() if "missed" in visits else False
        here = (arrive <= t) & (t < leave) & ~missed
        counts = visits.loc[here].groupby("poi_id").size()
        return counts / max(side.replications, 1)

    def _crowding_scale(self) -> float:
        """Metres of column per tourist, the same for every panel and time: the fullest site
        of the window stands an eighth of the view's extent tall, at most
        :data:`MAX_M_PER_TOURIST` metres per tourist (a handful of tourists stays small)."""
        peak = 1.0
        for side in self.sides:
            for t in self.intervals[:: max(1, len(self.intervals) // 24)]:
                people = self._people(side, float(t) + INTERVAL_S / 2.0)
                if len(people):
                    peak = max(peak, float(people.max()))
        return min(self.camera.extent / 8.0 / peak, MAX_M_PER_TOURIST)

    def _crowd_key(self) -> dict[str, float]:
        metres = nice_length(self.camera.extent / 3.0)
        persons = metres / self._crowd_scale
        return {"m": metres, "n": round(persons) if persons >= 10 else round(persons, 1)}

    def _crowding(self, side: Side, t: float) -> tuple[Layer, list[Label]]:
        people = self._people(side, t)
        sites = self._sites()
        people = people[people.index.isin(sites.index)]
        xy = sites.loc[people.index, ["x", "y"]].to_numpy(float)
        heights = people.to_numpy(float) * self._crowd_scale
        mesh = meshes.columns(xy, heights, side=self.camera.road_width * 5.0, z=2.0)
        labels = []
        for poi_id in people.sort_values(ascending=False).index[:4]:
            row = sites.loc[poi_id]
            top = float(people[poi_id]) * self._crowd_scale + 10.0
            labels.append(Label((float(row["x"]), float(row["y"]), top),
                                f"{row['name']}: {people[poi_id]:,.0f}"))  # fmt: skip
        return Layer("crowding", mesh, color="#8e44ad", opacity=0.85), labels

    # -- emergency -------------------------------------------------------------------------
    def _emergency(self, side: Side, t: float) -> list[Layer]:
        layers = []
        stations = side.stations
        if len(stations):
            xy = self.meshes.node_xy(stations["node_id"].to_numpy())
            units = stations["units"].to_numpy(float)
            mesh = meshes.columns(xy, np.maximum(units, 0.5) * self.camera.extent / 400.0,
                                  side=self.camera.road_width * 3.0, z=2.0)  # fmt: skip
            if mesh.n_cells:
                fire = (stations["unit_type"].to_numpy() == "fire_engine").astype(np.int64)
                mesh.cell_data["kind"] = fire[mesh.cell_data["item"]]
                layers.append(
                    Layer(
                        "stations",
                        mesh,
                        scalars="kind",
                        categories=("#1f5fbf", "#c0392b"),
                        clim=(0, 1),
                    )
                )
        incidents = side.incidents
        if len(incidents):
            incidents = incidents[incidents["replication"] == 0]
            call = incidents["call"].to_numpy(float)
            left = incidents["left_scene"].to_numpy(float)
            open_ = (call <= t) & ~(left <= t)
            sites = self.meshes.node_xy(incidents.loc[open_, "node"].to_numpy())
            ok = np.isfinite(sites).all(axis=1)
            z = np.full(ok.sum(), 30.0)
            radius = max(self.camera.road_width * 3.0, 15.0)
            layers.append(
                Layer(
                    "incidents",
                    meshes.markers(np.column_stack([sites[ok], z]), radius=radius),
                    color="#e31a1c",
                )
            )
            depart = incidents["depart"].to_numpy(float)
            scene = incidents["on_scene"].to_numpy(float)
            moving = (depart <= t) & ~(scene <= t)
            layers.extend(self._en_route(side, incidents.loc[moving], t))
        return layers

    def _closed_to_units(self, side: Side, t: float) -> frozenset[int]:
        """Edges (positions in the network the side ran on) closed to emergency units at
        ``t`` (seconds after midnight)."""
        positions = self.roads.positions(side, side.closed_edges_at(t, "emergency"))
        return frozenset(positions[positions >= 0].tolist())

    def _unit_seconds(self, side: Side, t: float) -> tuple[np.ndarray, tuple]:
        """Edge times, seconds, of a unit that left at ``t``, and a key naming them: each
        road at the mean speed the run measured on it in that 15 minutes (free flow where no
        vehicle was measured; never faster), ``inf`` on the roads closed to units then."""
        slot = int(np.clip((t - self.intervals[0]) // INTERVAL_S, 0, len(self.intervals) - 1))
        closed = self._closed_to_units(side, t)
        key = (id(side), slot, closed)
        if key not in self._unit_times:
            net = self.roads.network(side)
            if id(side) not in self._measured_kmh:
                speeds = road_series(measure("speed_kmh"), side, net, self.intervals)
                self._measured_kmh[id(side)] = speeds
            kmh = self._measured_kmh[id(side)][slot]
            seconds = self.unit_routes(side).free_flow.copy()
            ok = np.isfinite(kmh) & (kmh > 0)
            measured = net.length[ok] / (kmh[ok] / 3.6)
            seconds[ok] = np.maximum(measured, seconds[ok])
            seconds[list(closed)] = np.inf
            self._unit_times[key] = seconds
        return self._unit_times[key], key

    def _en_route(self, side: Side, incidents: pd.DataFrame, t: float) -> list[Layer]:
        """Each moving unit's road route from its station to its incident (orange ribbons),
        the fastest on the speeds the run measured when it left (:meth:`_unit_seconds`), and
        the unit on it at ``t`` (seconds after midnight), by the share of its travel time
        gone (:mod:`viz.unit_routes`)."""
        stations = side.stations
        by_name = stations.set_index("name")["node_id"] if len(stations) else pd.Series()
        index = self.meshes.node_index
        start = index.get_indexer(by_name.reindex(incidents["station"]).fillna(-1).astype(np.int64))
        end = index.get_indexer(incidents["node"].to_numpy(np.int64))
        depart = incidents["depart"].to_numpy(float)
        scene = incidents["on_scene"].to_numpy(float)
        share = (t - depart) / np.maximum(scene - depart, 1e-9)
        routes, units = [], []
        for a, b, left, done in zip(
            start.tolist(), end.tolist(), depart.tolist(), share.tolist(), strict=True
        ):
            if a < 0 or b < 0 or a == b:
                continue
            route = self.unit_routes(side).route(a, b, *self._unit_seconds(side, left))
            if route is not None:
                routes.append(route)
                units.append(point_along(route, done))
        counts = np.array([len(r) for r in routes], dtype=np.int64)
        indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        xy = np.concatenate(routes) if routes else np.zeros((0, 2))
        lines = Polylines(edge_id=np.arange(len(routes)), indptr=indptr, xy=xy)
        ribbons = meshes.ribbons(lines, width=self.camera.road_width * 1.5, z=20.0)
        xyz = np.column_stack([np.reshape(units, (-1, 2)), np.full(len(units), 24.0)])
        radius = max(self.camera.road_width * 4.0, 20.0)
        return [
            Layer("en_route", ribbons, color="#ff8c00"),
            Layer("units", meshes.markers(xyz, radius=radius), color="#d35400"),
        ]

    def unit_routes(self, side: Side) -> UnitRoutes:
        """Road routes of ``side``'s emergency units, on the network it ran on (a
        shortest-path tree per station and interval)."""
        net = self.roads.network(side)
        if id(net) not in self._unit_routes:
            self._unit_routes[id(net)] = UnitRoutes(net, self.meshes.shapes.drive)
        return self._unit_routes[id(net)]

    # -- scale -----------------------------------------------------------------------------
    def _scale_origin(self) -> tuple[float, float, float]:
        cam = self.camera
        length = nice_length(cam.extent)
        x = cam.focus[0] - cam.extent * 0.42
        y = cam.focus[1] - cam.extent * 0.22
        return x, y, length

    def _scale_bar(self) -> Layer:
        x, y, length = self._scale_origin()
        mesh = meshes.scale_bar((x, y), length)
        return Layer("scale_bar", mesh, scalars="shade", categories=("#222222", "#f5f5f5"),
                     clim=(0, 1))  # fmt: skip

    def _scale_labels(self) -> list[Label]:
        x, y, length = self._scale_origin()
        text = (
            say("km", self.lang, n=length / 1000.0)
            if length >= 1000
            else say("m", self.lang, n=length)
        )
        return [Label((x + length, y, 5.0), text)]
