"""The 3D view on Huế: the full scene to PNG, the HTML scene, a 24-hour animation.

Run on purpose (not in CI), when the machine is quiet (``uptime``):

    TWIN_CACHE_DIR=... .venv/bin/python benchmarks/bench_viz.py \\
        --comparison runs/cmp --run runs/day [--gif]

``--comparison`` is a comparison folder of Huế (``twin compare``, any window); ``--run`` a
whole-day run (``twin run --scale 0.3 -o runs/day``) for the 24-hour animation. Each figure
is printed with its target and the ratio against it, and against a reference measured in
the same run (loading the city's bundle, and drawing an empty window, which is what EGL and
the shaders cost).

Targets: every building and road of Huế to PNG off screen in at most 5 s after loading;
the HTML scene at most 30 MB and opening in headless Chromium; 96 frames (24 hours at
15 minutes) to MP4 in at most 60 s.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

TARGET_PNG_S = 5.0
TARGET_HTML_MB = 30.0
TARGET_ANIMATION_S = 60.0


def _seconds(fn):
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def _chromium_renders(page: Path, folder: Path) -> tuple[float, int]:
    """Seconds for headless Chromium to open ``page`` and the distinct colours it shows."""
    from PIL import Image

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        return float("nan"), 0
    shot = folder / "scene.png"
    args = [
        chromium, "--headless", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
        "--enable-unsafe-swiftshader", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", f"--user-data-dir={folder / 'c'}",
        "--host-resolver-rules=MAP * ~NOTFOUND", "--window-size=1400,900",
        "--virtual-time-budget=20000", f"--screenshot={shot}", page.resolve().as_uri(),
    ]  # fmt: skip
    seconds, _ = _seconds(lambda: subprocess.run(args, capture_output=True, timeout=600))
    if not shot.is_file():
        return seconds, 0
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3)
    return seconds, len({tuple(p) for p in pixels[::37]})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--comparison", type=Path, required=True, help="a comparison of Huế")
    parser.add_argument("--run", type=Path, help="a whole-day run of Huế (the animation)")
    parser.add_argument("--gif", action="store_true", help="also time the animation as GIF")
    args = parser.parse_args()

    from twin.build.pipeline import load_city
    from twin.bundle import read_bundle
    from twin.settings import get_settings
    from viz.output import write_image, write_view
    from viz.render import Renderer
    from viz.results import load_results
    from viz.scene import Scene
    from viz.views import View, ViewOptions

    load_city()  # build the bundle if it is stale, outside the timings
    bundle = get_settings().default_bundle
    load_s, city = _seconds(lambda: read_bundle(bundle))
    results = load_results([args.comparison])
    folder = Path(tempfile.mkdtemp(prefix="bench-viz-"))
    print(f"Huế: {city.drive.n_edges:,} drive edges, {len(city.buildings):,} buildings, "
          f"{len(city.shapes().water):,} water areas; bundle loads in {load_s:.2f} s")  # fmt: skip

    empty_s, _ = _seconds(lambda: Renderer([Scene("", [])], _camera(city)).image())
    print(f"reference: an empty window drawn in {empty_s:.2f} s (EGL context and shaders)")

    # -- the full scene to PNG, after loading ---------------------------------------------
    for label in ("first (cold) render", "second render, same process"):

        def png():
            view = View(city, results, ViewOptions(zones=None), check_city=False)
            scenes = view.scenes(view.busiest())
            with Renderer(scenes[:1], view.camera) as renderer:
                return write_image(renderer.image(), folder / "hue.png"), scenes

        seconds, (_, scenes) = _seconds(png)
        roads = scenes[0].layer("roads").mesh.n_cells
        buildings = scenes[0].layer("buildings").mesh.n_cells
        print(f"full scene to PNG, {label}: {seconds:.2f} s ({roads:,} road quads, "
              f"{buildings:,} building cells); target {TARGET_PNG_S:.0f} s: "
              f"{seconds / TARGET_PNG_S:.2f} × target, {seconds / load_s:.1f} × loading, "
              f"{seconds / empty_s:.1f} × an empty window")  # fmt: skip

    # -- the HTML scene ---------------------------------------------------------------------
    view = View(city, results, ViewOptions(color="entries", diff=True), check_city=False)
    seconds, page = _seconds(lambda: write_view(view, folder / "hue.html"))
    mb = page.stat().st_size / 1e6
    open_s, colours = _chromium_renders(page, folder)
    print(f"HTML scene: {mb:.1f} MB written in {seconds:.1f} s; target {TARGET_HTML_MB:.0f} MB:"
          f" {mb / TARGET_HTML_MB:.2f} × target; headless Chromium opened it in {open_s:.1f} s"
          f" showing {colours} colours ({'rendered' if colours > 50 else 'BLANK'})")  # fmt: skip

    # -- 24 hours at 15 minutes -------------------------------------------------------------
    if args.run is not None:
        day = load_results([args.run])
        view = View(city, day, ViewOptions(zones=None), check_city=False)
        frames = len(view.intervals)
        for suffix in (".mp4", ".gif") if args.gif else (".mp4",):
            seconds, path = _seconds(lambda s=suffix: write_view(view, folder / f"day{s}"))
            print(f"animation, {frames} frames to {suffix}: {seconds:.1f} s "
                  f"({seconds / frames:.2f} s a frame, {path.stat().st_size / 1e6:.1f} MB); "
                  f"target {TARGET_ANIMATION_S:.0f} s: {seconds / TARGET_ANIMATION_S:.2f} × "
                  f"target")  # fmt: skip
    print(f"outputs in {folder}")


def _camera(city):
    from viz.scene import camera

    return camera(city, "city")


if __name__ == "__main__":
    main()
