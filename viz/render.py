"""Drawing scenes with PyVista: the thin layer between scenes (data) and pixels.

:class:`Renderer` puts one or more :class:`~viz.scene.Scene` in one window (side by side,
linked cameras), and :meth:`Renderer.update` swaps in the scenes of another time without
building a new window (how animations and the time slider run). Off screen, with no
display, VTK renders through EGL (Mesa's software OpenGL when there is no GPU):
:func:`prepare_offscreen` asks for it before the first window is made.
"""

from __future__ import annotations

import copy
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from viz.errors import NoDisplayError
from viz.scene import Camera, Layer, Scene
from viz.text import say

__all__ = ["Renderer", "font_file", "has_display", "prepare_offscreen"]

log = logging.getLogger(__name__)

#: Colour of roads and zones without a value.
NAN_COLOUR = "#c4c4c4"
BACKGROUND = "#f3f0e8"
#: Pixels of one panel, by the number of panels.
PANEL_SIZE = {1: (1600, 1000), 2: (1100, 900), 3: (900, 820), 4: (900, 620)}
_UNLIT = {"roads", "water", "zones", "scale_bar", "en_route"}


def has_display() -> bool:
    """Whether a window can be shown (an X11 or Wayland display; always on macOS/Windows)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def prepare_offscreen() -> None:
    """Ask VTK for an EGL window when there is no display (unless the user chose one).

    ``VTK_DEFAULT_OPENGL_WINDOW`` must name a window class or be unset: VTK crashes on an
    empty value, so an empty one is removed.
    """
    if os.environ.get("VTK_DEFAULT_OPENGL_WINDOW", None) == "":
        del os.environ["VTK_DEFAULT_OPENGL_WINDOW"]
    if not has_display() and "VTK_DEFAULT_OPENGL_WINDOW" not in os.environ:
        os.environ["VTK_DEFAULT_OPENGL_WINDOW"] = "vtkEGLRenderWindow"


def font_file() -> str:
    """A TrueType font with Vietnamese letters (DejaVu Sans, shipped with matplotlib)."""
    import matplotlib

    return str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf")


def _grid(n: int) -> tuple[int, int]:
    return (1, n) if n <= 3 else (2, 2)


class Renderer:
    """A window (or an off-screen image) showing scenes side by side.

    Parameters
    ----------
    scenes
        One scene per panel (1-4).
    camera
        Where every panel looks from (the panels' cameras are linked).
    lang
        Language of the fixed texts (attribution).
    off_screen
        Render without a window (PNG, animation, HTML).
    window_size
        Pixels ``(width, height)`` of the whole image; default by the number of panels.
    key
        Show the lines explaining the marks.

    Raises
    ------
    NoDisplayError
        A window was asked for and there is no display.
    """

    def __init__(
        self,
        scenes: Sequence[Scene],
        camera: Camera,
        *,
        lang: str = "en",
        off_screen: bool = True,
        window_size: tuple[int, int] | None = None,
        key: bool = True,
    ) -> None:
        if not off_screen and not has_display():
            raise NoDisplayError(
                "there is no display to open a window on (DISPLAY is not set); render to a "
                "file instead: `twin render ... -o view.png` (or .html to turn the scene in a "
                "browser, .gif/.mp4 for the day)"
            )
        if off_screen:
            prepare_offscreen()
        import pyvista as pv

        n = len(scenes)
        rows, cols = _grid(n)
        if window_size is None:
            w, h = PANEL_SIZE[min(n, 4)]
            window_size = (w * cols, h * rows)
        self.pv = pv
        self.font = font_file()
        self.lang = lang
        self.camera = camera
        self.show_key = key
        theme = copy.deepcopy(pv.global_theme)
        if off_screen:
            # Mesa's software OpenGL pays for every sample of PyVista's 8 × multisampling:
            # draw one sample and smooth the edges with FXAA, a cheap pass over the image
            theme.multi_samples = 1
            theme.anti_aliasing = None
        self.plotter = pv.Plotter(
            shape=(rows, cols),
            off_screen=off_screen,
            window_size=list(window_size),
            border=False,
            theme=theme,
        )
        self.plotter.set_background(BACKGROUND)
        self.actors: list[dict[str, object]] = [{} for _ in range(n)]
        self.texts: dict[str, object] = {}
        for k, scene in enumerate(scenes):
            self.plotter.subplot(*divmod(k, cols))
            for layer in scene.layers:
                self._add(k, layer, legend=k == 0)
            self._texts(k, scene)
        if n > 1:
            self.plotter.link_views()
        self._set_camera()

    # -- building ----------------------------------------------------------------------------
    def _add(self, k: int, layer: Layer, *, legend: bool) -> None:
        kwargs: dict = {"opacity": layer.opacity, "lighting": layer.name not in _UNLIT}
        if layer.scalars is not None:
            layer.mesh.set_active_scalars(layer.scalars, preference="cell")
            kwargs.update(
                scalars=layer.scalars, preference="cell", nan_color=layer.nan_color or NAN_COLOUR
            )
            if layer.categories is not None:
                kwargs.update(
                    cmap=list(layer.categories),
                    clim=(0, len(layer.categories) - 1),
                    n_colors=len(layer.categories),
                    show_scalar_bar=False,
                )
            else:
                kwargs.update(cmap=layer.cmap, clim=layer.clim)
                if legend and layer.legend:
                    kwargs.update(scalar_bar_args=self._bar_args(layer))
                else:
                    kwargs["show_scalar_bar"] = False
        else:
            kwargs["color"] = layer.color
        self.actors[k][layer.name] = self.plotter.add_mesh(
            layer.mesh, name=f"{layer.name}-{k}", reset_camera=False, **kwargs
        )
        bars = self.plotter.scalar_bars
        bar = bars[layer.legend] if layer.legend and layer.legend in bars else None
        if bar is not None:
            for prop in (bar.GetTitleTextProperty(), bar.GetLabelTextProperty()):
                prop.SetFontFamily(4)  # VTK_FONT_FILE
                prop.SetFontFile(self.font)

    def _bar_args(self, layer: Layer) -> dict:
        second = layer.name == "zones"
        return {
            "title": layer.legend,
            "vertical": False,
            "position_x": 0.05 if second else 0.52,
            "position_y": 0.03,
            "width": 0.42,
            "height": 0.07,
            "n_labels": 5,
            "fmt": "%.3g",
            "color": "black",
            "title_font_size": 14,
            "label_font_size": 12,
        }

    def _text(self, key: str, text: str, position, size: int) -> None:
        actor = self.plotter.add_text(
            text, position=position, font_size=size, color="black", font_file=self.font,
            name=key, render=False,
        )  # fmt: skip
        self.texts[key] = actor

    def _texts(self, k: int, scene: Scene) -> None:
        last = k == len(self.actors) - 1
        self._text(f"title-{k}", scene.title, "upper_left", 14)
        if last and scene.clock:
            self._text("clock", scene.clock, "upper_right", 16)
        if k == 0 and self.show_key and scene.key:
            self._text("key", "\n".join(scene.key), (8, 105), 9)
            prop = self.texts["key"].GetTextProperty()
            prop.SetBackgroundColor(0.95, 0.94, 0.91)
            prop.SetBackgroundOpacity(0.8)
        if last:
            self._text("attribution", say("attribution", self.lang), "lower_right", 9)
        self._labels(k, scene)

    def _labels(self, k: int, scene: Scene) -> None:
        name = f"labels-{k}"
        self.plotter.remove_actor(name, render=False)
        if not scene.labels:
            return
        points = np.array([label.xyz for label in scene.labels], dtype=float)
        self.plotter.add_point_labels(
            points,
            [label.text for label in scene.labels],
            name=name,
            font_size=13,
            font_file=self.font,
            text_color="black",
            shape_color="white",
            shape_opacity=0.75,
            show_points=False,
            always_visible=True,
            bold=False,
            reset_camera=False,
            render=False,
        )

    def _set_camera(self) -> None:
        position, up = self.camera.position()
        focus = (*self.camera.focus, 0.0)
        self.plotter.subplot(0, 0)
        self.plotter.camera_position = [position, focus, up]
        self.plotter.camera.view_angle = self.camera.view_angle
        self.plotter.renderer.reset_camera_clipping_range()

    # -- changing --------------------------------------------------------------------------
    def update(self, scenes: Sequence[Scene]) -> None:
        """Show ``scenes`` (the same panels at another time) in place."""
        cols = _grid(len(self.actors))[1]
        for k, scene in enumerate(scenes):
            self.plotter.subplot(*divmod(k, cols))
            present = {layer.name for layer in scene.layers}
            for name, actor in self.actors[k].items():
                if name not in present:
                    actor.SetVisibility(False)
            for layer in scene.layers:
                actor = self.actors[k].get(layer.name)
                if actor is None:
                    self._add(k, layer, legend=False)
                    continue
                if layer.scalars is not None:
                    layer.mesh.set_active_scalars(layer.scalars, preference="cell")
                actor.GetMapper().SetInputData(layer.mesh)
                actor.SetVisibility(True)
            if scene.clock and k == len(self.actors) - 1:
                self._text("clock", scene.clock, "upper_right", 16)  # replaces the old one
            self._labels(k, scene)
        self.plotter.subplot(0, 0)

    # -- output ----------------------------------------------------------------------------
    def to_pixels(self, xyz: Sequence[float], *, panel: int = 0) -> tuple[int, int]:
        """Column and row (from the top) of the image where a point (metres) is drawn."""
        from vtkmodules.vtkRenderingCore import vtkCoordinate

        self.plotter.render()
        coordinate = vtkCoordinate()
        coordinate.SetCoordinateSystemToWorld()
        coordinate.SetValue(*(float(v) for v in xyz))
        x, y = coordinate.GetComputedDisplayValue(self.plotter.renderers[panel])
        height = self.plotter.window_size[1]
        return int(x), int(height - 1 - y)

    def image(self) -> np.ndarray:
        """The rendered image, ``uint8[height, width, 3]``."""
        self.plotter.render()
        return np.asarray(self.plotter.screenshot(return_img=True))[:, :, :3]

    def close(self) -> None:
        self.plotter.close()

    def __enter__(self) -> Renderer:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
