"""Views of results: sides and differences, shared colour ranges, presets, bad input."""

from __future__ import annotations

import dataclasses
import json
import shutil

import numpy as np
import pandas as pd
import pytest

from tests.viz.town import BRIDGE_COLUMNS, SPACING
from twin.synthetic import grid_city
from viz.errors import (
    CityMismatchError,
    EmptyResultError,
    ResultsError,
    UnknownMeasureError,
    VizError,
)
from viz.measures import MEASURES, measure, road_series
from viz.results import load_results
from viz.scene import camera
from viz.unit_routes import point_along
from viz.views import View, ViewOptions


@pytest.fixture(scope="module")
def results(comparison):
    return load_results([comparison])


def _bridge(city, name="Cầu Một"):
    return np.flatnonzero(city.drive.name == name)


def test_a_comparison_gives_its_base_and_option(results):
    base, option = results.sides
    assert (base.name, option.name) == ("base", "closed")
    assert base.title["vi"] == "Ngày thường" and base.replications == 2
    assert list(base.links.columns) == ["edge_id", "interval_start", "entries",
                                        "mean_speed_kmh", "queue_pcu"]  # fmt: skip
    assert len(option.closed_edges) == 2  # both directions of Cầu Một
    assert len(base.visits) and "replication" in base.visits
    assert base.window == (25200.0, 27900.0) and 0.2 < base.mean_pcu < 1.0


def test_every_scene_has_one_mesh_per_layer(river_town, results):
    view = View(river_town, results, ViewOptions())
    scenes = view.scenes(1)
    assert len(scenes) == 2
    for scene in scenes:
        names = [layer.name for layer in scene.layers]
        assert len(names) == len(set(names))
        assert {"roads", "buildings", "water", "pois", "zones", "stations"} <= set(names)
        roads = scene.layer("roads")
        assert roads.mesh.n_cells == river_town.drive.n_edges  # straight edges: one quad each
        assert roads.mesh.cell_data["value"].shape == (roads.mesh.n_cells,)
        assert scene.layer("new_roads") is None  # no scenario added a road
        assert not any("roads the scenario adds" in line for line in scene.key)
    assert scenes[0].layer("roads").clim == scenes[1].layer("roads").clim == (0.0, 1.0)


@pytest.mark.parametrize("name", list(MEASURES))
def test_road_measures_have_sensible_values(river_town, results, name):
    m = measure(name)
    series = road_series(m, results.sides[0], river_town.drive, results.sides[0].intervals)
    assert series.shape == (3, river_town.drive.n_edges)
    finite = series[np.isfinite(series)]
    assert len(finite) and (finite >= 0).all()
    if m.additive:
        assert np.isfinite(series).all()  # a road without traffic counts zero
    if name == "speed_ratio":
        assert finite.max() <= 1.0


def test_the_closed_bridge_is_a_difference_where_the_bridge_is(river_town, results):
    view = View(river_town, results, ViewOptions(color="entries", diff=True))
    (panel,) = view.panels
    bridge = _bridge(river_town)
    other = _bridge(river_town, "Cầu Hai")
    assert (panel[:, bridge] < 0).all()  # nobody crosses the closed bridge
    assert panel[:, other].sum() > 0  # its traffic takes the other one
    low, high = view.clim
    assert low == -high and high > 0
    assert view.titles[0].startswith("Cầu Một closed")
    assert view.cmap == "RdBu"
    speed = View(river_town, results, ViewOptions(color="speed_ratio", diff=True))
    assert speed.cmap == "RdBu" and measure("queue_pcu").difference_cmap() == "RdBu_r"


def test_zone_surface_shows_response_times_when_there_were_incidents(river_town, results):
    view = View(river_town, results, ViewOptions(zones="incidents"))
    zones = view.scenes(0)[0].layer("zones")
    assert zones is not None and zones.mesh.n_cells > 0
    assert set(zones.mesh.cell_data["polygon"]) == {0, 1, 2, 3}
    none = View(river_town, results, ViewOptions(zones=None))
    assert none.scenes(0)[0].layer("zones") is None


def test_tourists_at_sites_are_columns_through_the_day(river_town, results):
    view = View(river_town, results, ViewOptions())
    heights = []
    for index in range(len(view.intervals)):
        crowd = view.scenes(index)[0].layer("crowding")
        heights.append(0.0 if crowd is None else crowd.mesh.bounds[5])
    assert max(heights) > 2.0  # somebody was at a site at some time


def test_time_is_chosen_by_clock(river_town, results):
    view = View(river_town, results, ViewOptions())
    assert view.index_at("07:20") == 1 and view.index_at(7 * 3600) == 0
    assert 0 <= view.index_at(None) < 3
    assert view.scenes(2)[0].clock == "07:30–07:45"
    with pytest.raises(VizError, match="outside the results' window 07:00:00–07:45:00"):
        view.index_at("09:00")
    with pytest.raises(VizError, match="not a time"):
        view.index_at("noon")


def test_camera_presets(river_town):
    citadel = camera(river_town, "citadel")
    gate = river_town.pois.set_index("name").loc["Ngọ Môn"]
    assert np.hypot(citadel.focus[0] - gate["x"], citadel.focus[1] - gate["y"]) < 1000
    crossings = camera(river_town, "crossings")
    bridges = river_town.geometry.drive
    middle_y = np.mean([bridges.line(int(e)).mean(axis=0)[1] for e in _bridge(river_town)])
    assert abs(crossings.focus[1] - middle_y) < 1.0 and len(BRIDGE_COLUMNS) == 2
    assert camera(river_town, "city").extent >= 1000
    with pytest.raises(VizError, match="the presets are city, citadel, crossings"):
        camera(river_town, "moon")
    with pytest.raises(VizError, match="no POI named Ngọ Môn"):
        camera(grid_city(), "citadel")


def test_an_unknown_measure_names_the_closest(river_town, results):
    with pytest.raises(UnknownMeasureError, match="did you mean 'speed_ratio'"):
        View(river_town, results, ViewOptions(color="speed_ration"))
    with pytest.raises(UnknownMeasureError, match="zone measure"):
        View(river_town, results, ViewOptions(zones="respons"))


def test_runs_of_two_cities_are_refused(run_dirs, tmp_path):
    base, option = run_dirs
    other = tmp_path / "other"
    shutil.copytree(option, other)
    manifest = json.loads((other / "manifest.json").read_text())
    manifest["spec"]["city"]["checksum"] = "0" * 64
    (other / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CityMismatchError, match="different cities"):
        load_results([base, other])


def test_results_of_another_city_than_the_one_given_are_refused(run_dirs):
    with pytest.raises(CityMismatchError, match="another city"):
        View(grid_city(), load_results([run_dirs[0]]), ViewOptions())


def test_an_empty_run_is_refused(run_dirs, tmp_path):
    empty = tmp_path / "empty"
    shutil.copytree(run_dirs[0], empty)
    links = pd.read_parquet(empty / "links.parquet")
    links.iloc[:0].to_parquet(empty / "links.parquet")
    with pytest.raises(EmptyResultError, match="recorded no traffic"):
        load_results([empty])


def test_folders_that_are_not_results_are_refused(comparison, run_dirs, tmp_path):
    with pytest.raises(ResultsError, match="neither a run folder"):
        load_results([tmp_path])
    with pytest.raises(ResultsError, match="give it alone"):
        load_results([comparison, run_dirs[0]])
    with pytest.raises(ResultsError, match="2 to 4"):
        load_results([run_dirs[0]] * 5)


def test_two_runs_side_by_side_and_their_difference(river_town, run_dirs):
    results = load_results(list(run_dirs))
    assert [s.name for s in results.sides] == ["r000 (1)", "r000 (2)"]
    view = View(river_town, results, ViewOptions(color="entries", diff=True))
    assert (view.panels[0][:, _bridge(river_town)] < 0).any()
    with pytest.raises(VizError, match="--diff needs a base and an option"):
        View(river_town, load_results([run_dirs[0]]), ViewOptions(diff=True))


def test_units_on_their_way_are_drawn_on_the_roads_they_take(river_town, results):
    view = View(river_town, results, ViewOptions())
    side = results.sides[0]
    incidents = side.incidents[side.incidents["replication"] == 0]
    stations = side.stations.set_index("name")["node_id"]
    # halfway through the first unit's trip, every unit then on its way
    first = incidents.loc[incidents["on_scene"] > incidents["depart"]].iloc[0]
    t = (first["depart"] + first["on_scene"]) / 2.0
    on_way = incidents[(incidents["depart"] <= t) & ~(incidents["on_scene"] <= t)]
    layers = {layer.name: layer for layer in view._emergency(side, t)}
    units = layers["units"]
    assert set(units.mesh.cell_data["item"]) == set(range(len(on_way)))
    assert layers["en_route"].mesh.n_cells > 0
    drive, routes = river_town.drive, view.unit_routes(side)
    on_roads = {tuple(p) for p in np.round(routes.lines.xy, 6)}
    free_flow = drive.length / drive.speed
    for i, (_, unit) in enumerate(on_way.iterrows()):
        start = int(np.flatnonzero(drive.node_id == stations[unit["station"]])[0])
        end = int(np.flatnonzero(drive.node_id == unit["node"])[0])
        # the fastest at the speeds measured on each road in the 15 minutes it left
        slot = side.links["interval_start"] == view.intervals[0] + 900.0 * (
            (unit["depart"] - view.intervals[0]) // 900.0
        )
        measured = side.links[slot & (side.links["mean_speed_kmh"] > 0)]
        at = pd.Index(drive.edge_id).get_indexer(measured["edge_id"])
        seconds = free_flow.copy()
        seconds[at] = np.maximum(
            drive.length[at] / (measured["mean_speed_kmh"].to_numpy() / 3.6), seconds[at]
        )
        assert len(measured) and (seconds > free_flow).any()
        route = routes.route(start, end, seconds)
        assert np.array_equal(
            route, routes.route(start, end, *view._unit_seconds(side, unit["depart"]))
        )
        # it leaves the station and reaches the incident along road lines only
        assert np.allclose(route[0], [drive.x[start], drive.y[start]])
        assert np.allclose(route[-1], [drive.x[end], drive.y[end]])
        assert all(tuple(p) in on_roads for p in np.round(route, 6))
        # and the unit stands where its share of the travel time puts it
        share = (t - unit["depart"]) / (unit["on_scene"] - unit["depart"])
        sphere = units.mesh.extract_cells(np.flatnonzero(units.mesh.cell_data["item"] == i))
        assert np.allclose(sphere.center[:2], point_along(route, share), atol=1e-6)


def test_a_point_along_a_line_goes_by_length():
    corner = np.array([[0.0, 0.0], [30.0, 0.0], [30.0, 10.0]])
    assert point_along(corner, 0.0).tolist() == [0.0, 0.0]
    assert point_along(corner, 0.75).tolist() == [30.0, 0.0]
    assert point_along(corner, 0.5).tolist() == [20.0, 0.0]
    assert point_along(corner, 1.5).tolist() == [30.0, 10.0]


def test_units_keep_off_the_roads_closed_to_them(river_town, results):
    view = View(river_town, results, ViewOptions())
    base, option = results.sides
    bridge = frozenset(_bridge(river_town).tolist())
    assert view._closed_to_units(option, 26000.0) == bridge
    assert view._closed_to_units(base, 26000.0) == frozenset()
    closed, _ = view._unit_seconds(option, 26000.0)
    assert (
        np.isinf(closed[list(bridge)]).all() and np.isfinite(np.delete(closed, list(bridge))).all()
    )
    drive, routes = river_town.drive, view.unit_routes(option)
    e = min(bridge)
    tail, head = int(drive.tail[e]), int(drive.indices[e])
    across = routes.route(tail, head)
    assert np.allclose(across, routes.lines.line(e))  # straight over Cầu Một
    seconds = routes.free_flow.copy()
    seconds[list(bridge)] = np.inf
    around = routes.route(tail, head, seconds)
    length = np.hypot(*np.diff(around, axis=0).T).sum()
    assert length > 2 * drive.length[e]  # by Cầu Hai
    middle = routes.lines.line(e).mean(axis=0)
    assert np.hypot(*(around - middle).T).min() > 1.0


def test_closures_apply_to_units_in_their_window_and_classes(results):
    base = results.sides[0]
    side = dataclasses.replace(
        base,
        interventions=(
            {"kind": "close_links", "edges": [7, 3], "from": "07:10", "until": "07:20"},
            {"kind": "close_links", "edges": [5], "classes": ["car"]},
            {"kind": "close_links", "edges": [9], "classes": ["car", "emergency"]},
            {"kind": "change_links", "edges": [11], "speed_factor": 0.5},
        ),
    )
    assert side.closed_edges_at(25800.0, "emergency").tolist() == [3, 7, 9]
    assert side.closed_edges_at(26400.0, "emergency").tolist() == [9]  # 07:20: reopened
    assert side.closed_edges_at(26400.0, "car").tolist() == [5, 9]
    assert side.closed_edges.tolist() == [3, 5, 7, 9]


# -- roads a scenario added -----------------------------------------------------------------
@pytest.fixture(scope="module")
def bridged_results(bridged):
    return load_results([bridged])


def _new_bridge(side):
    (road,) = [item for item in side.interventions if item["kind"] == "add_road"]
    return road


def test_a_road_a_scenario_added_is_drawn_on_its_panels(river_town, bridged_results):
    closed, bridged = bridged_results.sides
    road = _new_bridge(bridged)
    assert closed.added_roads == [] and len(bridged.added_roads) == 2
    view = View(river_town, bridged_results, ViewOptions(color="entries", lang="vi"))
    columns = view.roads.edge_ids.tolist()
    assert columns[: river_town.drive.n_edges] == river_town.drive.edge_id.tolist()
    assert sorted(columns[river_town.drive.n_edges :]) == sorted(road["edge_ids"])
    # every interval's colour is the vehicles the run counted entering the new bridge
    links = bridged.links.set_index(["edge_id", "interval_start"])["entries"]
    drove = 0.0
    for index, start in enumerate(view.intervals):
        without, with_bridge = view.scenes(index)
        assert without.layer("new_roads") is None and without.layer("new_roads_outline") is None
        ribbons = with_bridge.layer("new_roads")
        assert ribbons.clim == with_bridge.layer("roads").clim and ribbons.cmap == "viridis"
        assert with_bridge.layer("new_roads_outline").mesh.n_cells == ribbons.mesh.n_cells == 2
        for cell, column in enumerate(ribbons.mesh.cell_data["edge"]):
            expected = links.get((int(view.roads.edge_ids[column]), start), 0.0)
            assert ribbons.mesh.cell_data["value"][cell] == pytest.approx(expected)
            drove += expected
        # the key (drawn once, under the first panel) says what the outline means
        assert "viền đen: đường mới của kịch bản" in without.key == with_bridge.key
    assert drove > 0  # with Cầu Một closed, traffic takes the new bridge
    # drawn between its two ends, and named there
    ends = view.meshes.node_xy(np.array([road["from_node"], road["to_node"]]))
    bounds = view.scenes(0)[1].layer("new_roads").mesh.bounds
    assert bounds[2] == pytest.approx(ends[:, 1].min()) and bounds[3] == pytest.approx(
        ends[:, 1].max()
    )
    assert abs((bounds[0] + bounds[1]) / 2.0 - ends[0, 0]) < view.camera.road_width * 4.0
    (label,) = [lab for lab in view.scenes(0)[1].labels if lab.text == "mới: Cầu Mới"]
    assert np.allclose(label.xyz[:2], ends[np.argmax(ends[:, 1])])  # at its end, off the road


def test_the_difference_on_an_added_road_is_against_no_road(river_town, bridged_results):
    _, bridged = bridged_results.sides
    ids = _new_bridge(bridged)["edge_ids"]
    at = np.flatnonzero(np.isin(View(river_town, bridged_results, ViewOptions()).roads.edge_ids,
                                ids))  # fmt: skip
    entries = View(river_town, bridged_results, ViewOptions(color="entries", diff=True))
    (panel,) = entries.panels
    option = entries.road_series(measure("entries"), bridged)
    assert np.array_equal(panel[:, at], option[:, at]) and panel[:, at].sum() > 0
    assert entries.scenes(0)[0].layer("new_roads") is not None
    speed = View(river_town, bridged_results, ViewOptions(color="speed_ratio", diff=True))
    assert np.isnan(speed.panels[0][:, at]).all()  # no speed to compare on a road not built


def test_units_take_an_added_road_in_its_window(river_town, bridged_results):
    closed, bridged = bridged_results.sides
    road = _new_bridge(bridged)
    view = View(river_town, bridged_results, ViewOptions())
    south, north = view.meshes.node_index.get_indexer([road["from_node"], road["to_node"]])
    net = view.roads.network(bridged)
    across = view.unit_routes(bridged).route(south, north, *view._unit_seconds(bridged, 25500.0))
    assert np.allclose(across, [[net.x[south], net.y[south]], [net.x[north], net.y[north]]])
    around = view.unit_routes(closed).route(south, north, *view._unit_seconds(closed, 25500.0))
    assert np.hypot(*np.diff(around, axis=0).T).sum() > 3 * SPACING  # by Cầu Hai
    # a road open from 07:10 only is closed to units before then
    later = dataclasses.replace(bridged, interventions=({**road, "from": "07:10"},))
    assert later.closed_edges_at(25500.0, "emergency").tolist() == sorted(road["edge_ids"])
    assert later.closed_edges_at(26000.0, "emergency").tolist() == []
    # and its label says when it opens
    results = dataclasses.replace(bridged_results, sides=(closed, later))
    labels = [label.text for label in View(river_town, results, ViewOptions()).scenes(0)[1].labels]
    assert "new: Cầu Mới, open 07:10–" in labels and "new: Cầu Mới" not in labels


def test_the_report_names_an_added_road_among_the_places_that_change(river_town, bridged_results):
    from viz.report import _places

    view = View(river_town, bridged_results, ViewOptions(color="entries", diff=True))
    names = [name for name, _, _ in _places(view, river_town, "en", n=3)]
    assert "Cầu Mới" in names


def test_a_run_folder_draws_the_road_its_scenario_added(river_town, bridged):
    results = load_results([bridged / "runs" / "bridged" / "r000"])
    (side,) = results.sides
    view = View(river_town, results, ViewOptions(color="entries"))
    (scene,) = view.scenes(view.index_at(None))
    ribbons = scene.layer("new_roads")
    assert ribbons is not None and ribbons.mesh.n_cells == 2
    ids = view.roads.edge_ids[ribbons.mesh.cell_data["edge"]]
    assert sorted(ids.tolist()) == sorted(_new_bridge(side)["edge_ids"])


# -- roads closed ------------------------------------------------------------------------------
def test_closures_at_a_time_are_to_every_vehicle_or_to_some(results):
    side = dataclasses.replace(
        results.sides[0],
        vehicle_classes=("motorbike", "car", "bus", "truck", "emergency"),
        interventions=(
            {"kind": "close_links", "edges": [1]},
            {"kind": "close_links", "edges": [2, 3], "classes": ["motorbike", "car"]},
            {"kind": "close_links", "edges": [3], "classes": ["bus", "truck", "emergency"]},
            {"kind": "close_links", "edges": [4], "from": "07:30"},
            {
                "kind": "add_road",
                "from_node": 1,
                "to_node": 2,
                "road_class": "secondary",
                "edge_ids": [8, 9],
                "from": "07:10",
            },
        ),
    )
    every, some = side.closures_at(25500.0)  # 07:05
    assert every.tolist() == [1, 3, 8, 9] and some.tolist() == [2]  # 3: closed to each class
    every, some = side.closures_at(27100.0)  # 07:31: the new road open, edge 4 closed
    assert every.tolist() == [1, 3, 4] and some.tolist() == [2]
    assert side.closed_edges_at(25500.0, "bus").tolist() == [1, 3, 8, 9]
    assert side.closed_edges_at(25500.0, "car").tolist() == [1, 2, 3, 8, 9]


def test_a_closed_road_is_black_and_a_road_closed_to_some_vehicles_has_a_black_stripe(
    river_town, results
):
    base, option = results.sides
    view = View(river_town, results, ViewOptions())
    closed_scene = view.scenes(0)[1]
    bridge = set(_bridge(river_town).tolist())  # Cầu Một, closed all window to everyone
    layer = closed_scene.layer("closed")
    assert layer.color == "#111111" and set(layer.mesh.cell_data["edge"]) == bridge
    assert closed_scene.layer("closed_some") is None and view.scenes(0)[0].layer("closed") is None
    # drawn over the road, a little wider, above it
    roads = closed_scene.layer("roads").mesh
    on_bridge = roads.extract_cells(np.flatnonzero(np.isin(roads.cell_data["edge"], list(bridge))))
    (x0, x1, y0, y1), (u0, u1, v0, v1) = layer.mesh.bounds[:4], on_bridge.bounds[:4]
    assert x0 < u0 < u1 < x1 and (y0, y1) == pytest.approx((v0, v1))  # the bridge runs north
    assert layer.mesh.bounds[4] > on_bridge.bounds[5]
    key = "black: road closed to all · black stripe: closed to some vehicles"
    assert all(any(line.startswith(key) for line in s.key) for s in view.scenes(0))
    # a flood-like closure of Cầu Hai to motorbikes and cars only: a stripe down its middle
    other = set(_bridge(river_town, "Cầu Hai").tolist())
    ids = river_town.drive.edge_id[list(other)].tolist()
    flood = {"kind": "close_links", "classes": ["motorbike", "car"], "edges": ids}
    flooded = dataclasses.replace(option, interventions=(flood,))
    view = View(river_town, dataclasses.replace(results, sides=(base, flooded)), ViewOptions())
    scene = view.scenes(0)[1]
    assert scene.layer("closed") is None
    stripe = scene.layer("closed_some").mesh
    assert set(stripe.cell_data["edge"]) == other
    for e in other:  # each direction's ribbon runs north-south: its stripe is inside it
        road = roads.extract_cells(np.flatnonzero(roads.cell_data["edge"] == e)).bounds
        line = stripe.extract_cells(np.flatnonzero(stripe.cell_data["edge"] == e)).bounds
        assert road[0] < line[0] < line[1] < road[1]
        assert line[1] - line[0] == pytest.approx(0.35 * (road[1] - road[0]))
        assert line[0] + line[1] == pytest.approx(road[0] + road[1])  # along its middle
    assert view.scenes(0)[0].layer("closed_some") is None
    # a difference shows what the closure changed (the bridge red: fewer vehicles) instead
    diff = View(river_town, results, ViewOptions(diff=True)).scenes(0)[0]
    assert diff.layer("closed") is None and not any(line.startswith(key) for line in diff.key)


def test_a_view_without_closures_says_nothing_of_them(river_town, bridged):
    results = load_results([bridged])
    plain = dataclasses.replace(
        results, sides=tuple(dataclasses.replace(s, interventions=()) for s in results.sides)
    )
    view = View(river_town, plain, ViewOptions())
    assert not any(line.startswith("black: road closed") for line in view.scenes(0)[0].key)
