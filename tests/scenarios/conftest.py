"""Fixtures of the scenario tests: the grid city as a bundle and one real run of it."""

from __future__ import annotations

import pytest

from tests.scenarios.runs import make_run
from twin.bundle import write_bundle
from twin.synthetic import grid_city


@pytest.fixture(scope="session")
def grid_bundle(tmp_path_factory):
    """The 5 × 5 grid city saved as a bundle."""
    return write_bundle(grid_city(), tmp_path_factory.mktemp("city") / "grid.twin")


@pytest.fixture(scope="session")
def run_dir(grid_bundle, tmp_path_factory):
    """One real run of the grid city, 06:00–06:30 (shared: clone it before changing it)."""
    return make_run(grid_bundle, tmp_path_factory.mktemp("run") / "grid-0630")


@pytest.fixture
def root(tmp_path):
    """An empty results root."""
    return tmp_path / "catalog"
