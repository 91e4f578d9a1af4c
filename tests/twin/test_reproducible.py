"""Two builds of one source with one set of parameters are the same bundle, byte for byte:
no build time in it, the source's own date instead (or ``SOURCE_DATE_EPOCH``), every zip
member dated alike, ``meta.json`` with sorted keys."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import osmium
import pytest

from twin.bundle import MEMBER_TIME, read_bundle
from twin.cli import main

TOWN = Path(__file__).resolve().parents[1] / "data" / "tiny_town.osm"


def _build(source: Path, out: Path, *extra: str) -> bytes:
    assert main(["build", str(source), "-o", str(out), "--force", "-q", *extra]) == 0
    return out.read_bytes()


def test_two_builds_are_the_same_bytes(tmp_path, capsys):
    a = _build(TOWN, tmp_path / "a.twin")
    b = _build(TOWN, tmp_path / "b.twin")
    assert a == b
    with zipfile.ZipFile(tmp_path / "a.twin") as archive:
        assert {info.date_time for info in archive.infolist()} == {MEMBER_TIME}
        meta = json.loads(archive.read("meta.json"))["meta"]
    assert "built_at" not in meta and "build_seconds" not in meta
    assert "seconds" not in meta["features"]
    # another set of parameters is another bundle
    assert _build(TOWN, tmp_path / "c.twin", "--population", "2000") != a


def test_the_bundle_is_dated_by_its_source(tmp_path, monkeypatch, capsys):
    source = tmp_path / "town.osm"
    source.write_bytes(TOWN.read_bytes())
    os.utime(source, (1_700_000_000, 1_700_000_000))
    first = _build(source, tmp_path / "a.twin")
    meta = read_bundle(tmp_path / "a.twin").meta
    assert meta["source_date"] == "2023-11-14T22:13:20+00:00"
    assert meta["source_date_from"] == "file modification time"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1000000000")
    second = _build(source, tmp_path / "b.twin")
    assert second != first
    meta = read_bundle(tmp_path / "b.twin").meta
    assert meta["source_date"] == "2001-09-09T01:46:40+00:00"
    assert meta["source_date_from"] == "SOURCE_DATE_EPOCH"
    assert main(["info", str(tmp_path / "b.twin")]) == 0
    assert "dated 2001-09-09T01:46:40+00:00" in capsys.readouterr().out


def test_a_header_date_wins_over_the_file_date(tmp_path, capsys):
    source = tmp_path / "town.osm.pbf"
    header = osmium.io.Header()
    header.set("osmosis_replication_timestamp", "2024-05-01T00:00:00Z")
    with osmium.SimpleWriter(str(source), header=header) as writer:
        for obj in osmium.FileProcessor(str(TOWN)):
            writer.add(obj)
    _build(source, tmp_path / "a.twin")
    meta = read_bundle(tmp_path / "a.twin").meta
    assert (meta["source_date"], meta["source_date_from"]) == ("2024-05-01T00:00:00Z", "OSM header")
    os.utime(source, (1_000_000, 1_000_000))  # a copy or a touch changes nothing
    assert _build(source, tmp_path / "b.twin") == (tmp_path / "a.twin").read_bytes()


@pytest.mark.parametrize("value", ["x", "-1", "1.5", ""])
def test_a_bad_source_date_epoch_is_one_clear_error(tmp_path, monkeypatch, capsys, value):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    assert main(["info", str(tmp_path / "none.twin")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("twin info: error: SOURCE_DATE_EPOCH=")
