"""Shared fixtures: synthetic cities, the real Huế extract, offline osmnx."""

from __future__ import annotations

import os
from pathlib import Path

import osmnx
import pytest

from twin.synthetic import grid_city

# An accidental online call must fail fast rather than wait for Overpass's rate limit.
osmnx.settings.overpass_rate_limit = False

DATA = Path(__file__).parent / "data"


@pytest.fixture(autouse=True)
def _catalog_of_its_own(tmp_path_factory, monkeypatch):
    """Runs a test registers (``twin run`` registers every run) go to a results root of the
    test's own, never to ./runs."""
    monkeypatch.setenv("TWIN_RUNS_DIR", str(tmp_path_factory.mktemp("runs-root")))


@pytest.fixture
def grid():
    """A 5 × 5 grid city, 200 m blocks, 36 km/h streets (20 s a block)."""
    return grid_city()


@pytest.fixture(scope="session")
def hue_osm_path() -> Path:
    """The real Huế extract. Missing in CI is a failure; elsewhere the test is skipped."""
    from twin.settings import get_settings

    path = get_settings().osm_path
    if not path.is_file():
        message = f"the Huế extract is not at {path}; set TWIN_OSM_PATH"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def hue_city(hue_osm_path):
    """The real Huế city, built once into the user cache (rebuilt when the extract changes)."""
    from twin.build.pipeline import default_city

    return default_city()
