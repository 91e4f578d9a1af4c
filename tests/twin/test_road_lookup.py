"""Finding roads by OSM name or way id, and closing them from `twin run`."""

from __future__ import annotations

import json

import pytest

from tests.conftest import DATA
from twin.build.gmns import read_gmns
from twin.errors import RoadNotFoundError, TwinError
from twin.road_lookup import find_road


@pytest.fixture
def small():
    city = read_gmns(DATA / "gmns_small")
    city.drive.osm_way[:] = 700 + city.drive.edge_id  # give the links OSM way ids
    return city


def test_names_match_whole_and_ignore_case(small):
    net = small.drive
    edges = find_road(net, "lê duẩn")
    assert sorted(net.edge_id[edges].tolist()) == [-4, 3]  # the undirected link, both ways
    assert net.edge_id[find_road(net, " Cầu Trường Tiền ")].tolist() == [4]


def test_way_ids_in_either_form(small):
    net = small.drive
    assert net.edge_id[find_road(net, 704)].tolist() == [4]
    assert net.edge_id[find_road(net, "way/701")].tolist() == [1]


def test_a_name_without_its_diacritics_is_refused_with_a_suggestion(small):
    with pytest.raises(RoadNotFoundError, match=r"did you mean 'Cầu Trường Tiền'\?") as info:
        find_road(small.drive, "Cau Truong Tien")
    assert isinstance(info.value, TwinError)
    assert isinstance(info.value, LookupError)


def test_unknown_roads_and_ways(small):
    with pytest.raises(RoadNotFoundError, match="matched by OSM name") as info:
        find_road(small.drive, "Đường không có")
    assert "did you mean" not in str(info.value)
    with pytest.raises(RoadNotFoundError, match="OSM way 999"):
        find_road(small.drive, "999")


def _bundle_and_trips(tmp_path):
    from twin.cli import main

    bundle = tmp_path / "small.twin"
    assert main(["build", "--gmns", str(DATA / "gmns_small"), "-q", "-o", str(bundle)]) == 0
    trips = tmp_path / "trips.csv"
    trips.write_text("origin,destination,depart,vehicle_class\n101,104,06:00:00,car\n")
    return bundle, trips


@pytest.mark.parametrize("close", [[], ["--close", "Lê Duẩn@06:00"]])
def test_twin_run_closes_a_road(tmp_path, close):
    from twin.cli import main

    bundle, trips = _bundle_and_trips(tmp_path)
    out = tmp_path / "run"
    argv = ["run", "--city", str(bundle), "--trips", str(trips), "--start", "06:00",
            "--end", "07:00", "--no-tourists", "--no-emergency", "--no-progress",
            "-o", str(out)]  # fmt: skip
    assert main(argv + close) == 0
    kpis = json.loads((out / "kpis.json").read_text())
    manifest = json.loads((out / "manifest.json").read_text())
    if close:
        # Lê Duẩn is the only way across: the trip cannot be routed once it is closed
        assert kpis["trips_completed"] == 0
        (closure,) = manifest["spec"]["interventions"]
        assert closure["kind"] == "close_links" and closure["from"] == "06:00:00"
        assert sorted(closure["edges"]) == [-4, 3]  # both directions of link 3
    else:
        assert kpis["trips_completed"] == 1
        assert manifest["spec"]["interventions"] == []


def test_twin_run_refuses_an_unknown_road(tmp_path, capsys):
    from twin.cli import main

    bundle, trips = _bundle_and_trips(tmp_path)
    argv = ["run", "--city", str(bundle), "--trips", str(trips), "--no-progress",
            "--close", "Le Duan", "-o", str(tmp_path / "run")]  # fmt: skip
    assert main(argv) == 1
    assert "did you mean 'Lê Duẩn'" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
