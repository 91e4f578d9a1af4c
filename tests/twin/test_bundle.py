"""The ``.twin`` bundle: round trip, atomic writes, damaged and stale bundles."""

from __future__ import annotations

import json
import shutil
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import twin
import twin.build.pipeline as build_module
from twin import atomic, bundle
from twin.build.pipeline import build_bundle, build_params, bundle_is_current, default_city
from twin.bundle import FORMAT_VERSION, read_bundle, read_bundle_meta, write_bundle
from twin.errors import BundleError, SourceNotFoundError, TwinError

DATA = Path(__file__).resolve().parents[1] / "data"
TOWN = DATA / "tiny_town.osm"


def _assert_same_city(a, b):
    assert (a.name, a.crs) == (b.name, b.crs)
    for kind in ("drive", "walk"):
        na, nb = getattr(a, kind), getattr(b, kind)
        assert na.road_classes == nb.road_classes
        for key, value in na.arrays().items():
            other = nb.arrays()[key]
            assert value.dtype == other.dtype, (kind, key)
            assert np.array_equal(value, other), (kind, key)
    for name in ("pois", "buildings", "zones"):
        pd.testing.assert_frame_equal(
            getattr(a, name).reset_index(drop=True), getattr(b, name), check_dtype=False
        )
    assert np.array_equal(a.node_zone, b.node_zone)


def test_round_trip(tmp_path, grid):
    path = write_bundle(grid, tmp_path / "grid.twin")
    city = read_bundle(path)
    _assert_same_city(grid, city)
    assert city.meta["params"] == grid.meta["params"]
    assert city.meta["bundle"] == str(path)
    assert city.population == pytest.approx(grid.population)


def test_bundle_is_one_uncompressed_zip_with_arrays_and_tables(tmp_path, grid):
    path = write_bundle(grid, tmp_path / "grid.twin")
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    assert {"meta.json", "drive/indptr.npy", "drive/name.json", "walk/length.npy"} <= names
    assert {"pois.parquet", "buildings.parquet", "zones.parquet", "node_zone.npy"} <= names
    meta = read_bundle_meta(path)
    assert meta["format_version"] == FORMAT_VERSION
    assert meta["networks"]["drive"]["nodes"] == grid.drive.n_nodes


def test_built_city_round_trip_keeps_names_and_meta(tmp_path):
    city = twin.build_city(TOWN, population=1000)
    loaded = read_bundle(write_bundle(city, tmp_path / "town.twin"))
    _assert_same_city(city, loaded)
    assert "Cầu Nhỏ" in set(loaded.drive.name)
    assert loaded.meta["source_sha256"] == city.meta["source_sha256"]
    assert loaded.meta["dropped"] == city.meta["dropped"]


def test_writes_are_atomic(tmp_path, grid, monkeypatch):
    path = write_bundle(grid, tmp_path / "city.twin")
    before = path.read_bytes()

    def fail(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bundle, "_parquet_bytes", fail)
    with pytest.raises(OSError, match="disk full"):
        write_bundle(grid, path)
    assert path.read_bytes() == before  # the old bundle is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["city.twin"]  # no temp file left

    monkeypatch.undo()
    fresh = tmp_path / "new" / "city.twin"

    def fail_late(*_args, **_kwargs):
        raise RuntimeError("interrupted")

    monkeypatch.setattr(atomic.os, "fsync", fail_late)
    with pytest.raises(RuntimeError):
        write_bundle(grid, fresh)
    assert not fresh.exists() and list(fresh.parent.iterdir()) == []


def test_missing_bundle(tmp_path):
    with pytest.raises(SourceNotFoundError, match="twin build"):
        read_bundle(tmp_path / "nope.twin")


@pytest.mark.parametrize(
    "damage",
    ["truncate", "garbage", "flip", "folder", "no_meta", "no_member", "other_zip_json"],
)
def test_damaged_bundles_raise_bundle_error(tmp_path, grid, damage):
    path = write_bundle(grid, tmp_path / "city.twin")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"not a zip at all" * 100)
    elif damage == "flip":
        with zipfile.ZipFile(path) as archive:
            info = archive.getinfo("drive/length.npy")
        start = info.header_offset + 30 + len(info.filename) + len(info.extra) + 200
        broken = bytearray(data)
        broken[start : start + 16] = bytes(16)
        path.write_bytes(bytes(broken))
    elif damage == "folder":
        path.unlink()
        path.mkdir()
    else:
        with zipfile.ZipFile(path) as archive:
            members = {n: archive.read(n) for n in archive.namelist()}
        if damage == "no_meta":
            del members["meta.json"]
        elif damage == "no_member":
            del members["walk/indices.npy"]
        else:
            members["meta.json"] = json.dumps({"format": "something else"}).encode()
        with zipfile.ZipFile(path, "w") as archive:
            for name, content in members.items():
                archive.writestr(name, content)
    with pytest.raises(BundleError) as info:
        read_bundle(path)
    assert "rebuild" in str(info.value).lower() or "twin build" in str(info.value)
    assert isinstance(info.value, TwinError) and isinstance(info.value, ValueError)


def test_other_format_version_is_refused(tmp_path, grid, monkeypatch):
    monkeypatch.setattr(bundle, "FORMAT_VERSION", FORMAT_VERSION + 1)
    path = write_bundle(grid, tmp_path / "future.twin")
    monkeypatch.undo()
    with pytest.raises(BundleError, match=f"format version {FORMAT_VERSION + 1}"):
        read_bundle(path)


def test_inconsistent_arrays_are_refused(tmp_path, grid):
    broken = replace(grid, node_zone=grid.node_zone[:-1])
    path = write_bundle(broken, tmp_path / "bad.twin")
    with pytest.raises(BundleError, match="node_zone"):
        read_bundle(path)


# -- staleness --------------------------------------------------------------------------
def test_bundle_is_rebuilt_only_when_source_or_parameters_change(tmp_path, monkeypatch):
    source = tmp_path / "town.osm"
    shutil.copy(TOWN, source)
    out = tmp_path / "town.twin"
    calls = []
    real = build_module.build_city

    def counting(*args, **kwargs):
        calls.append(kwargs.get("population"))
        return real(*args, **kwargs)

    monkeypatch.setattr(build_module, "build_city", counting)
    city, built = build_bundle(source, out, population=1000)
    assert built and len(calls) == 1
    assert bundle_is_current(out, source, build_params(population=1000))

    city, built = build_bundle(source, out, population=1000)
    assert not built and len(calls) == 1 and city.population == pytest.approx(1000)

    city, built = build_bundle(source, out, population=2000)  # a parameter changed
    assert built and len(calls) == 2 and city.population == pytest.approx(2000)

    source.write_text(TOWN.read_text(encoding="utf-8") + "<!-- edited -->\n", encoding="utf-8")
    assert not bundle_is_current(out, source, build_params(population=2000))
    city, built = build_bundle(source, out, population=2000)  # the source changed
    assert built and len(calls) == 3

    _, built = build_bundle(source, out, population=2000, force=True)
    assert built and len(calls) == 4

    out.write_bytes(b"corrupt")  # a damaged bundle is rebuilt, not an error
    _, built = build_bundle(source, out, population=2000)
    assert built and len(calls) == 5
    assert read_bundle(out).population == pytest.approx(2000)


def test_default_city_builds_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_OSM_PATH", str(TOWN))
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    city = default_city()
    bundle_path = tmp_path / "cache" / "hue.twin"
    assert bundle_path.is_file() and city.name == "Huế"
    assert city.population == pytest.approx(652_572)
    stamp = bundle_path.stat().st_mtime_ns
    again = twin.default_city()
    assert bundle_path.stat().st_mtime_ns == stamp  # loaded, not rebuilt
    assert again.drive.n_edges == city.drive.n_edges
    twin.default_city(rebuild=True)
    assert bundle_path.stat().st_mtime_ns != stamp


def test_default_city_missing_extract_says_where_it_looked(tmp_path, monkeypatch):
    missing = tmp_path / "nowhere" / "hue.osm.pbf"
    monkeypatch.setenv("TWIN_OSM_PATH", str(missing))
    monkeypatch.setenv("TWIN_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(SourceNotFoundError) as info:
        default_city()
    assert str(missing) in str(info.value) and "TWIN_OSM_PATH" in str(info.value)
    assert not (tmp_path / "cache" / "hue.twin").exists()
