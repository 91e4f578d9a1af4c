"""A view to a file (PNG, GIF, MP4 or HTML, by suffix) or to a window with a time slider."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from twin.city import City
from viz.animate import ANIMATION_SUFFIXES, animate
from viz.errors import VizError
from viz.files import atomic_path, mark
from viz.html import write_scene_html
from viz.render import Renderer
from viz.results import load_results
from viz.views import View, ViewOptions

__all__ = [
    "OUTPUT_SUFFIXES",
    "check_output_suffix",
    "load_view",
    "show_view",
    "write_image",
    "write_view",
]

#: Files a view is written to.
OUTPUT_SUFFIXES = (".png", ".html", *ANIMATION_SUFFIXES)


def check_output_suffix(path: str | Path) -> str:
    """The format of the file ``path`` (its suffix, lower case).

    Raises
    ------
    VizError
        A suffix that is not one of :data:`OUTPUT_SUFFIXES`.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in OUTPUT_SUFFIXES:
        raise VizError(
            f"{path}: the output's suffix picks its format; use one of {', '.join(OUTPUT_SUFFIXES)}"
        )
    return suffix


def load_view(
    paths: Sequence[str | Path], options: ViewOptions, *, city: City | None = None
) -> View:
    """Read runs or a comparison and make their view.

    Parameters
    ----------
    paths
        One comparison folder, or 1-4 run folders.
    options
        What to show.
    city
        The city the results were made on; default: the bundle their manifests name (the
        default city, Huế, when they name none).

    Raises
    ------
    ResultsError, EmptyResultError, CityMismatchError, UnknownMeasureError, VizError
        See :func:`viz.results.load_results` and :class:`viz.views.View`.
    """
    from twin.build.pipeline import load_city

    results = load_results(paths)
    if city is None:
        city = load_city(results.city_bundle or None)
    return View(city, results, options)


def write_image(image, path: str | Path) -> Path:
    """Write an ``uint8[h, w, 3]`` image as PNG, atomically."""
    from PIL import Image
    from PIL.PngImagePlugin import PngInfo

    info = PngInfo()
    info.add_text("Software", mark("render"))
    with atomic_path(path) as tmp:
        Image.fromarray(image).save(tmp, format="PNG", optimize=False, pnginfo=info)
    return Path(path)


def write_view(
    view: View,
    path: str | Path,
    *,
    window_size: tuple[int, int] | None = None,
    seconds_per_frame: float = 0.4,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write ``view`` to ``path``: ``.png`` (the chosen interval), ``.html`` (the same as an
    interactive scene), ``.gif`` or ``.mp4`` (every interval of the window).

    Raises
    ------
    VizError
        Another suffix.
    """
    path = Path(path)
    suffix = check_output_suffix(path)
    if suffix in ANIMATION_SUFFIXES:
        return animate(
            view,
            path,
            window_size=window_size,
            seconds_per_frame=seconds_per_frame,
            progress=progress,
        )
    scenes = view.scenes(view.index_at(view.options.at))
    with Renderer(scenes, view.camera, lang=view.lang, window_size=window_size) as renderer:
        if suffix == ".png":
            return write_image(renderer.image(), path)
        return write_scene_html(renderer, scenes, path, lang=view.lang)


def show_view(view: View) -> None:
    """Open ``view`` in a window, with a slider through the intervals of the window.

    Raises
    ------
    NoDisplayError
        There is no display (the message says how to render to a file instead).
    """
    index = view.index_at(view.options.at)
    renderer = Renderer(view.scenes(index), view.camera, lang=view.lang, off_screen=False)

    made: dict[str, object] = {}

    def moved(value: float) -> None:
        scenes = view.scenes(round(value))
        renderer.update(scenes)
        if "slider" in made:  # PyVista calls this once while it makes the slider
            made["slider"].GetRepresentation().SetTitleText(scenes[0].clock)

    made["slider"] = renderer.plotter.add_slider_widget(
        moved,
        [0, len(view.intervals) - 1],
        value=index,
        title=view.scenes(index)[0].clock,
        fmt="%.0f",
        pointa=(0.55, 0.93),
        pointb=(0.95, 0.93),
        interaction_event="end",
    )
    renderer.plotter.show()
