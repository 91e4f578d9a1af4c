"""Through the day: a view's 15-minute intervals as an animation (GIF or MP4).

One window is built for the first interval; each further frame swaps in the next
interval's values (:meth:`viz.render.Renderer.update`), so a 24-hour animation of 96 frames
costs one scene and 96 renders. MP4 is written by the ffmpeg that ``imageio-ffmpeg`` ships,
GIF by Pillow. Both are written to a temporary file and renamed into place.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from viz.errors import VizError
from viz.files import atomic_path, mark
from viz.render import Renderer
from viz.views import View

__all__ = ["ANIMATION_SUFFIXES", "MAX_SECONDS_PER_FRAME", "animate", "check_seconds_per_frame"]

log = logging.getLogger(__name__)

#: Animation formats, by file suffix.
ANIMATION_SUFFIXES = (".gif", ".mp4")
#: Image size of a frame, pixels, by the number of panels (multiples of 16 for video codecs).
FRAME_SIZE = {1: (1280, 800), 2: (1600, 720), 3: (1920, 704), 4: (1280, 960)}
#: The longest a frame stays on screen, seconds (a GIF's delay has 16 bits of 10 ms).
MAX_SECONDS_PER_FRAME = 60.0


def check_seconds_per_frame(seconds: float) -> float:
    """``seconds`` when it is a time a frame can stay on screen (0.01 to
    :data:`MAX_SECONDS_PER_FRAME`).

    Raises
    ------
    VizError
        Not a number in that range.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        raise VizError(f"seconds per frame must be a number; got {seconds!r}")
    if not (math.isfinite(seconds) and 0.01 <= seconds <= MAX_SECONDS_PER_FRAME):
        raise VizError(
            f"--frame-seconds {seconds:g}: a frame stays on screen from 0.01 to "
            f"{MAX_SECONDS_PER_FRAME:g} seconds; give e.g. --frame-seconds 0.4"
        )
    return float(seconds)


def animate(
    view: View,
    path: str | Path,
    *,
    indices: Sequence[int] | None = None,
    seconds_per_frame: float = 0.4,
    window_size: tuple[int, int] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write the view through the day to ``path`` (``.gif`` or ``.mp4``).

    Parameters
    ----------
    view
        What to show.
    path
        The file to write; its suffix picks the format.
    indices
        Intervals to show, in order (default: every interval of the window).
    seconds_per_frame
        How long each 15-minute interval stays on screen, seconds.
    window_size
        Pixels of a frame (default :data:`FRAME_SIZE`).
    progress
        Called with (frames done, frames) after each frame.

    Returns
    -------
    The path written.

    Raises
    ------
    VizError
        Another suffix, a time per frame out of range, or no interval to show.
    """
    seconds_per_frame = check_seconds_per_frame(seconds_per_frame)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in ANIMATION_SUFFIXES:
        raise VizError(f"{path}: an animation is written as {' or '.join(ANIMATION_SUFFIXES)}")
    order = list(range(len(view.intervals))) if indices is None else list(indices)
    if not order:
        raise VizError("no interval to animate")
    size = window_size or FRAME_SIZE[min(len(view.panels), 4)]
    with Renderer(view.scenes(order[0]), view.camera, lang=view.lang, window_size=size) as ren:

        def frames():
            for done, index in enumerate(order):
                if done:
                    ren.update(view.scenes(index))
                yield ren.image()
                if progress is not None:
                    progress(done + 1, len(order))

        with atomic_path(path) as tmp:
            if suffix == ".mp4":
                _write_mp4(frames(), tmp, size=size, fps=1.0 / seconds_per_frame)
            else:
                _write_gif(frames(), tmp, ms=round(seconds_per_frame * 1000))
    log.info("wrote %s (%d frames)", path, len(order))
    return path


def _write_mp4(frames, path: Path, *, size: tuple[int, int], fps: float) -> None:
    import imageio_ffmpeg

    writer = imageio_ffmpeg.write_frames(
        str(path),
        size,
        fps=fps,
        codec="libx264",
        pix_fmt_in="rgb24",
        pix_fmt_out="yuv420p",
        quality=7,
        macro_block_size=16,
        ffmpeg_log_level="error",
        output_params=["-metadata", f"comment={mark('render')}"],
    )
    writer.send(None)
    try:
        for frame in frames:
            writer.send(np.ascontiguousarray(frame[: size[1], : size[0]]))
    finally:
        writer.close()


def _write_gif(frames, path: Path, *, ms: int) -> None:
    from PIL import Image

    images = []
    for frame in frames:
        image = Image.fromarray(frame)
        width, height = image.size
        if width > 1000:  # GIFs are for sharing: keep them light
            image = image.resize((1000, round(height * 1000 / width)), Image.Resampling.LANCZOS)
        images.append(image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=0))
    images[0].save(
        path,
        format="GIF",
        save_all=True,
        append_images=images[1:],
        duration=ms,
        loop=0,
        comment=mark("render"),
    )
