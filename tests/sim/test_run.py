"""Running a specification: reproducible outputs, interventions the engine carries out."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from sim.interventions import AddRoad, ChangeLinks, CloseLinks, EventTrips
from sim.outputs import write_run
from sim.run_day import run_day
from sim.runner import STREAMS, TRAFFIC_KPIS, run
from sim.spec import SpecError
from sim.spec_builder import build_spec
from tests.sim.networks import bottleneck_city, trips, two_routes_city
from twin.errors import TripsError
from twin.synthetic import grid_city


def _entries(result, edge_id: int) -> pd.Series:
    """Entries of one link per interval start (s), zero where nothing happened."""
    links = result.links[result.links["edge_id"] == edge_id]
    return links.set_index("interval_start")["entries"]


def test_same_spec_gives_byte_identical_outputs_other_seed_differs(grid, tmp_path):
    spec = build_spec(grid, seed=4, start="06:00", end="07:30")
    first = write_run(run(grid, spec), tmp_path / "a")
    second = write_run(run(grid, spec), tmp_path / "b")
    for name in ("trips.parquet", "links.parquet", "visits.parquet", "kpis.parquet", "kpis.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    other = run(grid, spec.replace(seed=5))
    assert not other.trips.equals(run(grid, spec).trips)


def test_a_closure_window_stops_entries_in_it_and_not_after(grid):
    spec = build_spec(grid, seed=1, start="06:00", end="09:00", tourists=False, emergency=False)
    free = run(grid, spec)
    busy = free.links[free.links["interval_start"].between(7 * 3600, 8 * 3600 - 1)]
    edge_id = int(busy.groupby("edge_id")["entries"].sum().idxmax())
    closed = run(
        grid,
        spec.replace(
            interventions=(CloseLinks(edges=(edge_id,), start=7 * 3600.0, until=8 * 3600.0),)
        ),
    )
    entries = _entries(closed, edge_id)
    inside = entries[(entries.index >= 7 * 3600) & (entries.index < 8 * 3600)]
    after = entries[entries.index >= 8 * 3600]
    before = entries[entries.index < 7 * 3600]
    assert inside.sum() == 0
    assert before.sum() > 0 and after.sum() > 0


def test_a_link_closed_to_some_classes_carries_only_the_others():
    city = two_routes_city()
    n = 12
    table = trips(0, 1, 30.0 * np.arange(3 * n), ["motorbike", "truck", "emergency"] * n)
    flood = CloseLinks(edges=(101,), classes=("motorbike", "car"), label="flooded street")
    spec = build_spec(
        city,
        seed=0,
        start=0.0,
        end=3600.0,
        tourists=False,
        emergency=False,
        trips=table,
        interventions=[flood],
    )
    result = run(city, spec, trips=table)
    done = result.trips
    assert done["arrive"].notna().all()
    by_class = done.groupby("vehicle_class")["distance"].agg(["min", "max"])
    assert by_class.loc["motorbike"].tolist() == [800.0, 800.0]  # round the flood
    assert by_class.loc["truck"].tolist() == [200.0, 200.0]  # straight through
    assert by_class.loc["emergency"].tolist() == [200.0, 200.0]
    assert _entries(result, 101).sum() == 2 * n  # trucks and emergency vehicles only


def test_halving_a_capacity_for_a_window_halves_a_saturated_discharge():
    city = bottleneck_city(capacity=600.0)
    table = trips(0, 3, np.arange(0.0, 3 * 3600.0, 2.0))  # 1,800 PCU/h into 600 PCU/h
    halve = ChangeLinks(edges=(12,), capacity_factor=0.5, start=3600.0, until=5400.0)
    spec = build_spec(
        city,
        seed=0,
        start=0.0,
        end=3 * 3600.0,
        tourists=False,
        emergency=False,
        trips=table,
        interventions=[halve],
    )
    links = run(city, spec, trips=table).links
    exits = links[links["edge_id"] == 12].set_index("interval_start")["exits"]
    full = exits.loc[[1800.0, 2700.0]]  # saturated, before the change
    half = exits.loc[[3600.0, 4500.0]]  # inside the window
    again = exits.loc[[6300.0, 7200.0]]  # after it
    assert full.tolist() == pytest.approx([150, 150], abs=1)
    assert half.tolist() == pytest.approx([75, 75], abs=1)
    assert again.tolist() == pytest.approx([150, 150], abs=1)


def test_a_new_road_is_built_with_stable_ids_and_used_in_its_window():
    city = bottleneck_city()
    table = trips(0, 3, np.arange(0.0, 1800.0, 60.0))
    bypass = AddRoad(
        from_node=1000, to_node=1003, road_class="residential", length_m=150.0, start=900.0
    )
    spec = build_spec(
        city, seed=0, start=0.0, end=3600.0, tourists=False, emergency=False, trips=table,
        interventions=[bypass],
    )  # fmt: skip
    (added,) = spec.interventions
    assert len(added.edge_ids) == 2 and not set(added.edge_ids) & set(city.drive.edge_id)
    result = run(city, spec, trips=table)
    new = _entries(result, added.edge_ids[0])
    assert new[new.index < 900].sum() == 0 and new[new.index >= 900].sum() > 0
    early = result.trips[result.trips["depart"] < 900 - 600]
    late = result.trips[result.trips["depart"] >= 900]
    assert (early["distance"] == 5200.0).all() and (late["distance"] == 150.0).all()


def test_an_event_brings_its_visitors_by_road_and_the_run_finishes(grid):
    citadel = int(grid.drive.node_id[12])
    event = EventTrips(node_id=citadel, visitors=300, start=7 * 3600.0, until=8 * 3600.0)
    spec = build_spec(grid, seed=0, start="06:00", end="09:30", tourists=False, emergency=False)
    day = run(grid, spec)
    festival = run(grid, spec.replace(interventions=(event,)))
    # 200 vehicles there in the hour before and home in the hour after, but for those
    # whose home is the event's own node
    extra = len(festival.trips) - len(day.trips)
    assert 0.85 * 400 < extra <= 400 and extra % 2 == 0
    trips, before = festival.trips, day.trips
    there = (trips["destination"] == citadel) & trips["depart"].between(6 * 3600, 7 * 3600)
    usual = (before["destination"] == citadel) & before["depart"].between(6 * 3600, 7 * 3600)
    assert there.sum() - usual.sum() == extra // 2
    assert (trips.loc[there, "arrive"] > trips.loc[there, "depart"]).all()
    # roads closed round the place: each vehicle stops at the drop node nearest its home
    drop = (int(grid.drive.node_id[7]), int(grid.drive.node_id[17]))
    ringed = run(grid, spec.replace(interventions=(dataclasses.replace(event, drop_nodes=drop),)))
    new = ringed.trips[ringed.trips["trip_id"] > day.trips["trip_id"].max()]
    going, back = new[new["depart"] < 7 * 3600], new[new["depart"] >= 8 * 3600]
    assert len(going) == len(back) > 0.85 * 200 and len(new) == len(going) + len(back)
    assert set(going["destination"]) <= set(drop) and set(back["origin"]) <= set(drop)
    at = pd.Series(range(grid.drive.n_nodes), index=grid.drive.node_id)
    x, y = grid.drive.x, grid.drive.y
    home = at[going["origin"]].to_numpy()

    def metres_to(nodes):
        return np.hypot(x[home] - x[nodes], y[home] - y[nodes])

    chosen = metres_to(at[going["destination"]].to_numpy())
    assert all((chosen <= metres_to(at[d])).all() for d in drop)
    parts = dataclasses.replace(spec.parts, traffic="free_flow")
    free = run(grid, spec.replace(interventions=(event,), parts=parts))
    assert any("the visitors of the events add no trips" in n for n in free.kpis["notes"])


def test_traffic_kpis_and_streams():
    assert STREAMS == ("demand", "traffic", "tourists", "emergency")
    city = grid_city()
    result = run(city, build_spec(city, seed=0, start="06:00", end="06:30", tourists=False))
    assert set(TRAFFIC_KPIS) <= set(result.kpis)
    assert result.manifest["digest"] == result.spec.digest


def test_a_spec_for_another_city_is_refused(grid):
    spec = build_spec(grid, seed=0)
    with pytest.raises(SpecError, match="checksum"):
        run(grid_city(4, 4), spec)


def test_given_trips_are_checked_and_named_by_checksum(grid):
    table = trips(0, 24, [6 * 3600.0, 6 * 3600.0 + 10])
    spec = build_spec(grid, seed=0, start="06:00", end="07:00", trips=table, tourists=False)
    with pytest.raises(SpecError, match="not the trips"):
        run(grid, spec, trips=trips(0, 23, [6 * 3600.0, 6 * 3600.0 + 10]))
    with pytest.raises(TripsError):
        build_spec(grid, seed=0, start="06:00", end="07:00", trips=trips(0, 99, [21600.0]))


def test_run_day_keywords_only_build_a_spec(grid):
    result = run_day(grid, seed=3, start="06:00", end="06:30", scale=0.5, tourists=False)
    assert result.spec.parameters["demand"]["scale"] == 0.5
    assert result.spec.parameters["emergency"]["demand"]["traffic_scale"] == 0.5
    again = run(grid, result.spec)
    assert again.kpis == result.kpis


def test_notes_say_what_had_no_effect(grid):
    late = CloseLinks(edges=(int(grid.drive.edge_id[0]),), start=9 * 3600.0)
    spec = build_spec(
        grid, seed=0, start="06:00", end="06:30", tourists=False, emergency=False,
        interventions=[late],
    )  # fmt: skip
    notes = run(grid, spec).kpis["notes"]
    assert any("after the window ends" in note for note in notes)


def test_places_cut_off_from_the_roads_are_reported_and_the_run_finishes(grid):
    citadel = int(grid.pois.loc[grid.pois["name"] == "Citadel", "drive_node"].iloc[0])
    into = np.flatnonzero(grid.drive.indices == citadel)
    cut = CloseLinks(edges=tuple(int(e) for e in grid.drive.edge_id[into]), label="cut off")
    spec = build_spec(
        grid,
        seed=2,
        start="07:00",
        end="12:00",
        settings=["tourists.demand.tourists_per_day=300"],
        interventions=[cut],
    )
    result = run(grid, spec)
    by_zone = result.kpis["trips_unroutable_by_zone"]
    assert sum(by_zone.values()) == result.kpis["trips_unroutable"] > 0
    assert any("could not reach their destination" in note for note in result.kpis["notes"])
    visits = result.visits
    assert (~visits.loc[visits["site"] == "Citadel", "missed"]).any()  # tourists walked there
