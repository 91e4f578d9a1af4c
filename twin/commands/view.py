"""``twin view RUN_OR_COMPARISON [...]``: the 3D view in a window, with a time slider."""

from __future__ import annotations

import argparse

from twin.commands.render import add_view_arguments, check_view_arguments, load, viz_output


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "view",
        help="open runs or a comparison in a 3D window, with a time slider",
        description="The view of `twin render` in a window: turn, zoom, and move through the "
        "day with the slider. Needs a display; on a machine without one, render to a file "
        "with `twin render ... -o view.html` and open that in a browser.",
    )
    add_view_arguments(parser)
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    show_view = viz_output().show_view
    from viz.errors import NoDisplayError
    from viz.render import has_display

    check_view_arguments(args)
    if not has_display():  # say so before loading the city and the results
        raise NoDisplayError(
            "there is no display to open a window on (DISPLAY is not set): render to a file "
            "instead, e.g. `twin render "
            + " ".join(str(p) for p in args.results)
            + " -o view.html` and open view.html in a browser (or -o view.png, .gif, .mp4)"
        )
    show_view(load(args))
    return 0
