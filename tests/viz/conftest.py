"""Fixtures of the view's tests: the river town, a comparison with one bridge closed, and a
run folder of it. Made once per session (a comparison takes a few seconds)."""

from __future__ import annotations

import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.viz.town import NEW_BRIDGE_COLUMN, NORTH_ROW, SCRIPT_NAME, SOUTH_ROW, node, town
from twin.bundle import write_bundle

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")


@pytest.fixture(scope="session")
def river_town():
    return town()


def compare_in_town(folder: Path, town_city, files: dict[str, str]) -> Path:
    """Write the river town and the scenario ``files`` (name → TOML text, dedented; the
    first is the base, the others options) into ``folder``, compare them and return the
    comparison folder."""
    from scenarios.compare import compare_scenarios
    from scenarios.executor import Executor

    write_bundle(town_city, folder / "town.twin")
    for name, text in files.items():
        (folder / name).write_text(textwrap.dedent(text), encoding="utf-8")
    base, *options = (folder / name for name in files)
    with pytest.MonkeyPatch.context() as patch, Executor(workers=0) as executor:
        # the replications register in a run catalog of their own, never in ./runs
        patch.setenv("TWIN_RUNS_DIR", str(folder / "runs-root"))
        compare_scenarios(
            base, options, out_dir=folder / "cmp",
            executor=executor,
        )  # fmt: skip
    return folder / "cmp"


@pytest.fixture(scope="session")
def comparison(tmp_path_factory, river_town) -> Path:
    """A comparison of the river town with Cầu Một closed, 07:00-07:45, 2 replications."""
    base = """
        [scenario]
        name = "base"
        title = { vi = "Ngày thường", en = "A weekday" }
        description = { vi = "Thị trấn như hôm nay.", en = "The town as it is." }
        city = "town.twin"
        window = ["07:00", "07:45"]
        seed = 1
        replications = 2
        [demand]
        scale = 1.0
        [tourism.demand]
        tourists_per_day = 3000
        [emergency.demand]
        medical_per_1000_residents_per_day = 40
        """
    closed = f"""
        [scenario]
        name = "closed"
        extends = "base.toml"
        title = {{ vi = "Đóng Cầu Một {SCRIPT_NAME}", en = "Cầu Một closed {SCRIPT_NAME}" }}
        [[intervention]]
        type = "close_road"
        road = "Cầu Một"
        """
    files = {"base.toml": base, "closed.toml": closed}
    return compare_in_town(tmp_path_factory.mktemp("viz"), river_town, files)


@pytest.fixture(scope="session")
def bridged(tmp_path_factory, river_town) -> Path:
    """A comparison of the river town with Cầu Một closed, without and with a new bridge
    ("Cầu Mới") between them, 07:00-07:30, one replication."""
    south, north = node(NEW_BRIDGE_COLUMN, SOUTH_ROW) + 1, node(NEW_BRIDGE_COLUMN, NORTH_ROW) + 1
    closed = """
        [scenario]
        name = "closed"
        title = { vi = "Đóng Cầu Một", en = "Cầu Một closed" }
        city = "town.twin"
        window = ["07:00", "07:30"]
        seed = 3
        replications = 1
        [emergency.demand]
        medical_per_1000_residents_per_day = 60
        [[intervention]]
        type = "close_road"
        road = "Cầu Một"
        """
    bridge = f"""
        [scenario]
        name = "bridged"
        extends = "closed.toml"
        title = {{ vi = "Cầu Mới", en = "A new bridge" }}
        [[intervention]]
        type = "add_road"
        from_node = {south}
        to_node = {north}
        road_class = "secondary"
        name = "Cầu Mới"
        bridge = true
        """
    files = {"closed.toml": closed, "bridged.toml": bridge}
    return compare_in_town(tmp_path_factory.mktemp("viz-bridged"), river_town, files)


@pytest.fixture(scope="session")
def run_dirs(comparison) -> tuple[Path, Path]:
    """The first replication of each scenario, as run folders."""
    return comparison / "runs" / "base" / "r000", comparison / "runs" / "closed" / "r000"


def chromium() -> str:
    """The Chromium binary; the test fails (or, off CI, is skipped) without one."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    message = "Chromium is not installed; bash scripts/setup.sh test installs it"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def browse(page: Path, out: Path, *, size=(1280, 900), dump_dom: bool = False) -> str:
    """Open ``page`` in headless Chromium (no network) and screenshot it to ``out``; returns
    the DOM after scripts ran when ``dump_dom``, else Chromium's output."""
    profile = out.parent / f"chrome-{out.stem}"
    args = [
        chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
        "--host-resolver-rules=MAP * ~NOTFOUND", f"--window-size={size[0]},{size[1]}",
        "--virtual-time-budget=10000", "--hide-scrollbars",
    ]  # fmt: skip
    args += ["--dump-dom"] if dump_dom else [f"--screenshot={out}"]
    done = subprocess.run(
        [*args, page.resolve().as_uri()], capture_output=True, text=True, timeout=180
    )
    shutil.rmtree(profile, ignore_errors=True)
    return done.stdout if dump_dom else done.stdout + done.stderr
