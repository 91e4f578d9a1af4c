"""Registering runs and listing them: ids, completeness, labels, folders that go away."""

from __future__ import annotations

import hashlib
import json
import logging
import shutil

import numpy as np
import pandas as pd
import pytest

from scenarios.catalog import (
    CatalogError,
    LabelError,
    RunFolderError,
    UnknownKPIError,
    catalog_root,
    forget_runs,
    list_runs,
    prune,
    register_run,
    run_id_of,
    scan,
)
from scenarios.catalog.entries import BASE_COLUMNS, make_run_id
from scenarios.catalog.registry import CATALOG_FOLDER, FORMAT
from tests.scenarios.runs import clone_run, edit_manifest


def _manifest_sha(run_dir) -> str:
    return hashlib.sha256((run_dir / "manifest.json").read_bytes()).hexdigest()


def test_a_registered_run_is_one_row_with_its_manifest_and_labels(run_dir, root):
    entry = register_run(run_dir, root=root, labels={"scenario": "baseline", "replication": 2})
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert entry.run_id == make_run_id(_manifest_sha(run_dir), str(run_dir))
    assert entry.run_id == run_id_of(run_dir, root=root)
    assert entry.digest == manifest["digest"]
    assert entry.seed == manifest["spec"]["seed"] == 0
    assert entry.created == manifest["created"]
    assert entry.wall_s == manifest["timers_s"]["total"]
    assert entry.city == "grid 5x5"
    assert (entry.start_s, entry.end_s, entry.window) == (21_600.0, 23_400.0, "06:00-06:30")
    assert entry.tables == ("trips", "links", "visits", "incidents", "kpis")
    assert entry.scenario == "baseline"
    # one registration file, named by the id, pointing at the folder
    files = sorted((root / CATALOG_FOLDER).iterdir())
    assert [f.name for f in files] == [f"{entry.run_id}.json"]
    record = json.loads(files[0].read_text(encoding="utf-8"))
    assert record["format"] == FORMAT
    assert record["path"] == str(run_dir)  # outside the root: absolute
    assert record["manifest_sha256"] == _manifest_sha(run_dir)
    table = list_runs(root)
    assert list(table.columns) == [*BASE_COLUMNS, "scenario", "replication"]
    assert len(table) == 1
    row = table.iloc[0]
    assert row["run_id"] == entry.run_id and row["path"] == str(run_dir)
    assert row["created"] == pd.Timestamp(manifest["created"]).tz_convert(None)
    assert row["scenario"] == "baseline" and row["replication"] == 2
    assert str(table["replication"].dtype) == "Int64"


def test_registering_again_keeps_the_id_and_takes_the_new_labels(run_dir, root):
    first = register_run(run_dir, root=root, labels={"scenario": "a"})
    again = register_run(run_dir, root=root, labels={"scenario": "b", "note": "checked"})
    assert again.run_id == first.run_id
    assert again.registered == first.registered
    table = list_runs(root)
    assert len(table) == 1
    assert table.loc[0, "scenario"] == "b" and table.loc[0, "note"] == "checked"


def test_run_ids_are_stable_and_differ_between_runs(run_dir, tmp_path, root):
    a = clone_run(run_dir, tmp_path / "a", created="2026-01-01T00:00:00+00:00")
    b = clone_run(run_dir, tmp_path / "b", created="2026-01-01T00:00:01+00:00")
    ids = [register_run(d, root=root).run_id for d in (a, b, a, b)]
    assert ids[0] == ids[2] and ids[1] == ids[3] and ids[0] != ids[1]
    assert all(len(i) == 12 and int(i, 16) >= 0 for i in ids)
    # oldest first
    assert list_runs(root)["run_id"].tolist() == ids[:2]


def test_a_run_under_the_root_is_kept_by_relative_path_and_the_root_can_move(run_dir, tmp_path):
    root = tmp_path / "results"
    inside = clone_run(run_dir, root / "morning", created="2026-01-01T06:00:00+00:00")
    entry = register_run(inside, root=root)
    record = json.loads((root / CATALOG_FOLDER / f"{entry.run_id}.json").read_text())
    assert record["path"] == "morning"
    moved = tmp_path / "elsewhere"
    shutil.move(root, moved)
    table = list_runs(moved)
    assert table["run_id"].tolist() == [entry.run_id]
    assert table.loc[0, "path"] == str(moved / "morning")
    assert register_run(moved / "morning", root=moved).run_id == entry.run_id


@pytest.mark.parametrize("damage", ["no manifest", "file missing", "file cut short", "not a run"])
def test_an_incomplete_folder_is_not_registered(run_dir, tmp_path, root, damage):
    folder = clone_run(run_dir, tmp_path / "run", created="2026-01-01T00:00:00+00:00")
    if damage == "no manifest":
        (folder / "manifest.json").unlink()
        expected = "no manifest.json"
    elif damage == "file missing":
        (folder / "links.parquet").unlink()
        expected = "links.parquet is listed in manifest.json but missing"
    elif damage == "file cut short":
        data = (folder / "trips.parquet").read_bytes()
        (folder / "trips.parquet").write_bytes(data[: len(data) // 2])
        expected = "trips.parquet has"
    else:
        edit_manifest(folder, format="something-else/1")
        expected = "not a run manifest"
    with pytest.raises(RunFolderError, match=expected) as info:
        register_run(folder, root=root)
    assert isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)
    assert not (root / CATALOG_FOLDER).exists() or not list((root / CATALOG_FOLDER).iterdir())


def test_a_write_still_in_progress_is_not_a_run(run_dir, tmp_path, root):
    # write_run builds its folder as a hidden sibling and renames it at the end
    tmp = tmp_path / ".run.tmp-0123456789ab"
    tmp.mkdir()
    shutil.copy(run_dir / "trips.parquet", tmp / "trips.parquet")
    with pytest.raises(RunFolderError, match="not a finished run folder"):
        register_run(tmp, root=root)
    with pytest.raises(RunFolderError, match="not a folder"):
        register_run(tmp_path / "nothing-here", root=root)


def test_a_deleted_run_folder_is_reported_and_skipped(run_dir, tmp_path, root, caplog):
    keep = clone_run(run_dir, tmp_path / "keep", created="2026-01-01T00:00:00+00:00")
    gone = clone_run(run_dir, tmp_path / "gone", created="2026-01-02T00:00:00+00:00")
    kept, lost = (register_run(d, root=root) for d in (keep, gone))
    shutil.rmtree(gone)
    found = scan(root)
    assert [e.run_id for e in found.entries] == [kept.run_id]
    assert len(found.problems) == 1
    problem = found.problems[0]
    assert problem.run_id == lost.run_id
    assert str(gone) in problem.message and "no longer exists" in problem.message
    assert "--prune" in problem.message
    with caplog.at_level(logging.WARNING):
        table = list_runs(root)
    assert table["run_id"].tolist() == [kept.run_id]
    assert lost.run_id in caplog.text
    # prune forgets it, and only it
    assert [p.run_id for p in prune(root)] == [lost.run_id]
    assert not (root / CATALOG_FOLDER / f"{lost.run_id}.json").exists()
    assert scan(root).problems == ()
    assert list_runs(root)["run_id"].tolist() == [kept.run_id]


def test_a_folder_written_again_supersedes_its_old_registration(run_dir, tmp_path, root):
    folder = clone_run(run_dir, tmp_path / "run", created="2026-01-01T00:00:00+00:00")
    old = register_run(folder, root=root)
    # `twin run --force` writes another run into the same folder
    edit_manifest(folder, created="2026-01-03T00:00:00+00:00")
    found = scan(root)
    assert found.entries == ()
    assert len(found.problems) == 1 and "now holds another run" in found.problems[0].message
    new = register_run(folder, root=root)
    found = scan(root)
    assert [e.run_id for e in found.entries] == [new.run_id] and found.problems == ()
    assert [p.name for p in found.superseded] == [f"{old.run_id}.json"]
    prune(root)
    assert sorted(p.name for p in (root / CATALOG_FOLDER).iterdir()) == [f"{new.run_id}.json"]


def test_a_copy_is_a_run_of_its_own_and_a_moved_run_is_registered_anew(run_dir, tmp_path, root):
    first = clone_run(run_dir, tmp_path / "first", created="2026-01-01T00:00:00+00:00")
    base = register_run(first, root=root, labels={"scenario": "base"})
    # a comparison may write one result under two scenarios' names
    copy = tmp_path / "copy"
    shutil.copytree(first, copy)
    option = register_run(copy, root=root, labels={"scenario": "option"})
    assert option.run_id != base.run_id
    table = list_runs(root)
    assert dict(zip(table["run_id"], table["scenario"], strict=True)) == {
        base.run_id: "base",
        option.run_id: "option",
    }
    moved = tmp_path / "moved"
    shutil.move(first, moved)
    found = scan(root)
    assert [p.run_id for p in found.problems] == [base.run_id]
    again = register_run(moved, root=root)
    assert again.run_id not in (base.run_id, option.run_id)
    assert sorted(e.run_id for e in scan(root).entries) == sorted([option.run_id, again.run_id])


def test_forget_removes_a_registration_and_names_unknown_ids(run_dir, root):
    entry = register_run(run_dir, root=root)
    with pytest.raises(CatalogError, match="no runs \\['abc'\\]"):
        forget_runs(["abc"], root=root)
    assert forget_runs([entry.run_id], root=root) == [entry.run_id]
    assert list_runs(root).empty
    assert run_dir.joinpath("manifest.json").is_file()  # the folder is left alone


def test_broken_and_half_written_registrations(run_dir, root):
    entry = register_run(run_dir, root=root)
    folder = root / CATALOG_FOLDER
    (folder / "0000deadbeef.json").write_text('{"format": "hue-twin-catal')  # cut short
    (folder / f".{entry.run_id}.json.tmp-123456789abc").write_text("{")  # being written
    found = scan(root)
    assert [e.run_id for e in found.entries] == [entry.run_id]
    assert len(found.problems) == 1
    assert "0000deadbeef.json is not a readable registration" in found.problems[0].message
    prune(root)
    assert not (folder / "0000deadbeef.json").exists()


def test_an_empty_or_missing_root_lists_nothing(tmp_path):
    table = list_runs(tmp_path / "nothing")
    assert table.empty and list(table.columns) == list(BASE_COLUMNS)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        ({"my scenario": 1}, "cannot be a column"),
        ({"1st": 1}, "cannot be a column"),
        ({"digest": "x"}, "would hide"),
        ({"Seed": 1}, "would hide"),
        ({"mean_speed_kmh": 30.0}, "would hide"),
        ({"params": {"a": 1}}, "give text, a number"),
        ({"levels": [1, 2]}, "give text, a number"),
        ({"scale": float("nan")}, "finite"),
    ],
)
def test_labels_that_cannot_be_columns(run_dir, root, labels, message):
    with pytest.raises(LabelError, match=message):
        register_run(run_dir, root=root, labels=labels)
    assert not (root / CATALOG_FOLDER).exists()


def test_label_columns_take_the_narrowest_type(run_dir, tmp_path, root):
    labels = [
        {"scenario": "a", "replication": np.int64(0), "demand.scale": 1, "flood": True},
        {"scenario": "b", "replication": 1, "demand.scale": 1.25, "flood": False, "mix": 1},
        {"scenario": "c", "mix": "x"},
    ]
    for k, given in enumerate(labels):
        folder = clone_run(run_dir, tmp_path / f"r{k}", created=f"2026-01-0{k + 1}T00:00:00+00:00")
        register_run(folder, root=root, labels=given)
    table = list_runs(root)
    assert str(table["replication"].dtype) == "Int64"
    assert table["replication"].tolist()[:2] == [0, 1] and pd.isna(table["replication"][2])
    assert str(table["demand.scale"].dtype) == "Float64"
    assert table["demand.scale"].tolist()[:2] == [1.0, 1.25]
    assert str(table["flood"].dtype) == "boolean"
    assert table["mix"].tolist()[1:] == ["1", "x"]  # numbers and text mixed: text


def test_kpi_columns_come_from_each_runs_kpis(run_dir, tmp_path, root):
    register_run(run_dir, root=root)
    kpis = json.loads((run_dir / "kpis.json").read_text(encoding="utf-8"))
    table = list_runs(root, kpis=["trips_completed", "co2_kg_by_class.car", "response_time_p90_s"])
    assert table.loc[0, "trips_completed"] == kpis["trips_completed"]
    assert table.loc[0, "co2_kg_by_class.car"] == kpis["co2_kg_by_class"]["car"]
    expected = kpis["response_time_p90_s"]
    assert (pd.isna(table.loc[0, "response_time_p90_s"]) and expected is None) or (
        table.loc[0, "response_time_p90_s"] == expected
    )
    with pytest.raises(UnknownKPIError, match="did you mean"):
        list_runs(root, kpis=["trips_complete"])


def test_the_root_is_a_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("TWIN_RUNS_DIR", str(tmp_path / "from-env"))
    assert catalog_root() == (tmp_path / "from-env").resolve()
    assert catalog_root(tmp_path / "given") == (tmp_path / "given").resolve()
    monkeypatch.delenv("TWIN_RUNS_DIR")
    config = tmp_path / "conf" / "twin.toml"
    config.parent.mkdir()
    config.write_text('runs_dir = "results"\n')
    monkeypatch.setenv("TWIN_CONFIG", str(config))
    assert catalog_root() == (tmp_path / "conf" / "results").resolve()
    monkeypatch.delenv("TWIN_CONFIG")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "no-config"))
    assert catalog_root() == (tmp_path / "runs").resolve()


def test_an_unwritable_root_says_the_run_is_intact(run_dir, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(CatalogError, match="the run folder is intact"):
        register_run(run_dir, root=blocker)
