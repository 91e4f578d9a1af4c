"""Compiling a scenario on a city: from planners' words to a run specification.

:func:`compile_scenario` turns a :class:`~scenarios.scenario.Scenario` into a
:class:`~sim.spec.RunSpec` for a city: the parameter sections become override layers of the
families, and each ``[[intervention]]`` becomes the engine's interventions
(:mod:`sim.interventions`) — roads found by name, way id or area, points snapped to drive
nodes, a flood's depth turned into the vehicle classes it stops (:mod:`scenarios.flood`), an
event into its visitors' trips and the roads closed around it. Every problem (a road name
that matches nothing, a polygon outside the city, a station off the network …) is reported
at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scenarios.flood import classes_stopped, depth_limits
from scenarios.places import areas_of, edges_in, node_near, place_node, roads_of
from scenarios.problems import Problem, Problems, ScenarioError
from scenarios.scenario import FAMILY_OF_SECTION, Scenario
from sim.city_profile import profile_layers
from sim.interventions import (
    AddRoad,
    AddStation,
    ChangeLinks,
    ChangeSite,
    CloseLinks,
    EventTrips,
    Intervention,
    MoveStation,
    RemoveStation,
    SetStationUnits,
    StationSpec,
)
from sim.parameters import Layer, assignment, resolve_all
from sim.spec import RunSpec
from sim.spec_builder import build_spec, city_stations
from twin.city import City
from twin.clock import parse_clock
from twin.errors import TwinError

__all__ = ["compile_scenario"]


def compile_scenario(
    scenario: Scenario,
    city: City,
    *,
    seed: int | None = None,
    bundle: str | Path | None = None,
    settings: Sequence[str] = (),
) -> RunSpec:
    """The run specification of ``scenario`` on ``city``.

    Parameters
    ----------
    scenario
        A scenario from :func:`scenarios.scenario.load_scenario`.
    city
        The city it runs on.
    seed
        The seed (default: the scenario's; a comparison gives replication ``i`` the seed
        ``base seed + i`` on every side).
    bundle
        The ``.twin`` file the city came from (``None``: the default city).
    settings
        ``family.key=value`` assignments laid over the scenario (``twin run --set``).

    Raises
    ------
    ScenarioError
        Every problem at once, each naming the file and the key path.
    """
    problems = Problems(scenario.label)
    layers = []
    for section, family in FAMILY_OF_SECTION.items():
        values = scenario.section(section)
        if section == "demand":
            values.pop("trips", None)
        if values:
            layers.append((family, Layer(f"{scenario.label} [{section}]", values)))
    for text in settings:
        try:
            family, values = assignment(text)
        except TwinError as exc:
            problems.add("--set", str(exc))
            continue
        layers.append((family, Layer("--set", values)))
    try:
        # As build_spec will: the city's profile first, then the scenario and --set.
        parameters = resolve_all([*profile_layers(city), *layers])
    except TwinError as exc:
        problems.add("parameters", str(exc))
        problems.raise_if_any()
    compiler = _Compiler(scenario, city, parameters, problems)
    items: list[Intervention] = []
    for k, item in enumerate(scenario.interventions, start=1):
        items.extend(compiler.intervention(item, f"intervention[{k}]"))
    problems.raise_if_any()
    trips = scenario.section("demand").get("trips")
    try:
        return build_spec(
            city,
            seed=scenario.seed if seed is None else seed,
            start=scenario.start,
            end=scenario.end,
            overrides=layers,
            interventions=items,
            stations=compiler.stations,
            trips=trips,
            bundle=bundle,
        )
    except TwinError as exc:
        raise ScenarioError([Problem(scenario.label, "scenario", str(exc))]) from None


class _Compiler:
    """Turns ``[[intervention]]`` tables into the engine's interventions, noting problems."""

    def __init__(self, scenario: Scenario, city: City, parameters: dict, problems: Problems):
        self.scenario, self.city, self.problems = scenario, city, problems
        self.classes = [v["vehicle_class"] for v in parameters["vehicles"]]
        self.max_snap_m = float(parameters["emergency"]["stations"]["max_snap_m"])
        self.stations = city_stations(city, parameters["emergency"])
        self.station_names = {s.name for s in self.stations}
        self._sites: set[str] | None = None
        self._tourist_parameters = parameters["tourists"]

    def intervention(self, item: dict[str, Any], key: str) -> list[Intervention]:
        kind = item["type"]
        window = {
            "start": self._time(item, "from"),
            "until": self._time(item, "until"),
            "label": str(item.get("label", "")),
        }
        before = len(self.problems.found)
        try:
            made = getattr(self, f"_{kind}")(item, key, window)
        except TwinError as exc:
            self.problems.add(key, str(exc))
            return []
        return made if len(self.problems.found) == before else []

    # -- roads ---------------------------------------------------------------------------
    def _edge_ids(self, positions: np.ndarray) -> tuple[int, ...]:
        return tuple(int(e) for e in self.city.drive.edge_id[positions])

    def _close_road(self, item, key, window):
        classes = tuple(item.get("classes", ()))
        self._check_classes(classes, f"{key}.classes")
        edges = roads_of(item, self.city, self.problems, key)
        if not len(edges):
            return []
        label = window.pop("label") or str(item.get("road", item.get("way", "area")))
        return [CloseLinks(edges=self._edge_ids(edges), classes=classes, label=label, **window)]

    def _change_road(self, item, key, window):
        edges = roads_of(item, self.city, self.problems, key)
        if not len(edges):
            return []
        label = window.pop("label") or str(item.get("road", item.get("way", "area")))
        made: list[Intervention] = []
        towards = item.get("oneway_towards")
        if towards is not None:
            away = self._pointing_away(edges, towards, f"{key}.oneway_towards")
            if len(away):
                made.append(
                    CloseLinks(edges=self._edge_ids(away), label=f"{label} one-way", **window)
                )
        changes = {
            k: item[k]
            for k in (
                "speed_kmh", "speed_factor", "lanes", "capacity_pcu_h", "capacity_factor",
                "storage_factor",
            )
            if k in item
        }  # fmt: skip
        if changes:
            made.append(ChangeLinks(edges=self._edge_ids(edges), label=label, **changes, **window))
        if not made:
            self.problems.add(
                key,
                "change_road changes nothing; give speed_kmh, lanes, capacity_pcu_h (or a "
                "factor), storage_factor or oneway_towards",
            )
        return made

    def _pointing_away(self, edges: np.ndarray, towards: Any, key: str) -> np.ndarray:
        node = node_near(self.city, {"point": towards}, self.problems, key, max_snap_m=float("inf"))
        if node is None:
            return np.zeros(0, dtype=np.int64)
        net = self.city.drive
        target = int(np.flatnonzero(net.node_id == node)[0])
        x, y = net.x[target], net.y[target]
        tail, head = net.tail[edges], net.indices[edges]
        farther = np.hypot(net.x[head] - x, net.y[head] - y) > np.hypot(
            net.x[tail] - x, net.y[tail] - y
        )
        return edges[farther]

    def _add_road(self, item, key, window):
        ends = [
            node_near(
                self.city, item, self.problems, key, point_key=f"{side}_point",
                node_key=f"{side}_node", max_snap_m=self.max_snap_m,
            )
            for side in ("from", "to")
        ]  # fmt: skip
        road_class = item.get("road_class")
        if road_class not in self.city.drive.road_classes:
            self.problems.add(
                f"{key}.road_class",
                f"road_class = {road_class!r}; give one of {list(self.city.drive.road_classes)}",
            )
        if None in ends or road_class not in self.city.drive.road_classes:
            return []
        values = {k: item[k] for k in ("lanes", "speed_kmh", "length_m", "both_ways", "bridge")
                  if k in item}  # fmt: skip
        return [
            AddRoad(
                from_node=ends[0],
                to_node=ends[1],
                road_class=road_class,
                name=str(item.get("name", window["label"] or "new road")),
                **values,
                **window,
            )
        ]

    def _flood(self, item, key, window):
        default = item.get("depth_m")
        if default is not None and (
            isinstance(default, bool) or not isinstance(default, int | float) or default <= 0
        ):
            self.problems.add(f"{key}.depth_m", f"depth_m = {default!r}; give metres > 0")
            return []
        made = []
        label = window.pop("label") or "flood"
        for area in areas_of(item, self.city, self.problems, key):
            depth = area.depth_m if area.depth_m is not None else default
            if depth is None:
                self.problems.add(
                    f"{key}.depth_m", "give the water's depth in metres (depth_m = 0.3)"
                )
                continue
            stopped = classes_stopped(float(depth), self.classes)
            if not stopped:
                lowest = depth_limits().iloc[0]
                self.problems.add(
                    f"{key}.depth_m",
                    f"{depth} m of water stops no vehicle class (the lowest limit is "
                    f"{lowest} m, scenarios/defaults/flood_depths.csv); give a deeper flood",
                )
                continue
            edges = edges_in(self.city, area.polygon)
            made.append(
                CloseLinks(
                    edges=self._edge_ids(edges),
                    classes=stopped,
                    label=f"{label} {depth:g} m",
                    **window,
                )
            )
        return made

    # -- stations ------------------------------------------------------------------------
    def _station_name(self, item, key) -> str | None:
        name = item.get("name")
        if not isinstance(name, str) or name not in self.station_names:
            import difflib

            close = difflib.get_close_matches(str(name), sorted(self.station_names), n=3)
            self.problems.add(
                f"{key}.name",
                f"no station named {name!r}"
                + (f"; did you mean {' or '.join(map(repr, close))}?" if close else "")
                + " (stations are the city's hospitals and fire stations by name, and the "
                "ones added before)",
            )
            return None
        return name

    def _add_station(self, item, key, window):
        name, unit_type = item.get("name"), item.get("unit_type", "ambulance")
        if not isinstance(name, str) or not name:
            self.problems.add(f"{key}.name", "give the new station a name")
            return []
        if name in self.station_names:
            self.problems.add(f"{key}.name", f"a station named {name!r} exists; give another")
            return []
        node = node_near(self.city, item, self.problems, key, max_snap_m=self.max_snap_m)
        if node is None:
            return []
        self.station_names.add(name)
        station = StationSpec(name, unit_type, node, item.get("units", 1))
        return [AddStation(station=station, **window)]

    def _move_station(self, item, key, window):
        name = self._station_name(item, key)
        node = node_near(self.city, item, self.problems, key, max_snap_m=self.max_snap_m)
        return (
            [] if name is None or node is None else [MoveStation(name=name, node_id=node, **window)]
        )

    def _remove_station(self, item, key, window):
        name = self._station_name(item, key)
        return [] if name is None else [RemoveStation(name=name, **window)]

    def _station_units(self, item, key, window):
        name = self._station_name(item, key)
        return (
            [] if name is None else [SetStationUnits(name=name, units=item.get("units"), **window)]
        )

    # -- tourists ------------------------------------------------------------------------
    def _event(self, item, key, window):
        if "place" in item:
            node = place_node(self.city, str(item["place"]), self.problems, f"{key}.place")
        else:
            node = node_near(self.city, item, self.problems, key, max_snap_m=self.max_snap_m)
        if node is None:
            return []
        label = window.pop("label") or str(item.get("place", "event"))
        closed, drop_nodes = [], ()
        radius = item.get("close_radius_m")
        if radius is not None:
            if isinstance(radius, bool) or not isinstance(radius, int | float) or radius <= 0:
                self.problems.add(f"{key}.close_radius_m", f"{radius!r}; give metres > 0")
                return []
            closed, drop_nodes = self._closed_around(node, float(radius))
        made: list[Intervention] = [
            EventTrips(
                node_id=node,
                visitors=item.get("visitors", 0),
                persons_per_vehicle=item.get("persons_per_vehicle", 1.5),
                drop_nodes=drop_nodes,
                label=label,
                **window,
            )
        ]
        if len(closed):
            made.append(
                CloseLinks(edges=self._edge_ids(closed), label=f"{label}: roads closed", **window)
            )
        return made

    def _closed_around(self, node: int, radius: float) -> tuple[np.ndarray, tuple[int, ...]]:
        """The drive edges (positions) within ``radius`` metres of drive node ``node`` (an
        id), and the ids of their ends beyond it, where an event's visitors stop."""
        import shapely

        net = self.city.drive
        where = int(np.flatnonzero(net.node_id == node)[0])
        x, y = net.x[where], net.y[where]
        edges = edges_in(self.city, shapely.Point(x, y).buffer(radius))
        ends = np.unique(np.concatenate([net.tail[edges], net.indices[edges]]))
        outside = ends[np.hypot(net.x[ends] - x, net.y[ends] - y) > radius]
        return edges, tuple(int(n) for n in net.node_id[outside])

    def _site_name(self, item, key) -> str | None:
        site = item.get("site")
        sites = self._site_names()
        if site not in sites:
            import difflib

            close = difflib.get_close_matches(str(site), sorted(sites), n=3)
            self.problems.add(
                f"{key}.site",
                f"no tourist site named {site!r} in {self.city.name}"
                + (f"; did you mean {' or '.join(map(repr, close))}?" if close else "")
                + " (sites are named as in the attraction table)",
            )
            return None
        return site

    def _site_names(self) -> set[str]:
        if self._sites is None:
            from sim.tourists.params import tourist_params_from_data
            from twin.attractions.sites import resolve_attractions

            params = tourist_params_from_data(self._tourist_parameters, where="tourism")
            table = params.site_table()
            sites = resolve_attractions(self.city, table, other_sites=params.other_sites)
            self._sites = set(sites["site"].astype(str))
        return self._sites

    def _close_site(self, item, key, window):
        site = self._site_name(item, key)
        return [] if site is None else [ChangeSite(site=site, closed=True, **window)]

    def _site_capacity(self, item, key, window):
        site = self._site_name(item, key)
        if site is None:
            return []
        return [
            ChangeSite(
                site=site, capacity=item.get("capacity"), gate_per_min=item.get("gate_per_min"),
                **window,
            )
        ]  # fmt: skip

    # -- helpers -------------------------------------------------------------------------
    def _time(self, item: dict, name: str) -> float | None:
        if name not in item:
            return None
        return parse_clock(item[name], what=name, error=TwinError, latest=2 * 86_400.0)

    def _check_classes(self, classes: tuple[str, ...], key: str) -> None:
        unknown = [c for c in classes if c not in self.classes]
        if unknown:
            self.problems.add(
                key, f"vehicle classes {unknown} unknown; the classes are {self.classes}"
            )
