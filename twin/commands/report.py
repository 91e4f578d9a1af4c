"""``twin report COMPARISON_DIR -o report.html`` (or ``twin report BASE OPTION ...``): the
leaders' report of a comparison, one HTML file in Vietnamese or English."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from twin.errors import TwinError


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "report",
        help="write the leaders' report of a comparison (one HTML file, offline)",
        description="Write one self-contained HTML file a leader reads in a few minutes: what "
        "was compared, the indicators with their 95 % intervals, charts through the day, the "
        "city in 3D side by side and as a difference, and an interactive 3D scene. Give a "
        "comparison folder (twin compare -o DIR), or a base and options to compare first.",
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="COMPARISON_DIR | BASE OPTION",
        help="a comparison folder, or scenarios (files or library names) to compare first",
    )
    parser.add_argument("--lang", choices=("en", "vi"), default="en", help="language")
    parser.add_argument(
        "--color", default="speed_ratio", metavar="MEASURE", help="road measure of the images"
    )
    parser.add_argument(
        "--city", type=Path, metavar="CITY.twin", help="the city (default: its own)"
    )
    parser.add_argument(
        "--replications", type=int, metavar="N", help="when comparing: replications"
    )
    parser.add_argument("--workers", type=int, metavar="N", help="when comparing: workers")
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="when comparing: this Dask scheduler"
    )
    parser.add_argument(
        "--compare-dir",
        type=Path,
        metavar="DIR",
        help="when comparing: where the comparison goes (default: beside the report)",
    )
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="report.html")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    try:
        from viz.report import kpi_text_of, write_report
        from viz.results import check_result_folders, check_results_city, load_results
    except ImportError as exc:
        raise TwinError(
            f"the report needs the viz extra ({exc.name} is missing); install it with "
            "`bash scripts/setup.sh viz` or `pip install -e '.[viz]'`"
        ) from None
    from sim.kpis import REGISTRY
    from twin.build.pipeline import load_city
    from viz.measures import measure

    # everything that can be checked is, before a comparison runs or a page is drawn
    if args.output.suffix.lower() not in (".html", ".htm"):
        raise TwinError(f"{args.output}: the report is an HTML file; name it report.html")
    measure(args.color)
    inputs = [Path(p) for p in args.inputs]
    comparing = len(inputs) >= 2
    if not comparing:
        check_result_folders(inputs)
        if not (inputs[0] / "comparison.json").is_file():
            raise TwinError(
                f"{inputs[0]} is not a finished comparison (no comparison.json); give a "
                "comparison folder (twin compare BASE OPTION -o DIR), or a base and an option "
                "to compare"
            )
    folder = _comparison_folder(args) if comparing else inputs[0]
    _check_output(args, folder, comparing=comparing)
    if comparing:
        _compare(args, folder)
    results = load_results([folder])
    city = load_city(args.city if args.city is not None else (results.city_bundle or None))
    check_results_city(results, city)

    def progress(stage: str) -> None:
        print(f"report: {stage}", file=sys.stderr)

    path = write_report(
        city, results, args.output, lang=args.lang, kpi_text=kpi_text_of(REGISTRY),
        color=args.color, progress=progress,
    )  # fmt: skip
    print(f"wrote {path}")
    return 0


def _comparison_folder(args: argparse.Namespace) -> Path:
    """Where the comparison a report makes first goes."""
    return args.compare_dir or args.output.with_name(f"{args.output.stem}-comparison")


def _check_output(args: argparse.Namespace, folder: Path, *, comparing: bool) -> None:
    """The report goes where it replaces nothing but an earlier report, outside its inputs
    and outside the comparison folder."""
    from twin.output_paths import check_output_file
    from viz.files import written_by

    inputs: dict = {
        "the comparison folder" + (" of --compare-dir" if comparing else ""): folder,
        "the city bundle (--city)": args.city,
    }
    if comparing:
        for k, given in enumerate(args.inputs, start=1):
            if Path(given).is_file():  # a scenario file, not a library name
                inputs[f"scenario {k}"] = given
    check_output_file(
        args.output,
        what="a report written by twin report",
        replaceable=lambda path: written_by(path, "report"),
        inputs=inputs,
        option="-o",
        within_inputs=True,
    )


def _compare(args: argparse.Namespace, folder: Path) -> None:
    from scenarios.compare import check_comparison, compare_scenarios
    from scenarios.executor import Executor
    from twin.build.pipeline import load_city

    base, *options = args.inputs
    # the scenarios, the replications and the folder are checked before a cluster starts
    check_comparison(base, options, out_dir=folder, replications=args.replications)
    executor = Executor(scheduler=args.scheduler, workers=args.workers)
    city = bundle = None
    if args.city is not None:
        city, bundle = load_city(args.city), str(args.city)
    with executor:
        compare_scenarios(
            base, options, out_dir=folder, city=city, bundle=bundle,
            replications=args.replications, executor=executor,
        )  # fmt: skip
    print(f"compared into {folder}", file=sys.stderr)
