"""``twin runs``: list the runs of the catalog; register, forget and prune runs."""

from __future__ import annotations

import argparse
import json
import sys
import tomllib
from pathlib import Path

#: (header, KPI or column, format) of the table ``twin runs`` prints.
_KPI_COLUMNS = (
    ("trips done", "trips_completed", "{:,.0f}"),
    ("km/h", "mean_speed_kmh", "{:.1f}"),
    ("delay h", "total_delay_h", "{:,.1f}"),
    ("gate wait s", "gate_wait_mean_s", "{:.0f}"),
    ("response s", "response_time_mean_s", "{:.0f}"),
)


def add_root_argument(parser: argparse.ArgumentParser) -> None:
    """``--root DIR``: the results root of the catalog."""
    parser.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help="results root of the catalog (default: the runs_dir setting, TWIN_RUNS_DIR, "
        "else ./runs)",
    )


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "runs",
        help="list the registered runs",
        description="List the runs registered in the catalog: id, scenario, digest, seed, "
        "date, wall time and headline KPIs. Runs whose folder is gone or incomplete are "
        "skipped with a warning (--prune forgets them).",
    )
    add_root_argument(parser)
    parser.add_argument("--json", action="store_true", help="print a JSON list of runs")
    parser.add_argument(
        "--add",
        nargs="+",
        type=Path,
        metavar="RUN_DIR",
        help="register these run folders (e.g. runs written before the catalog existed)",
    )
    parser.add_argument(
        "--label",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="with --add: a label (a column of the runs view), e.g. scenario=baseline or "
        "replication=2; repeat for several",
    )
    parser.add_argument(
        "--forget", nargs="+", metavar="RUN_ID", help="remove these runs' registrations"
    )
    parser.add_argument(
        "--prune",
        action="store_true",
        help="remove registrations of runs whose folder is gone, incomplete or replaced",
    )
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from scenarios.catalog import HEADLINE_KPIS, forget_runs, list_runs, prune, register_run, scan

    if args.label and not args.add:
        from scenarios.catalog import LabelError

        raise LabelError("--label goes with --add RUN_DIR (labels are given when registering)")
    if args.add:
        labels = dict(_label(text) for text in args.label)
        for folder in args.add:
            entry = register_run(folder, root=args.root, labels=labels)
            print(f"registered {entry.run_id}  {entry.path}", file=sys.stderr)
    if args.forget:
        for run_id in forget_runs(args.forget, root=args.root):
            print(f"forgot {run_id}", file=sys.stderr)
    if args.prune:
        for problem in prune(args.root):
            print(f"forgot {problem.run_id or problem.registration.name}", file=sys.stderr)
    found = scan(args.root)
    for problem in found.problems:
        print(f"warning: {problem.message}", file=sys.stderr)
    table = list_runs(kpis=HEADLINE_KPIS, scanned=found)
    scenario = {e.run_id: e.scenario for e in found.entries}
    if args.json:
        print(json.dumps(_records(table, found.entries), ensure_ascii=False, indent=2))
        return 0
    if table.empty:
        print(f"no runs registered under {found.root}", file=sys.stderr)
        return 0
    print(format_runs(table, scenario))
    return 0


def format_runs(table, scenario: dict[str, str]) -> str:
    """The table ``twin runs`` prints: one line per run."""
    headers = ["run id", "scenario", "digest", "seed", "date (UTC)", "wall s"]
    headers += [header for header, _, _ in _KPI_COLUMNS]
    rows = []
    for row in table.itertuples(index=False):
        values = row._asdict()
        cells = [
            values["run_id"],
            scenario.get(values["run_id"], ""),
            values["digest"][:12],
            str(values["seed"]),
            values["created"].strftime("%Y-%m-%d %H:%M") if _present(values["created"]) else "-",
            _number(values["wall_s"], "{:,.1f}"),
        ]
        cells += [_number(values[key], fmt) for _, key, fmt in _KPI_COLUMNS]
        rows.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    left = {0, 1, 2, 4}
    lines = []
    for cells in [headers, *rows]:
        parts = [
            c.ljust(w) if i in left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        lines.append("  ".join(parts).rstrip())
    return "\n".join(lines)


def _records(table, entries) -> list[dict]:
    """``twin runs --json``: one object per run."""
    from scenarios.catalog import HEADLINE_KPIS

    by_id = {e.run_id: e for e in entries}
    out = []
    for row in table.to_dict(orient="records"):
        entry = by_id[row["run_id"]]
        out.append(
            {
                "run_id": entry.run_id,
                "scenario": entry.scenario,
                "digest": entry.digest,
                "seed": entry.seed,
                "created": entry.created,
                "wall_s": entry.wall_s,
                "city": entry.city,
                "window": entry.window,
                "path": str(entry.path),
                "labels": entry.labels,
                "kpis": {k: None if not _present(row[k]) else float(row[k]) for k in HEADLINE_KPIS},
            }
        )
    return out


def _label(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` → (key, value): a TOML number, boolean or string, else the text."""
    from scenarios.catalog import LabelError

    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise LabelError(f"--label {text!r}: give KEY=VALUE, e.g. scenario=baseline")
    try:
        parsed = tomllib.loads(f"v = {value.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        parsed = value.strip()
    if isinstance(parsed, dict | list):
        parsed = value.strip()
    return key.strip(), parsed


def _present(value) -> bool:
    import pandas as pd

    return not pd.isna(value)


def _number(value, fmt: str) -> str:
    if not _present(value):
        return "-"
    return fmt.format(float(value))
