"""Coverage: travel times from stations, congestion by hour, shares of residents covered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import simpy

from kernels import dijkstra
from sim.emergency.coverage import (
    HourlyRoads,
    RoadGraph,
    coverage_by_hour,
    coverage_by_zone,
    hourly_link_times,
    planning_link_times,
)
from sim.emergency.params import load_emergency_params
from twin.errors import ConfigError
from twin.network import Network
from twin.synthetic import grid_city

PARAMS = load_emergency_params()  # speed factor 1.2, congestion delay share 0.5


def _manhattan(grid, node):
    col, row = np.arange(25) % 5, np.arange(25) // 5
    return np.abs(col - node % 5) + np.abs(row - node // 5)


def test_road_graph_matches_dijkstra(grid):
    rng = np.random.default_rng(0)
    w = rng.uniform(5, 50, grid.drive.n_edges)
    graph = RoadGraph(grid.drive)
    many = graph.times_from(w, [0, 7, 24])
    for k, source in enumerate([0, 7, 24]):
        cost, _ = dijkstra(grid.drive.indptr, grid.drive.indices, w, source)
        assert many[k] == pytest.approx(cost)
    nearest = graph.times_from(w, [0, 24], min_only=True)
    assert nearest == pytest.approx(np.minimum(many[0], many[2]))
    # to a node = from it on the reversed graph
    to_7 = graph.times_to(w, 7)
    for node in (0, 3, 24):
        cost, _ = dijkstra(grid.drive.indptr, grid.drive.indices, w, node)
        assert to_7[node] == pytest.approx(cost[7])


def test_parallel_links_take_the_fastest():
    nodes = {
        "node_id": np.arange(2),
        "x": np.zeros(2),
        "y": np.zeros(2),
        "lon": np.zeros(2),
        "lat": np.zeros(2),
    }
    net = Network.from_edges(
        nodes=nodes,
        tail=np.array([0, 0, 1]),
        head=np.array([1, 1, 0]),
        edges={
            "length": np.full(3, 100.0),
            "speed": np.full(3, 10.0),
            "lanes": np.ones(3),
            "capacity": np.ones(3),
            "jam_density": np.ones(3),
            "road_class": np.zeros(3, dtype=np.int16),
        },
        road_classes=("x",),
    )
    times = RoadGraph(net).times_from(np.array([30.0, 12.0, 0.0]), [0])
    assert times[0].tolist() == [0.0, 12.0]
    # a zero-time link still counts as a link
    assert RoadGraph(net).times_from(np.array([30.0, 12.0, 0.0]), [1])[0].tolist() == [0.0, 0.0]


def test_coverage_on_a_hand_checkable_grid(grid):
    # free flow: 20 s a block, 16.67 s for an ambulance (speed factor 1.2)
    hourly = hourly_link_times(grid.drive, None, PARAMS)
    assert hourly.shape == (24, grid.drive.n_edges)
    assert hourly[0] == pytest.approx(grid.drive.free_flow_time / 1.2)
    # 1 minute = 3 blocks (50 s) from the hospital at node 0: 1 + 2 + 3 + 4 = 10 nodes of 25
    table = coverage_by_hour(grid, hourly, [0], minutes=1.0)
    assert table["share"].to_numpy() == pytest.approx(np.full(24, 10 / 25))
    assert table["population"].iloc[0] == pytest.approx(grid.population)
    # two stations at opposite corners: 10 + 10 nodes
    assert coverage_by_hour(grid, hourly, [0, 24], minutes=1.0)["share"].iloc[0] == 0.8
    zones = coverage_by_zone(grid, hourly, [0], minutes=1.0)
    first = zones[zones["hour"] == 0].set_index("zone")
    # zone 0 = 3 × 3 corner: Manhattan distance <= 3 from (0, 0) holds for 8 of its 9 nodes
    assert first.loc[0, "share"] == pytest.approx(8 / 9)
    assert first.loc[3, "share"] == 0.0
    assert (zones.groupby("hour")["covered"].sum().to_numpy() / grid.population) == pytest.approx(
        table["share"].to_numpy()
    )


def _links(edges, hour, speed_kmh, entries=10):
    return pd.DataFrame(
        {
            "edge": edges,
            "interval_start": float(hour * 3600),
            "entries": entries,
            "mean_speed_kmh": speed_kmh,
            "density_pcu_per_km": 0.0,
            "queue_pcu": 0.0,
        }
    )


def test_congestion_by_hour(grid):
    net = grid.drive
    out_of_0 = np.arange(net.indptr[0], net.indptr[1])
    # at 08:00 the links out of the hospital crawl at 3.6 km/h: 200 s for a car
    links = _links(out_of_0, 8, 3.6)
    hourly = hourly_link_times(net, links, PARAMS)
    free = net.free_flow_time[out_of_0]
    # delay over uncongested mixed traffic (free flow / 0.91)
    expected = free / 1.2 + 0.5 * (200.0 - free / 0.91)
    assert hourly[8, out_of_0] == pytest.approx(expected)
    assert hourly[9] == pytest.approx(net.free_flow_time / 1.2)
    car = hourly_link_times(net, links, PARAMS, emergency=False)
    assert car[8, out_of_0] == pytest.approx(200.0)
    share = coverage_by_hour(grid, hourly, [0], minutes=1.0)["share"].to_numpy()
    assert share[8] == pytest.approx(1 / 25)  # only the hospital's own node
    assert share[7] == share[9] == pytest.approx(10 / 25)


def test_uncongested_mixed_traffic_is_no_delay(grid):
    # motorbikes at 0.91 of free flow are not congestion: the ambulance keeps its speed
    net = grid.drive
    links = _links(np.arange(net.n_edges), 3, 36.0 * 0.91)
    hourly = hourly_link_times(net, links, PARAMS)
    assert hourly[3] == pytest.approx(net.free_flow_time / 1.2)


def test_intervals_within_an_hour_are_weighted_by_entries(grid):
    net = grid.drive
    links = pd.concat(
        [
            _links([5], 10, 36.0, entries=30).assign(interval_start=36_000.0),
            _links([5], 10, 7.2, entries=10).assign(interval_start=36_900.0),
        ]
    )
    car = hourly_link_times(net, links, PARAMS, emergency=False)
    assert car[10, 5] == pytest.approx((30 * 20.0 + 10 * 100.0) / 40)
    # zero entries or no speed: free flow
    quiet = _links([5], 10, np.nan, entries=0)
    assert hourly_link_times(net, quiet, PARAMS, emergency=False)[10, 5] == 20.0


def test_planning_times_weight_hours(grid):
    hourly = np.vstack([np.full(grid.drive.n_edges, h) for h in range(24)], dtype=float)
    weights = np.zeros(24)
    weights[[2, 4]] = 1.0
    assert planning_link_times(hourly, weights) == pytest.approx(np.full(grid.drive.n_edges, 3.0))


def test_hourly_roads_replay_the_hour(grid):
    net = grid.drive
    out_of_0 = np.arange(net.indptr[0], net.indptr[1])
    hourly = hourly_link_times(net, _links(out_of_0, 1, 3.6), PARAMS)
    env = simpy.Environment()
    roads = HourlyRoads(env, net, hourly)
    arrivals = []

    def trip(at):
        yield env.timeout(at - env.now)
        journey = yield roads.drive(0, 2)
        arrivals.append(journey.travel_time)

    env.process(trip(0.0))
    env.process(trip(3600.0))
    env.run()
    slow = net.free_flow_time[0] / 1.2 + 0.5 * (200.0 - 20.0 / 0.91)
    assert arrivals == pytest.approx([2 * 20 / 1.2, slow + 20 / 1.2])


def test_bad_input(grid):
    hourly = hourly_link_times(grid.drive, None, PARAMS)
    with pytest.raises(ConfigError, match="positive number of minutes"):
        coverage_by_hour(grid, hourly, [0], minutes=0)
    with pytest.raises(ConfigError, match="lacks columns"):
        hourly_link_times(grid.drive, pd.DataFrame({"edge": [1]}), PARAMS)
    with pytest.raises(ConfigError, match="use the run made on this city"):
        hourly_link_times(grid.drive, _links([10_000], 1, 30.0), PARAMS)
    with pytest.raises(ConfigError, match="one per drive edge"):
        RoadGraph(grid.drive).times_from(np.ones(3), [0])


@pytest.mark.hue
def test_huế_free_flow_coverage(hue_city):
    hourly = hourly_link_times(hue_city.drive, None, PARAMS)[:1]
    hospitals = hue_city.pois_of("hospital")["drive_node"].to_numpy()
    share = coverage_by_hour(hue_city, hourly, hospitals, minutes=8.0)["share"].iloc[0]
    assert 0.3 < share <= 1.0
    assert coverage_by_hour(hue_city, hourly, hospitals, minutes=15.0)["share"].iloc[0] >= share


def test_grid_city_fixture_is_the_default():
    assert grid_city().drive.n_nodes == 25
