"""Bad input ends in a clear TwinError, never a library traceback or a half-written bundle."""

from __future__ import annotations

import bz2
from pathlib import Path

import osmium
import pytest
import requests

from twin.build.osm import osm_format, read_highways
from twin.build.pipeline import build_city
from twin.cli import main
from twin.errors import (
    EmptyNetworkError,
    OfflineError,
    OSMReadError,
    SourceNotFoundError,
    TwinError,
)

DATA = Path(__file__).resolve().parents[1] / "data"
TOWN = DATA / "tiny_town.osm"


def _osm(body: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6">\n{body}</osm>\n'


@pytest.fixture
def town_pbf(tmp_path) -> Path:
    path = tmp_path / "town.osm.pbf"
    with osmium.SimpleWriter(str(path)) as writer:
        for obj in osmium.FileProcessor(str(TOWN)):
            writer.add(obj)
    return path


def _cli_fails(capsys, *args: str) -> str:
    """Run ``twin`` and return its stderr; it must fail cleanly with status 1."""
    assert main(list(args)) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_missing_file(tmp_path, capsys):
    with pytest.raises(SourceNotFoundError, match="does not exist") as info:
        build_city(tmp_path / "nope.osm.pbf")
    assert isinstance(info.value, FileNotFoundError)
    out = tmp_path / "x.twin"
    err = _cli_fails(capsys, "build", str(tmp_path / "nope.osm.pbf"), "-o", str(out))
    assert "nope.osm.pbf does not exist" in err
    assert not out.exists()


def test_folder_instead_of_file(tmp_path):
    with pytest.raises(SourceNotFoundError, match="--gmns"):
        build_city(tmp_path)


def test_empty_file(tmp_path):
    path = tmp_path / "empty.osm"
    path.write_bytes(b"")
    with pytest.raises(OSMReadError, match="empty"):
        build_city(path)


def test_truncated_pbf(tmp_path, town_pbf, capsys):
    data = town_pbf.read_bytes()
    cut = tmp_path / "cut.osm.pbf"
    cut.write_bytes(data[: len(data) * 2 // 3])
    assert osm_format(cut) == "pbf"  # the header survives; the blocks do not
    with pytest.raises(OSMReadError, match="truncated") as info:
        read_highways(cut)
    assert isinstance(info.value, ValueError)
    out = tmp_path / "cut.twin"
    err = _cli_fails(capsys, "build", str(cut), "-o", str(out))
    assert "truncated" in err and "download" in err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "cut.osm.pbf",
        "town.osm.pbf",
    ]


def test_xml_that_is_not_osm(tmp_path):
    path = tmp_path / "page.osm"
    path.write_text('<?xml version="1.0"?>\n<html><body>Hello</body></html>\n')
    with pytest.raises(OSMReadError, match="<html>, not <osm>"):
        build_city(path)


def test_binary_that_is_not_osm(tmp_path):
    path = tmp_path / "photo.osm.pbf"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(OSMReadError, match="not an OSM file"):
        build_city(path)


def test_bz2_that_is_not_osm(tmp_path):
    path = tmp_path / "notes.osm.bz2"
    path.write_bytes(bz2.compress(b"just some text, not xml\n"))
    with pytest.raises(OSMReadError, match="does not hold OSM XML"):
        build_city(path)


def test_truncated_bz2(tmp_path):
    data = bz2.compress(TOWN.read_bytes())
    path = tmp_path / "cut.osm.bz2"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(OSMReadError):
        build_city(path)


def test_broken_xml(tmp_path):
    text = TOWN.read_text(encoding="utf-8")
    path = tmp_path / "broken.osm"
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(OSMReadError, match="damaged or truncated"):
        build_city(path)


def test_mislabelled_file_is_read_by_content(tmp_path, town_pbf):
    path = tmp_path / "town.xml"
    path.write_bytes(town_pbf.read_bytes())
    assert osm_format(path) == "pbf"
    assert build_city(path, extra_pois=False).drive.n_edges > 0


def test_area_with_no_drivable_road(tmp_path, capsys):
    path = tmp_path / "park.osm"
    path.write_text(
        _osm(
            '<node id="1" lat="16.46" lon="107.59"/><node id="2" lat="16.461" lon="107.591"/>\n'
            '<node id="3" lat="16.462" lon="107.59"/>\n'
            '<way id="1"><nd ref="1"/><nd ref="2"/><nd ref="3"/>'
            '<tag k="highway" v="footway"/></way>\n'
        )
    )
    with pytest.raises(EmptyNetworkError, match="no drivable road") as info:
        build_city(path)
    assert isinstance(info.value, ValueError)
    out = tmp_path / "park.twin"
    err = _cli_fails(capsys, "build", str(path), "-o", str(out))
    assert "no drivable road" in err and not out.exists()


def test_file_with_no_roads_at_all(tmp_path):
    path = tmp_path / "points.osm"
    path.write_text(
        _osm('<node id="1" lat="16.46" lon="107.59"><tag k="amenity" v="cafe"/></node>\n')
    )
    with pytest.raises(EmptyNetworkError, match="no drivable road"):
        build_city(path)


def test_drivable_road_too_small_for_a_network(tmp_path):
    # a one-way stub: its strongly connected components are single nodes without edges
    path = tmp_path / "stub.osm"
    path.write_text(
        _osm(
            '<node id="1" lat="16.46" lon="107.59"/><node id="2" lat="16.461" lon="107.591"/>\n'
            '<way id="1"><nd ref="1"/><nd ref="2"/><tag k="highway" v="residential"/>'
            '<tag k="oneway" v="yes"/></way>\n'
        )
    )
    with pytest.raises(EmptyNetworkError):
        build_city(path)


def _offline(*_args, **_kwargs):
    raise requests.exceptions.ConnectionError("Failed to resolve 'nominatim.openstreetmap.org'")


def test_place_name_while_offline(monkeypatch, tmp_path, capsys):
    import osmnx

    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(osmnx, "geocode_to_gdf", _offline)
    monkeypatch.setattr(requests, "post", _offline)  # nothing may reach the network
    with pytest.raises(OfflineError, match="unreachable") as info:
        build_city(place="Huế, Vietnam")
    assert isinstance(info.value, ConnectionError) and isinstance(info.value, TwinError)
    assert "twin build FILE.osm.pbf" in str(info.value)
    out = tmp_path / "hue.twin"
    err = _cli_fails(capsys, "build", "--place", "Huế, Vietnam", "-o", str(out))
    assert "Nominatim" in err and not out.exists()


def test_overpass_unreachable(monkeypatch, tmp_path):
    import geopandas as gpd
    import osmnx
    from shapely.geometry import box

    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    area = gpd.GeoDataFrame(geometry=[box(107.5, 16.4, 107.6, 16.5)], crs="EPSG:4326")
    monkeypatch.setattr(osmnx, "geocode_to_gdf", lambda _place: area)
    monkeypatch.setattr(requests, "post", _offline)
    with pytest.raises(OfflineError, match="Overpass"):
        build_city(place="Huế")
    assert not list((tmp_path / "cache").rglob("*.osm"))


def test_default_city_missing_extract_from_the_cli(monkeypatch, tmp_path, capsys):
    missing = tmp_path / "gone.osm.pbf"
    monkeypatch.setenv("TWIN_OSM_PATH", str(missing))
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    err = _cli_fails(capsys, "build")
    assert str(missing) in err and "TWIN_OSM_PATH" in err
    assert err.count("error") == 1


def test_stale_or_corrupt_bundle_from_the_cli(tmp_path, capsys):
    path = tmp_path / "city.twin"
    path.write_bytes(b"PK\x03\x04 not really")
    err = _cli_fails(capsys, "info", str(path))
    assert "not a .twin bundle" in err and "twin build" in err
    err = _cli_fails(capsys, "info", str(tmp_path / "absent.twin"))
    assert "does not exist" in err


def test_a_bundle_passed_as_source(tmp_path, grid, capsys):
    from twin.bundle import write_bundle

    bundle = write_bundle(grid, tmp_path / "grid.twin")
    with pytest.raises(OSMReadError, match="twin info"):
        build_city(bundle)
