"""Trips from CSV, the trips-table contract, reachability and the demand summary."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from twin.clock import format_clock, parse_clock
from twin.demand.reachability import check_reachability
from twin.demand.trip_summary import demand_summary
from twin.demand.trips import TRIP_COLUMNS, read_trips, validate_trips
from twin.errors import SourceNotFoundError, TripsError, TwinError
from twin.network import Network
from twin.vehicles import load_vehicle_classes

# grid_city's node ids are positions + 1 (ids 1..25 on the 5 × 5 grid).


def _write(tmp_path, text, name="trips.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_reads_both_time_formats_and_defaults(grid, tmp_path):
    path = _write(
        tmp_path,
        "origin,destination,depart\n"
        "1,25,07:30:00\n"
        "25,1,27000\n"
        "3,4,7:00\n"
        "4,3,25200.5\n"
        "5,6,25:10:00\n",
    )
    trips = read_trips(path, grid)
    assert list(trips.columns) == list(TRIP_COLUMNS)
    assert [str(trips[c].dtype) for c in TRIP_COLUMNS] == list(TRIP_COLUMNS.values())
    assert trips["depart"].tolist() == [25200.0, 25200.5, 27000.0, 27000.0, 90600.0]
    # Sorted by depart, file order among ties; ids default to the row in the file.
    assert trips["trip_id"].tolist() == [2, 3, 0, 1, 4]
    assert trips["origin"].tolist() == [2, 3, 0, 24, 4]  # positions, not ids
    assert trips["destination"].tolist() == [3, 2, 24, 0, 5]
    assert set(trips["vehicle_class"]) == {"motorbike"}


def test_optional_columns_and_blank_cells(grid, tmp_path):
    path = _write(
        tmp_path,
        "Trip_ID, Origin, Destination, Depart, Vehicle_Class, note\n"
        "10, 1, 2, 08:00:00, car, anything\n"
        "\n"
        "11, 2, 1, 08:00:01, , \n"
        "12, 7, 9, 06:00:00, bus, x\n",
    )
    trips = read_trips(path, grid, default_class="car")
    assert trips["trip_id"].tolist() == [12, 10, 11]
    assert trips["vehicle_class"].tolist() == ["bus", "car", "car"]
    assert "note" not in trips.columns


def test_window_accepts_clock_strings(grid, tmp_path):
    path = _write(tmp_path, "origin,destination,depart\n1,2,06:00:00\n2,1,09:59:59\n")
    assert len(read_trips(path, grid, start="06:00", end="10:00")) == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("origin,destination,depart\n1,99,07:00:00\n", r"unknown destination nodes at lines 2 "),
        ("origin,destination,depart\n1,2,07:00:00\n77,2,07:00:00\n", r"unknown origin.*lines 3 "),
        ("origin,destination,depart\n1.5,2,07:00:00\n", r"not integer node ids at lines 2"),
        ("origin,destination,depart\n1,2,05:00:00\n", r"outside the window"),
        ("origin,destination,depart\n1,2,11:00:00\n", r"outside the window"),
        ("origin,destination,depart\n1,2,7h30\n", r"unparsable departure times at lines 2"),
        ("origin,destination,depart\n1,2,07:61:00\n", r"unparsable"),
        ("origin,destination,depart\n1,2,-5\n", r"outside the window"),
        ("origin,destination,depart,vehicle_class\n1,2,07:00:00,tuktuk\n", r"unknown vehicle"),
        ("origin,destination,depart,trip_id\n1,2,07:00,1\n2,1,07:00,1\n", r"duplicate trip ids"),
        ("origin,destination,depart,trip_id\n1,2,07:00,a\n", r"trip ids that are not integers"),
        ("origin,destination,depart\n3,3,07:00:00\n", r"origin is their destination"),
        ("origin,dest,depart\n1,2,07:00:00\n", r"missing columns \['destination'\]"),
    ],
)
def test_bad_input_names_the_problem(grid, tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(TripsError, match=message) as info:
        read_trips(path, grid, start="06:00", end="10:00")
    assert isinstance(info.value, ValueError) and isinstance(info.value, TwinError)


def test_every_problem_is_reported_with_its_line(grid, tmp_path):
    path = _write(
        tmp_path,
        "origin,destination,depart,vehicle_class\n"
        "1,2,07:00:00,car\n"
        "\n"
        "1,999,07:00:00,car\n"  # line 4
        "1,2,later,car\n"  # line 5
        "1,2,07:00:00,boat\n",  # line 6
    )
    with pytest.raises(TripsError) as info:
        read_trips(path, grid)
    message = str(info.value)
    assert "unknown destination nodes at lines 4 (got 999)" in message
    assert "unparsable departure times at lines 5 (got 'later')" in message
    assert "unknown vehicle classes at lines 6 (got 'boat')" in message


def test_many_bad_lines_are_summarised(grid, tmp_path):
    body = "".join(f"1,{100 + k},07:00:00\n" for k in range(12))
    path = _write(tmp_path, "origin,destination,depart\n" + body)
    with pytest.raises(
        TripsError,
        match=r"12 unknown destination nodes at lines 2, 3, 4, 5, 6 "
        r"and 7 more",
    ):
        read_trips(path, grid)


def test_class_without_pcu(grid, tmp_path):
    vehicles = load_vehicle_classes().copy()
    vehicles.loc["bus", "pcu"] = np.nan
    vehicles.loc["truck", "pcu"] = 0.0
    path = _write(
        tmp_path,
        "origin,destination,depart,vehicle_class\n1,2,7:00,bus\n2,1,7:00,truck\n3,4,7:00,car\n",
    )
    with pytest.raises(
        TripsError,
        match=r"2 trips of a vehicle class without a positive PCU at "
        r"lines 2, 3",
    ):
        read_trips(path, grid, vehicles=vehicles)


def test_missing_and_unreadable_files(grid, tmp_path):
    with pytest.raises(SourceNotFoundError, match="does not exist"):
        read_trips(tmp_path / "nope.csv", grid)
    with pytest.raises(TripsError, match="not a readable CSV"):
        read_trips(_write(tmp_path, ""), grid)


def test_windows_line_ends_bom_and_quotes(grid, tmp_path):
    path = tmp_path / "trips.csv"
    path.write_bytes(
        b'\xef\xbb\xbf"origin","destination","depart"\r\n"1","2","07:00:00"\r\n3,4,60\r\n'
    )
    trips = read_trips(path, grid)
    assert trips["origin"].tolist() == [2, 0] and trips["depart"].tolist() == [60.0, 25200.0]


def test_ragged_rows_are_unreadable(grid, tmp_path):
    path = _write(tmp_path, "origin,destination,depart\n1,2,07:00:00,extra\n")
    with pytest.raises(TripsError, match="not a readable CSV"):
        read_trips(path, grid)
    path = _write(tmp_path, "origin,destination,depart\n\n1,2,07:00:00,extra\n", "b.csv")
    with pytest.raises(TripsError, match="not a readable CSV"):
        read_trips(path, grid)


def test_header_only_gives_no_trips(grid, tmp_path):
    trips = read_trips(_write(tmp_path, "origin,destination,depart\n"), grid)
    assert len(trips) == 0 and list(trips.columns) == list(TRIP_COLUMNS)


def test_large_osm_style_ids(grid, tmp_path):
    ids = np.arange(grid.drive.n_nodes, dtype=np.int64) + 12_345_678_901
    city = dataclasses.replace(grid, drive=dataclasses.replace(grid.drive, node_id=ids))
    path = _write(tmp_path, "origin,destination,depart\n12345678901,12345678925,0\n")
    trips = read_trips(path, city)
    assert trips["origin"].tolist() == [0] and trips["destination"].tolist() == [24]


def test_validate_trips(grid):
    good = pd.DataFrame(
        {
            "trip_id": [0, 1],
            "origin": [3, 0],
            "destination": [4, 1],
            "depart": [20.0, 10.0],
            "vehicle_class": ["car", "motorbike"],
        }
    )
    out = validate_trips(good, grid, start=0, end=100)
    assert out["depart"].tolist() == [10.0, 20.0]
    bad = good.assign(destination=[4, 25], depart=[20.0, 100.0])
    with pytest.raises(TripsError, match=r"destinations outside the drive network at rows 1"):
        validate_trips(bad, grid, start=0, end=100)
    with pytest.raises(TripsError, match=r"departures outside \[0, 100\) s at rows 1"):
        validate_trips(good.assign(depart=[20.0, 100.0]), grid, start=0, end=100)
    with pytest.raises(TripsError, match="lacks columns"):
        validate_trips(good.drop(columns="vehicle_class"), grid)


def test_clock_helpers():
    assert parse_clock("06:30") == 23_400.0
    assert parse_clock("06:30:15.5") == 23_415.5
    assert parse_clock(10) == 10.0
    assert parse_clock("26:00:00") == 93_600.0
    assert format_clock(23_415.9) == "06:30:15"
    for bad in ("", "6.30h", "-1", -1.0, float("nan"), "12:60"):
        with pytest.raises(TripsError):
            parse_clock(bad)


def _one_way_city(grid):
    """The grid with node 24 a sink (no way out) and node 0 a source (no way in)."""
    net = grid.drive
    keep = (net.tail != 24) & (net.indices != 0)
    drive = Network.from_edges(
        nodes={k: getattr(net, k) for k in ("node_id", "x", "y", "lon", "lat")},
        tail=net.tail[keep],
        head=net.indices[keep],
        edges={
            k: getattr(net, k)[keep]
            for k in ("length", "speed", "lanes", "capacity", "jam_density", "road_class")
        },
        road_classes=net.road_classes,
    )
    return dataclasses.replace(grid, drive=drive)


def test_reachability_counts_and_reports(grid):
    city = _one_way_city(grid)
    trips = pd.DataFrame(
        {
            "trip_id": [10, 11, 12, 13, 14],
            "origin": [0, 24, 5, 12, 7],
            "destination": [24, 3, 0, 13, 8],
            "depart": [0.0, 1.0, 2.0, 3.0, 4.0],
            "vehicle_class": ["car"] * 5,
        }
    )
    report = check_reachability(city, trips)
    # 0 -> 24 crosses components but is reachable; out of 24 and into 0 are not.
    assert report.unreachable.tolist() == [False, True, True, False, False]
    assert report.n_unreachable == 2 and not report.ok
    assert report.n_components == 3 and report.largest_component_nodes == 23
    assert report.examples["trip_id"].tolist() == [11, 12]
    assert report.examples["origin_node_id"].tolist() == [25, 6]
    assert "2 of 5 trips cannot reach" in str(report)
    assert check_reachability(grid, trips).ok
    with pytest.raises(TripsError, match=r"outside 0\.\.24"):
        check_reachability(grid, trips.assign(origin=[0, 24, 5, 12, 25]))


def test_summary(grid):
    trips = pd.DataFrame(
        {
            "trip_id": [0, 1, 2, 3],
            "origin": [1, 2, 1, 3],
            "destination": [5, 5, 6, 5],
            "depart": [3600.0 * 7 + 5, 3600.0 * 7 + 50, 3600.0 * 17, 3600.0 * 25],
            "vehicle_class": ["motorbike", "motorbike", "car", "motorbike"],
        }
    )
    summary = demand_summary(trips)
    assert summary.total == 4
    assert summary.by_class.to_dict() == {"motorbike": 3, "car": 1}
    assert len(summary.by_hour) == 26 and summary.by_hour[7] == 2 and summary.by_hour[25] == 1
    assert summary.distinct_origins == 3 and summary.distinct_destinations == 2
    data = summary.as_dict()
    assert data["by_hour"]["07"] == 2 and data["trips_total"] == 4
    text = summary.to_text()
    assert "busiest hour 07:00" in text and "motorbike" in text
