"""Fixtures of the hostile-input suite: a workspace of real inputs, copied for each case."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

from tests.cli.workspace import build_template


@pytest.fixture(scope="session")
def template(tmp_path_factory) -> Path:
    """The workspace's inputs, built once (tests/cli/workspace.py)."""
    return build_template(tmp_path_factory.mktemp("hostile") / "workspace")


@pytest.fixture
def workspace(template, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the workspace, the current folder, with the settings pointing into
    it: the cache (the default city's extract is missing), the catalog root; no display."""
    ws = tmp_path / "ws"
    shutil.copytree(template, ws, symlinks=True)
    monkeypatch.chdir(ws)
    monkeypatch.setenv("TWIN_CACHE_DIR", str(ws / ".cache"))
    monkeypatch.setenv("TWIN_OSM_PATH", str(ws / ".cache" / "no-extract.osm.pbf"))
    monkeypatch.setenv("TWIN_RUNS_DIR", str(ws / "catalog"))
    for display in ("DISPLAY", "WAYLAND_DISPLAY"):  # twin view: none, unless a case sets one
        monkeypatch.delenv(display, raising=False)
    return ws


def _writable(folder: Path) -> bool:
    try:
        with tempfile.TemporaryFile(dir=folder):
            return True
    except OSError:
        return False


@pytest.fixture
def readonly(tmp_path) -> Path:
    """A folder nobody can write in: one without write permission, or, for root (whom
    permissions do not stop), a read-only system folder."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    if not _writable(folder):
        yield folder
    else:
        system = Path("/sys")
        if os.name != "posix" or not system.is_dir() or _writable(system):
            pytest.skip("no folder here is read-only to this user")
        yield system / "twin-hostile"
    folder.chmod(stat.S_IRWXU)
