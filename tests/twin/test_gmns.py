"""GMNS networks in and out: units, CRS, undirected links, round trips and bad input."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pandas as pd
import pytest

from tests.conftest import DATA
from twin.build.gmns import read_gmns, write_gmns
from twin.build.road_classes import load_road_defaults
from twin.errors import GMNSError, OutputError, SourceNotFoundError, TwinError

SMALL = DATA / "gmns_small"


def _links(city):
    net = city.drive
    return sorted(
        zip(
            net.edge_id.tolist(),
            net.node_id[net.tail].tolist(),
            net.node_id[net.indices].tolist(),
            np.round(net.length, 6).tolist(),
            np.round(net.speed, 9).tolist(),
            net.lanes.tolist(),
            np.round(net.capacity, 6).tolist(),
            strict=True,
        )
    )


def test_reads_units_directions_and_defaults():
    city = read_gmns(SMALL)
    net = city.drive
    assert city.name == "gmns small"
    assert city.crs.endswith("32648")  # lon/lat in Huế is projected to UTM 48N
    assert net.n_nodes == 4
    assert net.n_edges == 6  # link 3 is undirected: two edges
    first = np.flatnonzero(net.edge_id == 1)[0]
    assert net.length[first] == pytest.approx(450.0)  # km in config
    assert net.speed[first] == pytest.approx(30 / 3.6)
    assert net.capacity[first] == pytest.approx(900.0)  # one lane
    both = np.flatnonzero((net.edge_id == 3) | (net.edge_id == -4))  # -(3 + 1): the reverse
    assert len(both) == 2
    assert net.capacity[both] == pytest.approx([2400.0, 2400.0])  # per lane x 2 lanes
    bridge = np.flatnonzero(net.edge_id == 4)[0]
    straight = np.hypot(*(np.array([net.x, net.y])[:, 3] - np.array([net.x, net.y])[:, 2]))
    assert net.length[bridge] == pytest.approx(straight)  # no length: the straight line
    assert net.speed[bridge] == pytest.approx(45 / 3.6)  # secondary default
    assert net.name[bridge] == "Cầu Trường Tiền"
    assert sorted(city.zones["name"]) == ["1", "2"]
    assert city.walk.n_edges == 2 * net.n_edges


def test_round_trip_keeps_nodes_and_links(tmp_path):
    city = read_gmns(SMALL)
    out, n_links = write_gmns(city, tmp_path / "out")
    assert n_links == 5  # the undirected link is one link again
    again = read_gmns(out)
    assert again.drive.node_id.tolist() == city.drive.node_id.tolist()
    np.testing.assert_allclose(again.drive.x, city.drive.x, atol=1e-6)
    assert _links(again) == _links(city)
    written = pd.read_csv(out / "link.csv")
    assert written.loc[written["link_id"] == 3, "directed"].tolist() == [False]


def test_grid_city_round_trip(tmp_path, grid):
    again = read_gmns(write_gmns(grid, tmp_path / "grid")[0])
    assert again.crs == "EPSG:32648"
    np.testing.assert_allclose(again.drive.x, grid.drive.x)
    np.testing.assert_array_equal(again.drive.indptr, grid.drive.indptr)
    np.testing.assert_array_equal(again.drive.indices, grid.drive.indices)
    np.testing.assert_allclose(again.drive.free_flow_time, grid.drive.free_flow_time)


def test_write_refuses_a_non_empty_folder(tmp_path, grid):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(OutputError, match="not empty"):
        write_gmns(grid, target)
    with pytest.raises(OutputError, match="other than an earlier GMNS export"):
        write_gmns(grid, target, overwrite=True)
    assert (target / "keep.txt").read_text() == "mine"


@pytest.fixture
def small_copy(tmp_path):
    target = tmp_path / "net"
    shutil.copytree(SMALL, target)
    return target


def test_link_naming_an_unknown_node(small_copy):
    links = pd.read_csv(small_copy / "link.csv")
    links.loc[len(links)] = [9, 104, 999, True, 1.0, 1, 30, 900, "primary", "ghost"]
    links.to_csv(small_copy / "link.csv", index=False)
    with pytest.raises(GMNSError, match=r"link 9 \(104 -> 999\).*Add the nodes"):
        read_gmns(small_copy)


def test_missing_folder_and_files(tmp_path, small_copy):
    with pytest.raises(SourceNotFoundError, match="does not exist"):
        read_gmns(tmp_path / "nowhere")
    (small_copy / "node.csv").unlink()
    with pytest.raises(SourceNotFoundError, match=r"node\.csv"):
        read_gmns(small_copy)


def test_missing_columns_and_bad_values(small_copy):
    links = pd.read_csv(small_copy / "link.csv")
    links.drop(columns="to_node_id").to_csv(small_copy / "link.csv", index=False)
    with pytest.raises(GMNSError, match="to_node_id"):
        read_gmns(small_copy)
    links.assign(free_speed=-5).to_csv(small_copy / "link.csv", index=False)
    with pytest.raises(GMNSError, match="negative free_speed"):
        read_gmns(small_copy)


def _edit(folder, table, **changes):
    """Set cells of a GMNS table as text: ``column=(row, value)``."""
    path = folder / f"{table}.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    for column, (row, value) in changes.items():
        frame.loc[row, column] = value
    frame.to_csv(path, index=False)


@pytest.mark.parametrize(
    ("table", "column", "value", "message"),
    [
        ("link", "free_speed", "NaN", "link.csv, row 3: free_speed 'NaN' is not a finite number"),
        ("link", "length", "n/a", "link.csv, row 3: length 'n/a' is not a finite number"),
        ("link", "lanes", "two", "link.csv, row 3: lanes 'two'"),
        ("link", "capacity", "-inf", "link.csv, row 3: capacity '-inf'"),
        ("link", "lanes", "0", "lanes must be above 0"),
        ("node", "x_coord", "1e300", "node.csv, row 3: x_coord 1e300"),
        ("node", "y_coord", "95", "is not a place on the Earth in EPSG:4326"),
        ("node", "y_coord", "nan", "node.csv, row 3: y_coord 'nan'"),
    ],
)
def test_values_are_checked_not_replaced(small_copy, table, column, value, message):
    _edit(small_copy, table, **{column: (1, value)})
    with pytest.raises(GMNSError, match=re.escape(message)):
        read_gmns(small_copy)


def test_blank_cells_take_the_defaults(small_copy):
    """A blank cell is not a bad value: the road class default fills it, as documented."""
    _edit(small_copy, "link", free_speed=(1, ""), length=(1, ""))
    city = read_gmns(small_copy)
    second = np.flatnonzero(city.drive.edge_id == 2)[0]
    tertiary = load_road_defaults().loc["tertiary"]
    assert city.drive.speed[second] == pytest.approx(tertiary["speed_kmh"] / 3.6)
    assert city.drive.length[second] > 0  # the straight line between its nodes


def test_a_projected_coordinate_off_the_earth(small_copy):
    nodes = pd.read_csv(small_copy / "node.csv")
    nodes = nodes.assign(x_coord=[745_000.0, 745_400.0, 1e300, 746_000.0], y_coord=1_815_000.0)
    nodes.to_csv(small_copy / "node.csv", index=False)
    with pytest.raises(GMNSError, match=r"node\.csv, row 4: x_coord 1e\+300"):
        read_gmns(small_copy, crs="EPSG:32648")


def test_duplicate_link_ids_and_empty_tables(small_copy):
    links = pd.read_csv(small_copy / "link.csv")
    pd.concat([links, links.iloc[[2]]]).to_csv(small_copy / "link.csv", index=False)
    with pytest.raises(GMNSError, match=r"duplicate link_id 3 \(rows \[4, 7\]\)"):
        read_gmns(small_copy)
    links.iloc[0:0].to_csv(small_copy / "link.csv", index=False)
    with pytest.raises(GMNSError, match=r"link\.csv has no links"):
        read_gmns(small_copy)


def test_a_file_given_as_the_folder(small_copy):
    with pytest.raises(GMNSError, match="is a file; a GMNS network is the folder"):
        read_gmns(small_copy / "node.csv")


def test_units_and_crs(small_copy):
    with pytest.raises(GMNSError, match="unknown speed unit 'furlongs'"):
        read_gmns(small_copy, speed="furlongs")
    (small_copy / "config.csv").unlink()
    nodes = pd.read_csv(small_copy / "node.csv")
    nodes.assign(x_coord=nodes.x_coord * 1e4, y_coord=nodes.y_coord * 1e5).to_csv(
        small_copy / "node.csv", index=False
    )
    with pytest.raises(GMNSError, match="no CRS is named"):
        read_gmns(small_copy)
    city = read_gmns(small_copy, crs="EPSG:32648", long_length="mi", speed="mph")
    assert city.crs == "EPSG:32648"
    first = np.flatnonzero(city.drive.edge_id == 1)[0]
    assert city.drive.length[first] == pytest.approx(0.45 * 1609.344)
    assert city.drive.speed[first] == pytest.approx(30 * 0.44704)


def test_errors_are_twin_errors_and_value_errors(small_copy):
    nodes = pd.read_csv(small_copy / "node.csv")
    pd.concat([nodes, nodes.head(1)]).to_csv(small_copy / "node.csv", index=False)
    with pytest.raises(ValueError, match="duplicate node_id") as info:
        read_gmns(small_copy)
    assert isinstance(info.value, TwinError)


def test_cli_round_trip_through_a_bundle(tmp_path):
    from twin.build.pipeline import load_city
    from twin.cli import main

    bundle = tmp_path / "small.twin"
    assert (
        main(["build", "--gmns", str(SMALL), "--speed-unit", "kph", "-q", "-o", str(bundle)]) == 0
    )
    assert main(["export", str(bundle), "--gmns", str(tmp_path / "out")]) == 0
    assert (
        main(["build", "--gmns", str(tmp_path / "out"), "-q", "-o", str(tmp_path / "b.twin")]) == 0
    )
    assert _links(load_city(tmp_path / "b.twin")) == _links(load_city(bundle))


def test_cli_reports_a_bad_gmns_folder(tmp_path, small_copy, capsys):
    from twin.cli import main

    links = pd.read_csv(small_copy / "link.csv")
    links.loc[0, "to_node_id"] = 4242
    links.to_csv(small_copy / "link.csv", index=False)
    assert main(["build", "--gmns", str(small_copy), "-q", "-o", str(tmp_path / "x.twin")]) == 1
    assert "4242" in capsys.readouterr().err
    assert not (tmp_path / "x.twin").exists()
