"""``twin rerun RUN_DIR``: run a run folder's specification again; check the KPIs agree."""

from __future__ import annotations

import argparse
from pathlib import Path

from twin.commands.coverage import add_city_argument


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "rerun",
        help="run a run folder's specification again and check its KPIs are identical",
        description="Read the run specification from RUN_DIR/manifest.json, run it again on "
        "the city it names (its bundle, or the default city; --city to give it), and check "
        "that every KPI equals the one in RUN_DIR/kpis.json. Exits 1 naming the KPIs that "
        "differ. With -o, the new run is written and registered in the catalog.",
    )
    parser.add_argument("run_dir", type=Path, metavar="RUN_DIR", help="a run folder")
    add_city_argument(parser)
    parser.add_argument(
        "-o", "--output", type=Path, metavar="NEW_DIR", help="write the new run here"
    )
    parser.add_argument(
        "--force", action="store_true", help="replace NEW_DIR if it holds an earlier run"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from scenarios.catalog import register_run, run_id_of
    from scenarios.rerun import read_recorded, rerun
    from sim.spec import RunSpec
    from twin.commands.run import _progress_bar

    manifest, _ = read_recorded(args.run_dir)
    original = run_id_of(args.run_dir)
    bar = None
    if not args.no_progress:
        window = RunSpec.from_dict(manifest["spec"], where=str(args.run_dir)).window
        bar = _progress_bar(window.start, window.end)
    try:
        report = rerun(
            args.run_dir,
            city=args.city,
            output=args.output,
            force=args.force,
            progress=None if bar is None else bar.update_clock,
        )
    finally:
        if bar is not None:
            bar.close()
    print(f"rerun of {args.run_dir} (run {original}, digest {report.digest[:12]})")
    if report.output is not None:
        entry = register_run(report.output, labels={"scenario": "rerun", "rerun_of": original})
        print(f"wrote {report.output} (run {entry.run_id})")
    report.check()
    print(f"all {report.compared} KPI values identical")
    return 0
