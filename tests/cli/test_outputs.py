"""Outputs through the commands: checked before the work, replaced only when they are an
earlier output of the same kind, swapped in whole."""

from __future__ import annotations

import json
import os

import pandas as pd

import twin.build.pipeline as pipeline
from tests.cli.workspace import changes, snapshot
from twin.build.gmns import EXPORT_MARKER, is_gmns_export, read_gmns
from twin.bundle import read_bundle
from twin.cli import main


def _fails(argv: list[str], capsys) -> str:
    assert main(argv) == 1
    return capsys.readouterr().err


# -- twin export --gmns ---------------------------------------------------------------------------
def test_export_force_replaces_an_earlier_export_whole(workspace, capsys):
    before = (workspace / "export" / "link.csv").read_bytes()
    assert main(["export", "other.twin", "--gmns", "export", "--force"]) == 0
    folder = workspace / "export"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["node.csv", "link.csv", "config.csv", EXPORT_MARKER]
    )
    assert (folder / "link.csv").read_bytes() != before  # the 4 × 4 city now
    assert read_gmns(folder).drive.n_nodes == 16
    assert is_gmns_export(folder)  # and it may be replaced again
    assert oct(folder.stat().st_mode & 0o777) == oct(0o777 & ~_umask())
    assert not [p.name for p in workspace.iterdir() if p.name.startswith(".export")]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_export_into_an_empty_folder_needs_no_force(workspace):
    (workspace / "empty").mkdir()
    assert main(["export", "city.twin", "--gmns", "empty"]) == 0
    assert is_gmns_export(workspace / "empty")


def test_an_export_that_fails_leaves_the_earlier_one(workspace, monkeypatch, capsys):
    earlier = snapshot(workspace / "export")
    real = pd.DataFrame.to_csv

    def fail_on_links(self, path=None, *args, **kwargs):
        if str(path).endswith("link.csv"):
            raise OSError(28, "No space left on device")
        return real(self, path, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", fail_on_links)
    err = _fails(["export", "other.twin", "--gmns", "export", "--force"], capsys)
    assert err.startswith("twin export: error: [Errno 28] No space left on device")
    assert not changes(earlier, snapshot(workspace / "export"))
    assert not [p.name for p in workspace.iterdir() if p.name.startswith(".export")]


def test_export_refuses_the_folder_it_runs_in(workspace, monkeypatch, capsys):
    (workspace / "here").mkdir()
    monkeypatch.chdir(workspace / "here")
    err = _fails(["export", "../city.twin", "--gmns", "."], capsys)
    assert "the folder you are in" in err
    assert list((workspace / "here").iterdir()) == []


def test_export_of_a_gmns_city_never_replaces_its_source(workspace, capsys):
    """A city built from an earlier export: exporting it back over that export is refused,
    since the export is the city's source."""
    assert main(["build", "--gmns", "export", "-o", "again.twin"]) == 0
    err = _fails(["export", "again.twin", "--gmns", "export", "--force"], capsys)
    assert "the GMNS folder the city was built from" in err


# -- twin build -o --------------------------------------------------------------------------------
def test_build_replaces_an_earlier_bundle_or_a_damaged_one(workspace, capsys):
    (workspace / "damaged.twin").write_bytes(b"PK\x03\x04 cut short")
    for target in ("city.twin", "damaged.twin"):
        assert main(["build", "town.osm", "-o", target, "--force"]) == 0
        assert read_bundle(workspace / target).name == "town"


def test_build_checks_its_output_before_the_work(workspace, monkeypatch, capsys):
    def no_build(*_args, **_kwargs):
        raise AssertionError("the build started before its output was checked")

    monkeypatch.setattr(pipeline, "build_city", no_build)
    for argv in (
        ["build", "town.osm", "-o", "notes.txt"],
        ["build", "town.osm", "-o", "gmns"],
        ["build", "--gmns", "gmns", "-o", "notes.txt"],
    ):
        assert main(argv) == 1
    assert "Traceback" not in capsys.readouterr().err


def test_run_checks_its_output_before_loading_the_city(workspace, monkeypatch, capsys):
    def no_city(*_args, **_kwargs):
        raise AssertionError("the city was loaded before the output was checked")

    monkeypatch.setattr(pipeline, "load_city", no_city)
    err = _fails(["run", "--city", "city.twin", "-o", "gmns"], capsys)
    assert "not empty" in err


# -- twin coverage --zones-csv --------------------------------------------------------------------
def test_zone_table_replaces_only_an_earlier_zone_table(workspace, capsys):
    argv = ["coverage", "--city", "city.twin", "--free-flow", "--zones-csv", "zones.csv"]
    assert main(argv) == 0
    first = (workspace / "zones.csv").read_text()
    assert first.startswith("zone,name,hour,share,population")
    assert main([*argv, "--minutes", "1"]) == 0  # an earlier table: replaced
    assert (workspace / "zones.csv").read_text() != first
    err = _fails([*argv[:-1], "notes.txt"], capsys)
    assert "notes.txt already exists" in err


# -- twin rerun -o --------------------------------------------------------------------------------
def test_rerun_writes_a_new_folder_but_never_over_its_input(workspace, capsys):
    before = snapshot(workspace / "run")
    assert main(["rerun", "run", "-o", "again", "--no-progress"]) == 0
    assert json.loads((workspace / "again" / "manifest.json").read_text())["digest"]
    assert not changes(before, snapshot(workspace / "run"))
