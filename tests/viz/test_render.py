"""Pixels: a few image checks with tolerance, animations, the HTML scene and the report in
headless Chromium. The data tests come first (test_views.py); these check what is drawn."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.viz.conftest import browse
from tests.viz.town import SCRIPT_NAME
from viz.errors import NoDisplayError, VizError
from viz.files import mark, written_by
from viz.html import check_offline
from viz.output import write_view
from viz.render import Renderer
from viz.results import load_results
from viz.scene import Camera
from viz.views import View, ViewOptions


@pytest.fixture(scope="module")
def results(comparison):
    return load_results([comparison])


def _patch(image: np.ndarray, col: int, row: int, r: int = 1) -> np.ndarray:
    return image[row - r : row + r + 1, col - r : col + r + 1].reshape(-1, 3).astype(float)


def test_a_closed_bridge_shows_red_where_the_bridge_is(river_town, results):
    lines = river_town.shapes().drive
    bridge = np.flatnonzero(river_town.drive.name == "Cầu Một")[0]
    other = np.flatnonzero(river_town.drive.name == "Cầu Hai")[0]
    focus = (lines.line(int(bridge)).mean(axis=0) + lines.line(int(other)).mean(axis=0)) / 2
    above = Camera("test", (float(focus[0]), float(focus[1])), 900.0, elevation=89.0)
    options = ViewOptions(color="entries", diff=True, zones=None, camera=above)
    view = View(river_town, results, options)
    index = view.busiest()
    with Renderer(view.scenes(index), view.camera, window_size=(800, 600), key=False) as ren:
        image = ren.image()
        spots = {}
        for name, e in (("closed", bridge), ("open", other)):
            a, b = lines.line(int(e))
            # the ribbon lies right of the centre line; look a little to its side
            right = np.array([b[1] - a[1], -(b[0] - a[0])]) / np.hypot(*(b - a))
            x, y = (a + b) / 2 + right * view.camera.road_width * 0.7
            spots[name] = ren.to_pixels((x, y, 1.5))
    assert image.shape == (600, 800, 3)
    closed = _patch(image, *spots["closed"]).mean(axis=0)
    opened = _patch(image, *spots["open"]).mean(axis=0)
    assert closed[0] > closed[2] + 60, closed  # red: fewer vehicles where the bridge is
    assert opened[2] > opened[0] + 30, opened  # blue: more on the other bridge
    background = np.array([243, 240, 232])
    assert np.abs(image.reshape(-1, 3) - background).sum(axis=1).max() > 100  # not blank


def test_png_html_gif_and_mp4_by_suffix(river_town, results, tmp_path):
    view = View(river_town, results, ViewOptions(lang="vi"))
    png = write_view(view, tmp_path / "v.png", window_size=(640, 400))
    assert Image.open(png).size == (640, 400)  # the whole image, both panels
    gif = write_view(view, tmp_path / "v.gif", window_size=(640, 400))
    with Image.open(gif) as animation:
        assert animation.n_frames == len(view.intervals) == 3
    mp4 = write_view(view, tmp_path / "v.mp4", window_size=(640, 400))
    import imageio_ffmpeg

    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(mp4))
    assert frames == 3
    with pytest.raises(VizError, match="suffix picks its format"):
        write_view(view, tmp_path / "v.jpg")
    with pytest.raises(VizError, match="--frame-seconds 0: a frame stays on screen"):
        write_view(view, tmp_path / "v.gif", seconds_per_frame=0)
    assert not list(tmp_path.glob(".*"))  # no temporary file left behind
    # each carries twin render's mark, so that twin render may replace it, and only it
    with Image.open(png) as image:
        assert image.text["Software"] == mark("render")
    with Image.open(gif) as animation:
        assert animation.info["comment"] == mark("render").encode()
    for path in (png, gif, mp4):
        assert written_by(path, "render") and not written_by(path, "report")


def test_the_html_scene_opens_offline_in_chromium(river_town, results, tmp_path):
    view = View(river_town, results, ViewOptions(color="entries", diff=True))
    page = write_view(view, tmp_path / "scene.html")
    text = page.read_text(encoding="utf-8")
    check_offline(text)
    assert "Cầu Một closed" in text and "kitware.github.io/vtk-js/icon" not in text
    assert SCRIPT_NAME not in text  # the title's markup is escaped
    shot = tmp_path / "scene.png"
    browse(page, shot)
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(int)
    colours = {tuple(p) for p in pixels[::97]}
    assert len(colours) > 50  # rendered: roads, water, buildings, texts
    reddish = (pixels[:, 0] > pixels[:, 2] + 60).mean()
    assert reddish > 0.0005  # the closed bridge's red is on screen


def test_check_offline_catches_remote_scripts():
    with pytest.raises(VizError, match="network"):
        check_offline('<html><script src="https://cdn.example/x.js"></script></html>')
    with pytest.raises(VizError, match="network"):
        check_offline("<script>e.setAttribute('href', `https://example.org/icon.png`)</script>")
    check_offline("<html><script>var a = 'https://example.org';</script></html>")


def test_no_window_without_a_display(river_town, results, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    view = View(river_town, results, ViewOptions())
    with pytest.raises(NoDisplayError, match="twin render"):
        Renderer(view.scenes(0), view.camera, off_screen=False)


def test_the_window_s_slider_moves_through_the_day(river_town, results, monkeypatch):
    """``twin view``'s window, drawn off screen: moving the slider shows another interval."""
    import pyvista as pv

    import viz.output as output

    made = []

    def offscreen(*args, **kwargs):
        kwargs["off_screen"] = True
        made.append(Renderer(*args, **kwargs))
        return made[-1]

    def show(plotter, *args, **kwargs):
        slider = plotter.widgets.slider_widgets[0]
        slider.GetRepresentation().SetValue(2)
        slider.InvokeEvent("EndInteractionEvent")

    monkeypatch.setattr(output, "Renderer", offscreen)
    monkeypatch.setattr(pv.Plotter, "show", show)
    view = View(river_town, results, ViewOptions(at="07:00"))
    output.show_view(view)
    (renderer,) = made
    title = renderer.plotter.widgets.slider_widgets[0].GetRepresentation().GetTitleText()
    assert title == "07:30–07:45"
    renderer.close()
