"""A standalone interactive HTML scene: one file that opens in any browser, offline.

The 3D scene is serialised for vtk.js by PyVista's trame exporter (``trame-pyvista``) and
embedded, with the vtk.js viewer, in one HTML file; no script, style or font is loaded from
the internet. vtk.js draws the colour bars but not VTK's other 2D texts, so the titles,
the time, the key and the OpenStreetMap attribution are laid over the scene as HTML (every
text escaped).
"""

from __future__ import annotations

import contextlib
import html
import json
import re
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

from viz.errors import VizError
from viz.files import atomic_write_text, mark_html
from viz.scene import Scene
from viz.text import say

__all__ = ["check_offline", "scene_html"]

#: What would make a page fetch something from the network: a script, style, frame or
#: image by URL, in the markup or set by a script (``setAttribute("href", `https://…`)``).
_REMOTE = re.compile(
    r"<script[^>]+\bsrc\s*=|<link[^>]+\bhref\s*=\s*[\"']?(?:https?:)?//|"
    r"@import\s+(?:url\()?[\"']?(?:https?:)?//|<iframe[^>]+\bsrc\s*=\s*[\"']?(?:https?:)?//|"
    r"<img[^>]+\bsrc\s*=\s*[\"']?(?:https?:)?//|"
    r"setAttribute\(\s*[\"'](?:href|src)[\"']\s*,\s*[`\"']https?://",
    re.IGNORECASE,
)
#: The vtk.js viewer sets the page's icons from kitware.github.io; they become empty.
_VTKJS_FAVICON = re.compile(r"`https://kitware\.github\.io/vtk-js/icon/favicon-[^`]*`")


def check_offline(page: str) -> None:
    """Raise :class:`VizError` if ``page`` loads a script, style, frame or image by URL."""
    match = _REMOTE.search(page)
    if match:
        raise VizError(
            f"the HTML scene would load {match.group(0)!r} from the network; it must work "
            "offline (report this as a bug)"
        )


@contextlib.contextmanager
def _without_wasm_viewer() -> Iterator[None]:
    """Hide ``trame-vtklocal`` while trame starts: it would download a WebAssembly build of
    VTK that the vtk.js export does not use (and fail without the internet)."""
    name = "trame.widgets.vtklocal"
    saved = sys.modules.get(name, None)
    had = name in sys.modules
    sys.modules[name] = None  # type: ignore[assignment]  # makes the import fail
    try:
        yield
    finally:
        if had:
            sys.modules[name] = saved  # type: ignore[assignment]
        else:
            del sys.modules[name]


_STYLE = """
<style>
.twin-overlay { position: fixed; pointer-events: none; z-index: 2147483647;
  font-family: "DejaVu Sans", Arial, sans-serif; color: #111; }
.twin-top { top: 0; left: 0; right: 0; display: flex; gap: 1.5em; padding: 0.5em 1em;
  font-size: 18px;
  background: rgba(243, 240, 232, 0.85); }
.twin-bottom { bottom: 0; right: 0; max-width: 48%; padding: 0.4em 1em; font-size: 12px;
  background: rgba(243, 240, 232, 0.85); }
.twin-clock { font-weight: bold; }
.twin-key { white-space: pre-line; font-size: 11px; }
.twin-attribution { font-size: 11px; margin-top: 0.3em; }
</style>
"""


def _overlay(scenes: Sequence[Scene], lang: str) -> str:
    first = scenes[0]
    titles = " | ".join(html.escape(s.title) for s in scenes)
    key = html.escape("\n".join(first.key))
    return (
        f'{_STYLE}<div class="twin-overlay twin-top"><span class="twin-clock">'
        f"{html.escape(first.clock)}</span><span>{titles}</span></div>"
        f'<div class="twin-overlay twin-bottom"><div class="twin-key">{key}</div>'
        f'<div class="twin-attribution">{html.escape(say("attribution", lang))}</div></div>'
    )


def scene_html(renderer, scenes: Sequence[Scene], *, lang: str) -> str:
    """The renderer's scene as one offline HTML page (see the module docstring).

    Parameters
    ----------
    renderer
        A :class:`viz.render.Renderer` showing ``scenes`` (its first panel is exported).
    scenes
        What it shows (for the titles, colour bars and key laid over the scene).
    lang
        Language of the fixed texts.

    Raises
    ------
    VizError
        The trame exporter is not installed, or the page would load something remotely.
    """
    try:
        import trame_pyvista  # noqa: F401
    except ImportError:
        raise VizError(
            "the HTML scene needs trame-pyvista; install the viz extra: "
            "pip install -e '.[viz]' (bash scripts/setup.sh viz)"
        ) from None
    plotter = renderer.plotter
    # vtk.js draws every colour bar at the same place: keep the roads' one, and say the
    # others' ranges in the key
    extra = []
    for layer in scenes[0].layers:
        if layer.legend and layer.name != "roads" and layer.legend in plotter.scalar_bars:
            plotter.remove_scalar_bar(layer.legend)
            low, high = layer.clim or (0.0, 0.0)
            extra.append(f"{layer.legend}: {low:.3g} … {high:.3g}")
    if extra:
        scenes = [replace(scenes[0], key=[*scenes[0].key, *extra]), *scenes[1:]]
    with _without_wasm_viewer():
        buffer = plotter.trame.export_html(None)
    page = _VTKJS_FAVICON.sub("`data:,`", buffer.read())
    # the viewer empties the page's body when it loads the scene: add the texts after it
    overlay = json.dumps(_overlay(scenes, lang), ensure_ascii=False).replace("</", "<\\/")
    script = (
        "<script>window.addEventListener('load', function () { setTimeout(function () {"
        f"document.body.insertAdjacentHTML('beforeend', {overlay}); }}, 0); }});</script>"
    )
    at = page.rfind("</body>")
    page = page[:at] + script + page[at:]
    check_offline(page)
    return page


def write_scene_html(renderer, scenes: Sequence[Scene], path: str | Path, *, lang: str) -> Path:
    """Write :func:`scene_html` to ``path``, atomically, marked as written by
    ``twin render``."""
    page = mark_html(scene_html(renderer, scenes, lang=lang), "render")
    return atomic_write_text(Path(path), page)
