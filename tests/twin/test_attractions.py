"""The attraction table: reading, checking, matching to a city's POIs, and its errors."""

from __future__ import annotations

import numpy as np
import pytest

from twin.attractions.sites import (
    SITE_COLUMNS,
    OtherSites,
    UnknownSiteError,
    fold_accents,
    resolve_attractions,
)
from twin.attractions.table import REQUIRED_COLUMNS, AttractionError, load_attraction_table
from twin.errors import SourceNotFoundError, TwinError

HEADER = (
    "site,poi_id,names,category,lon,lat,popularity,opens,closes,last_entry_min,visit_min,"
    "gate_per_min,capacity,boat_from"
)
GRID_ROWS = [
    "Old Citadel,,CITADEL,attraction,,,100,07:00,17:30,30,120,20,500,",
    "Pagoda,synthetic/5,,pagoda_temple,,,50,08:00,17:00,,45,,,Boats",
    "Boats,,Pier,pier,,,20,07:00,21:00,15,60,10,40,",
]


def write_table(tmp_path, rows, header=HEADER):
    path = tmp_path / "sites.csv"
    path.write_text("# a test table\n" + header + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


def test_default_table_lists_the_main_sites_of_hue():
    table = load_attraction_table()
    assert set(REQUIRED_COLUMNS) <= set(table.columns)
    expected = {
        "Imperial City",
        "Thiên Mụ Pagoda",
        "Tự Đức Tomb",
        "Minh Mạng Tomb",
        "Khải Định Tomb",
        "Đông Ba Market",
        "Perfume River boats",
        "Walking streets",
    }
    assert set(table["site"]) == expected
    imperial = table.set_index("site").loc["Imperial City"]
    assert imperial["opens_s"] == 7 * 3600 and imperial["closes_s"] == 17.5 * 3600
    assert imperial["last_entry_s"] == 17 * 3600
    assert imperial["gate_rate"] == pytest.approx(60 / 60)
    assert imperial["capacity_n"] == 8000
    walking = table.set_index("site").loc["Walking streets"]
    assert np.isnan(walking["gate_rate"]) and walking["closes_s"] == 24 * 3600
    assert table.set_index("site").loc["Thiên Mụ Pagoda", "boat_from"] == "Perfume River boats"


def test_a_table_matches_grid_pois_by_name_ignoring_case_and_by_poi_id(tmp_path, grid):
    sites = resolve_attractions(grid, write_table(tmp_path, GRID_ROWS), other_sites=None)
    assert list(sites.columns) == list(SITE_COLUMNS)
    by_site = sites.set_index("site")
    assert by_site.loc["Old Citadel", "poi_id"] == "synthetic/4"
    assert by_site.loc["Old Citadel", "matched_by"] == "name"
    assert by_site.loc["Pagoda", "matched_by"] == "poi_id"
    assert by_site.loc["Old Citadel", "drive_node"] == 12
    assert by_site.loc["Boats", "drive_node"] == 23
    # boat_from is the row position of the pier site
    assert by_site.loc["Pagoda", "boat_from"] == list(sites["site"]).index("Boats")
    assert by_site.loc["Old Citadel", "boat_from"] == -1
    assert np.isinf(by_site.loc["Pagoda", "capacity"])
    assert by_site.loc["Pagoda", "last_entry_s"] == 17 * 3600  # empty last entry: closing


def test_names_match_without_accents():
    assert fold_accents("Lăng Tự Đức") == "lang tu duc"
    assert fold_accents("  Chùa   THIÊN Mụ ") == "chua thien mu"


def test_a_site_placed_by_lon_lat_snaps_to_the_nearest_nodes(tmp_path, grid):
    lon, lat = grid.walk.lon[7] + 0.0002, grid.walk.lat[7]
    rows = [f"Square,,Nowhere,attraction,{lon},{lat},10,18:00,24:00,0,60,,,"]
    sites = resolve_attractions(grid, write_table(tmp_path, rows), other_sites=None)
    assert sites.loc[0, "matched_by"] == "lonlat"
    assert sites.loc[0, "walk_node"] == 7 and sites.loc[0, "drive_node"] == 7


def test_an_unknown_site_says_what_to_fix(tmp_path, grid):
    rows = ["Citadell,,Citadell,attraction,,,100,07:00,17:30,30,120,20,500,"]
    with pytest.raises(UnknownSiteError) as info:
        resolve_attractions(grid, write_table(tmp_path, rows))
    message = str(info.value)
    assert "Citadell" in message and "did you mean ['Citadel']" in message
    assert "poi_id" in message and "lon/lat" in message
    assert isinstance(info.value, TwinError) and isinstance(info.value, ValueError)


def test_a_site_placed_far_from_the_network_is_unknown(tmp_path, grid):
    rows = ["Far away,,Nowhere,attraction,108.5,17.5,10,07:00,17:00,0,60,,,"]
    with pytest.raises(UnknownSiteError, match="more than 500 m from the walk network"):
        resolve_attractions(grid, write_table(tmp_path, rows))


def test_the_default_table_skips_sites_another_city_lacks_unless_asked_to_raise(grid):
    sites = resolve_attractions(grid, other_sites=None)
    assert sites.empty and list(sites.columns) == list(SITE_COLUMNS)
    with pytest.raises(UnknownSiteError, match="Imperial City"):
        resolve_attractions(grid, on_unknown="raise")


def test_other_sightseeing_pois_join_with_category_defaults(tmp_path, grid):
    rows = ["Old Citadel,,Citadel,attraction,,,100,07:00,17:30,30,120,20,500,"]
    table = write_table(tmp_path, rows)
    sites = resolve_attractions(grid, table, other_sites=OtherSites(exclude_within_m=100))
    assert list(sites["site"]) == ["Old Citadel", "Pagoda"]
    extra = sites.iloc[1]
    assert extra["source"] == "poi" and extra["matched_by"] == "category"
    assert extra["visit_s"] == 30 * 60 and np.isnan(extra["gate_rate"])
    # the pagoda is 200 m from the citadel: within 300 m it counts as part of it
    near = resolve_attractions(grid, table, other_sites=OtherSites(exclude_within_m=300))
    assert list(near["site"]) == ["Old Citadel"]


@pytest.mark.parametrize(
    ("row", "fragment"),
    [
        ("X,,Citadel,,,,10,17:30,07:00,0,60,10,100,", "not after it opens"),
        ("X,,Citadel,,,,10,09:00,09:00,0,60,10,100,", "not after it opens"),
        ("X,,Citadel,,,,10,7h,17:00,0,60,10,100,", "is not a time"),
        ("X,,Citadel,,,,10,07:00,25:00,0,60,10,100,", "later than 24:00:00"),
        ("X,,Citadel,,,,10,07:00,17:00,0,60,0,100,", "gate_per_min is 0"),
        ("X,,Citadel,,,,10,07:00,17:00,0,60,-3,100,", "gate_per_min is -3"),
        ("X,,Citadel,,,,10,07:00,17:00,0,60,10,0,", "capacity is 0"),
        ("X,,Citadel,,,,10,07:00,17:00,0,60,10,-5,", "capacity is -5"),
        ("X,,Citadel,,,,10,07:00,17:00,0,0,10,100,", "visit_min is 0"),
        ("X,,Citadel,,,,-1,07:00,17:00,0,60,10,100,", "popularity is -1"),
        ("X,,Citadel,,,,10,07:00,17:00,600,60,10,100,", "last_entry_min is 600"),
        ("X,,Citadel,,,,10,07:00,17:00,0,60,10,100,Nowhere", "boat_from names 'Nowhere'"),
        ("X,,Citadel,,,,0,07:00,17:00,0,60,10,100,", "every popularity is 0"),
        ("X,,Citadel,,107.5,,10,07:00,17:00,0,60,10,100,", "both lon and lat"),
    ],
)
def test_bad_rows_are_refused_with_a_fix(tmp_path, row, fragment):
    with pytest.raises(AttractionError) as info:
        load_attraction_table(write_table(tmp_path, [row]))
    assert fragment in str(info.value)
    assert "site 'X'" in str(info.value) or "popularity" in fragment


def test_missing_columns_are_listed(tmp_path):
    header = "site,names,popularity,opens,closes,visit_min"
    path = write_table(tmp_path, ["X,Citadel,10,07:00,17:00,60"], header=header)
    with pytest.raises(AttractionError) as info:
        load_attraction_table(path)
    assert "['poi_id', 'gate_per_min', 'capacity']" in str(info.value)


def test_duplicate_sites_and_missing_files_are_refused(tmp_path):
    rows = [GRID_ROWS[0], GRID_ROWS[0]]
    with pytest.raises(AttractionError, match="unique"):
        load_attraction_table(write_table(tmp_path, rows))
    with pytest.raises(SourceNotFoundError, match="does not exist"):
        load_attraction_table(tmp_path / "nope.csv")


@pytest.mark.hue
def test_every_main_site_is_found_in_hue(hue_city):
    sites = resolve_attractions(hue_city, on_unknown="raise")
    main = sites[sites["source"] == "table"].set_index("site")
    assert len(main) == 8
    assert main.loc["Minh Mạng Tomb", "poi_id"] == "extra/minh_mang"
    assert main.loc["Khải Định Tomb", "poi_id"] == "extra/khai_dinh"
    for name in ("Imperial City", "Thiên Mụ Pagoda", "Tự Đức Tomb", "Đông Ba Market"):
        assert main.loc[name, "matched_by"] == "name", name
    # every site sits where the table says (within 600 m of its documented coordinates)
    table = load_attraction_table().set_index("site")
    for name, row in main.iterrows():
        dx = (row["lon"] - table.loc[name, "lon_f"]) * 106_700
        dy = (row["lat"] - table.loc[name, "lat_f"]) * 110_600
        assert np.hypot(dx, dy) < 600, name
    assert (sites["drive_node"] < hue_city.drive.n_nodes).all()
    assert (sites["walk_node"] < hue_city.walk.n_nodes).all()


def test_a_table_in_memory_is_checked_like_a_file(grid):
    import pandas as pd

    good = {"site": "C", "poi_id": "", "names": "Citadel", "popularity": 5, "opens": "08:00",
            "closes": "17:00", "visit_min": 60, "gate_per_min": None, "capacity": 100}  # fmt: skip
    sites = resolve_attractions(grid, pd.DataFrame([good]), other_sites=None)
    assert sites.loc[0, "poi_id"] == "synthetic/4" and np.isnan(sites.loc[0, "gate_rate"])
    assert sites.loc[0, "capacity"] == 100 and sites.loc[0, "visit_s"] == 3600
    with pytest.raises(AttractionError, match="capacity is 0"):
        resolve_attractions(grid, pd.DataFrame([{**good, "capacity": 0}]))
