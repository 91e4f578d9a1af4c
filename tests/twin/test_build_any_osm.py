"""Any OSM file that has roads builds: no POI or building, tags longer than OSM allows,
ways that reference nodes the file does not hold. What was missing is said in the build's
notes (``twin build`` and ``twin info`` print them)."""

from __future__ import annotations

import bz2

import numpy as np
import pytest

from tests.cli.workspace import roads_osm
from twin.build.osm import LongTagError, read_highways, shorten_long_tags
from twin.build.pipeline import build_city
from twin.bundle import read_bundle
from twin.cli import main


@pytest.fixture
def roads(tmp_path):
    path = tmp_path / "roads.osm"
    path.write_text(roads_osm(), encoding="utf-8")
    return path


def _with_tag(text: str, key: str, value: str) -> str:
    """The roads file with one more tag on its first way."""
    return text.replace(
        '<tag k="highway" v="residential"/></way>',
        f'<tag k="highway" v="residential"/><tag k="{key}" v="{value}"/></way>',
        1,
    )


def test_roads_alone_build_with_empty_layers_and_residents_on_the_streets(roads):
    city = build_city(roads, population=900)
    assert city.drive.n_nodes == 9 and city.drive.n_edges == 24
    assert len(city.pois) == 0 and len(city.buildings) == 0
    assert city.population == pytest.approx(900)
    report = city.meta["features"]["population"]
    assert report["on_streets"] == pytest.approx(900) and report["in_mapped_buildings"] == 0
    notes = " | ".join(city.meta["notes"])
    assert "no POIs" in notes and "no buildings" in notes and "along the streets" in notes


def test_the_cli_says_what_a_road_only_file_lacked(roads, tmp_path, capsys):
    out = tmp_path / "roads.twin"
    assert main(["build", str(roads), "-o", str(out), "--population", "900"]) == 0
    printed = capsys.readouterr().out
    assert "0 POIs, 0 buildings" in printed
    assert "note: no POIs" in printed and "note: no buildings" in printed
    assert main(["info", str(out)]) == 0
    assert "note        no buildings" in capsys.readouterr().out
    assert read_bundle(out).meta["notes"] == build_city(roads, population=900).meta["notes"]


@pytest.mark.parametrize("compress", [False, True], ids=["osm", "osm.bz2"])
def test_tags_longer_than_osm_allows_are_cut_and_counted(roads, tmp_path, compress):
    long_name = "Đường " + "dài " * 300  # 1,206 characters, over 3,000 bytes
    text = _with_tag(roads.read_text(encoding="utf-8"), "name", long_name.strip())
    text = _with_tag(text, "note", "x" * 2000)
    path = tmp_path / ("long.osm.bz2" if compress else "long.osm")
    data = text.encode("utf-8")
    path.write_bytes(bz2.compress(data) if compress else data)
    with pytest.raises(LongTagError, match="longer than 1024 bytes"):
        read_highways(path)  # what pyosmium alone does with it
    city = build_city(path, population=900)
    assert city.drive.n_edges == 24
    names = {str(n) for n in city.drive.name if n}
    assert names == {long_name.strip()[:255]}
    assert city.meta["tags_cut"] == 2
    assert any("2 tag keys or values longer than OSM allows" in n for n in city.meta["notes"])


def test_shortening_keeps_everything_else(roads, tmp_path):
    text = _with_tag(roads.read_text(encoding="utf-8"), "note", "y" * 300)
    source = tmp_path / "in.osm"
    source.write_text(text, encoding="utf-8")
    assert shorten_long_tags(source, tmp_path / "out.osm") == 1
    a, b = read_highways(roads), read_highways(tmp_path / "out.osm")
    assert a.locations == b.locations
    assert [(w, r) for w, _, r in a.ways] == [(w, r) for w, _, r in b.ways]
    assert b.ways[0][1]["note"] == "y" * 255


def test_ways_referencing_missing_nodes_are_counted(roads, tmp_path):
    text = roads.read_text(encoding="utf-8")
    # the middle of the first row and of the first column go missing: two ways cut
    text = text.replace('<nd ref="2"/>', '<nd ref="2"/><nd ref="1001"/>', 1)
    text = text.replace('<nd ref="4"/><nd ref="7"/>', '<nd ref="4"/><nd ref="1002"/><nd ref="7"/>')
    path = tmp_path / "cut.osm"
    path.write_text(text, encoding="utf-8")
    highways = read_highways(path)
    assert (highways.gaps, highways.missing_nodes) == (2, 2)
    city = build_city(path, population=900)
    assert city.meta["missing_nodes"] == {"ways": 2, "nodes": 2}
    assert any("2 roads reference 2 nodes" in n for n in city.meta["notes"])
    # the parts on either side of a missing node stay roads: 4-1002-7 loses 4-7 only
    assert np.isin([4, 7], city.drive.node_id).all()
