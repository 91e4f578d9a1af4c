"""``twin compare BASE OPTION [OPTION ...] -o DIR``: paired replications of scenarios, a KPI
table with 95 % intervals, and where things change per link and per zone."""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "compare",
        help="compare scenarios with paired replications and confidence intervals",
        description="Run BASE and each OPTION for N replications with common random numbers "
        "(replication i of every scenario uses the seed base seed + i), then print, for each "
        "KPI, the base and option means, the mean paired difference and its 95 % interval, "
        "and whether the difference is clear. DIR gets kpis.parquet, links.parquet and "
        "zones.parquet (per-link and per-zone differences), comparison.json and each "
        "replication's run folder; running it again reuses the replications already there.",
    )
    parser.add_argument("base", metavar="BASE", help="the base scenario (file or library name)")
    parser.add_argument(
        "options", nargs="+", metavar="OPTION", help="scenarios to compare with BASE"
    )
    parser.add_argument(
        "--replications", type=int, metavar="N", help="replications (default: BASE's)"
    )
    parser.add_argument(
        "--ci-width",
        type=float,
        metavar="W",
        help="add replications until every interval's half-width is at most W × the base "
        "mean (0.05: ±5 %%)",
    )
    parser.add_argument(
        "--max-replications", type=int, metavar="M", help="at most M replications (--ci-width)"
    )
    parser.add_argument(
        "--workers", type=int, metavar="N", help="worker processes (default: one per core)"
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on this Dask scheduler (tcp://HOST:8786; default: the scheduler setting, "
        "TWIN_SCHEDULER, else a local cluster)",
    )
    parser.add_argument("--city", type=Path, metavar="CITY.twin", help="the city (default: BASE's)")
    parser.add_argument("--lang", choices=("en", "vi"), default="en", help="the table's language")
    parser.add_argument("--json", action="store_true", help="print the KPI table as JSON")
    parser.add_argument(
        "--force", action="store_true", help="replace an earlier comparison in DIR (not resume)"
    )
    parser.add_argument("-o", "--output", type=Path, required=True, metavar="DIR", help="folder")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from scenarios.compare import check_comparison, compare_scenarios
    from scenarios.executor import Executor
    from twin.build.pipeline import load_city

    # everything that can be checked is, before a cluster starts
    base, options, _, _ = check_comparison(
        args.base,
        args.options,
        out_dir=args.output,
        replications=args.replications,
        ci_width=args.ci_width,
        max_replications=args.max_replications,
        force=args.force,
    )
    executor = Executor(scheduler=args.scheduler, workers=args.workers)
    city = bundle = None
    if args.city is not None:
        city, bundle = load_city(args.city), str(args.city)
    bar = _Progress(quiet=args.json)
    with executor:
        if executor.dashboard:
            print(f"dashboard: {executor.dashboard}", file=sys.stderr)
        comparison = compare_scenarios(
            base,
            options,
            out_dir=args.output,
            city=city,
            bundle=bundle,
            replications=args.replications,
            ci_width=args.ci_width,
            max_replications=args.max_replications,
            executor=executor,
            progress=bar.update,
            force=args.force,
        )
    bar.close()
    table = comparison.kpis
    if args.json:
        records = json.loads(table.to_json(orient="records", force_ascii=False))
        print(json.dumps(records, ensure_ascii=False, indent=2))
        return 0
    print(format_table(comparison, lang=args.lang))
    if comparison.reused:
        print(f"reused {comparison.reused} replications already in {args.output}")
    print(f"wrote {args.output}")
    return 0


class _Progress:
    """Replications done, on stderr."""

    def __init__(self, *, quiet: bool) -> None:
        self.bar = None
        self.quiet = quiet

    def update(self, what: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=total, desc=what, unit="run", file=sys.stderr)
        self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def format_table(comparison, *, lang: str = "en") -> str:
    """The KPI table as text: per option, the KPIs that judge (better lower or higher) by
    domain, with both means, the difference and its 95 % interval; clear differences are
    marked ``*``."""
    from sim.kpis import DOMAINS

    table = comparison.kpis
    lines = []
    for option in comparison.options:
        rows = table[(table["scenario"] == option.name) & (table["better"] != "neither")]
        title = f"{option.text('title', lang)} − {comparison.base.text('title', lang)}"
        lines.append(f"{title} ({comparison.replications} paired replications, 95 % intervals)")
        header = ("KPI", "base", "option", "difference", "95 % interval", "")
        body = []
        for domain in DOMAINS:
            for row in rows[rows["domain"] == domain].itertuples():
                body.append(
                    (
                        f"{row.kpi} ({row.unit})",
                        _number(row.base_mean),
                        _number(row.option_mean),
                        _number(row.diff_mean, sign=True),
                        f"[{_number(row.ci_low, sign=True)}, {_number(row.ci_high, sign=True)}]",
                        "*" if row.clear else "",
                    )
                )
        widths = [max(len(r[k]) for r in [header, *body]) for k in range(len(header))]
        lines.append("  ".join(h.ljust(w) if k == 0 else h.rjust(w) for k, (h, w) in
                               enumerate(zip(header, widths, strict=True))).rstrip())  # fmt: skip
        for row in body:
            lines.append(
                "  ".join(
                    c.ljust(w) if k == 0 else c.rjust(w)
                    for k, (c, w) in enumerate(zip(row, widths, strict=True))
                ).rstrip()
            )
        lines.append("* the interval leaves out zero: a clear difference")
        lines.append("")
    return "\n".join(lines).rstrip()


def _number(value: float, *, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    magnitude = abs(value)
    digits = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 0.1 else 3
    text = f"{value:{'+' if sign else ''},.{digits}f}"
    return text
