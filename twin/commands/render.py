"""``twin render RUN_OR_COMPARISON [...] -o FILE``: Huế in 3D with the results on it, as a
PNG, an animation through the day (GIF, MP4) or an interactive HTML scene (by suffix)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from twin.errors import TwinError


def add_view_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments ``twin render`` and ``twin view`` share."""
    parser.add_argument(
        "results",
        nargs="+",
        type=Path,
        metavar="RUN_OR_COMPARISON",
        help="a comparison folder (twin compare -o DIR), or 1-4 run folders (twin run -o DIR)",
    )
    parser.add_argument(
        "--color",
        default="speed_ratio",
        metavar="MEASURE",
        help="what roads are coloured by: speed_ratio (speed against free flow, the default), "
        "speed_kmh, volume_capacity, queue_pcu, delay_s_per_km, entries",
    )
    parser.add_argument(
        "--zones",
        default="auto",
        metavar="MEASURE",
        help="what wards are coloured by: response_time_mean_s (the default when there were "
        "incidents), share_within_8min, incidents, gate_wait_mean_s, visits, or none",
    )
    parser.add_argument(
        "--at", metavar="HH:MM", help="the 15-minute interval to show (default: the busiest)"
    )
    parser.add_argument(
        "--diff", action="store_true", help="show option − base (comparison or two runs)"
    )
    parser.add_argument(
        "--camera",
        default="city",
        choices=("city", "citadel", "crossings"),
        help="the whole city, the Citadel (Ngọ Môn) or the Perfume River's bridges",
    )
    parser.add_argument("--lang", choices=("en", "vi"), default="en", help="language")
    parser.add_argument(
        "--city", type=Path, metavar="CITY.twin", help="the city (default: the results' own)"
    )


def view_options(args: argparse.Namespace):
    """The :class:`viz.views.ViewOptions` of parsed arguments."""
    from viz.views import ViewOptions

    return ViewOptions(
        color=args.color,
        at=args.at,
        diff=args.diff,
        camera=args.camera,
        lang=args.lang,
        zones=None if args.zones == "none" else args.zones,
    )


def viz_output():
    """:mod:`viz.output`, or an error saying how to install the viz extra."""
    try:
        import viz.output
    except ImportError as exc:
        raise TwinError(
            f"the 3D view needs the viz extra ({exc.name} is missing); install it with "
            "`bash scripts/setup.sh viz` or `pip install -e '.[viz]'`"
        ) from None
    return viz.output


def render_inputs(args: argparse.Namespace) -> dict:
    """The inputs of ``twin render``, which its output may not be nor lie in."""
    results = list(args.results)
    inputs: dict = {"the city bundle (--city)": args.city}
    for k, folder in enumerate(results, start=1):
        inputs[f"the results folder {k}" if len(results) > 1 else "the results folder"] = folder
    return inputs


def check_view_arguments(args: argparse.Namespace) -> None:
    """What can be checked of ``twin render`` and ``twin view`` without loading anything:
    the measures' names, and that each folder is a run or a comparison."""
    from viz.measures import measure, zone_measure
    from viz.results import check_result_folders

    measure(args.color)
    if args.zones not in ("auto", "none"):
        zone_measure(args.zones)
    check_result_folders(args.results)


def load(args: argparse.Namespace):
    """The view the arguments ask for (city and results loaded)."""
    load_view = viz_output().load_view
    from twin.build.pipeline import load_city

    city = load_city(args.city) if args.city is not None else None
    return load_view(args.results, view_options(args), city=city)


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give WIDTHxHEIGHT, e.g. 1600x1000") from None
    if not (64 <= width <= 8192 and 64 <= height <= 8192):
        raise argparse.ArgumentTypeError(f"{text!r}: each side must be 64-8192 pixels")
    return width, height


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "render",
        help="draw runs or a comparison in 3D: PNG, GIF, MP4 or interactive HTML",
        description="Draw Huế in 3D with the results on it: roads coloured by a measure per "
        "15 minutes, buildings, water, tourists at the sites, stations and incidents. Several "
        "runs, or a comparison's base and options, are drawn side by side with one colour "
        "range; --diff draws option − base. The output's suffix picks the format: .png (one "
        "interval), .html (the same, to turn in a browser, offline), .gif or .mp4 (the whole "
        "window, 15 minutes a frame).",
    )
    add_view_arguments(parser)
    parser.add_argument(
        "--size", type=_size, metavar="WxH", help="pixels of the image (default by panels)"
    )
    parser.add_argument(
        "--frame-seconds",
        type=float,
        default=0.4,
        metavar="S",
        help="seconds each 15 minutes stays on screen in an animation (default 0.4)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, required=True, metavar="FILE", help=".png .html .gif .mp4"
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from twin.output_paths import check_output_file

    output = viz_output()
    from viz.animate import check_seconds_per_frame
    from viz.files import written_by

    # before the city and the results are loaded: the format, the pace, the place
    output.check_output_suffix(args.output)
    check_seconds_per_frame(args.frame_seconds)
    check_view_arguments(args)
    check_output_file(
        args.output,
        what="an image, animation or scene written by twin render",
        replaceable=lambda path: written_by(path, "render"),
        inputs=render_inputs(args),
        option="-o",
        within_inputs=True,
    )
    view = load(args)
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        from tqdm import tqdm

        if bar is None:
            bar = tqdm(total=total, desc="frames", unit="frame", file=sys.stderr)
        bar.update(done - bar.n)

    path = output.write_view(
        view,
        args.output,
        window_size=args.size,
        seconds_per_frame=args.frame_seconds,
        progress=progress,
    )
    if bar is not None:
        bar.close()
    print(f"wrote {path}")
    return 0
