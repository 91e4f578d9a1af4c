"""``twin info CITY.twin [--json]``: what a city bundle holds."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "info",
        help="summarise a city bundle",
        description="Print a city's CRS, nodes, edges, km of road by class, signalised "
        "junctions, POIs by class, buildings, population, zones and bounding box, and the "
        "build's notes on values it did not take from the city itself (another city's "
        "profile, an estimated population).",
    )
    parser.add_argument("city", type=Path, help="a .twin bundle (from `twin build`)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def format_summary(summary: dict, meta: dict) -> str:
    """The human-readable form of :func:`twin.build.pipeline.city_summary`: the profile
    line only for a city not built with Huế's own, the notes only when the build made any."""
    from twin.city_profile import DEFAULT_PROFILE

    lines = [f"{summary['name']} ({summary['crs']})"]
    source = meta.get("source")
    if source:
        details = []
        if meta.get("source_sha256"):
            details.append(f"sha256 {meta['source_sha256'][:12]}…")
        if meta.get("source_date"):
            details.append(f"dated {meta['source_date']}")
        suffix = f" ({', '.join(details)})" if details else ""
        lines.append(f"  source      {source}{suffix}")
    profile = summary.get("profile")
    if profile and (profile["borrowed"] or profile["file"] != DEFAULT_PROFILE):
        borrowed = " (borrowed: the extract lies outside its area)" if profile["borrowed"] else ""
        lines.append(f"  profile     {profile['file']}{borrowed}")
    lines.append(
        f"  drive       {summary['nodes']:,} nodes, {summary['edges']:,} edges, "
        f"{summary['road_km_total']:,.1f} km of road"
    )
    width = max((len(k) for k in summary["road_km"]), default=0)
    for name, km in sorted(summary["road_km"].items(), key=lambda kv: -kv[1]):
        lines.append(f"    {name:<{width}}  {km:>9,.1f} km")
    control = summary.get("node_control", {})
    lines.append(
        f"  junctions   {summary.get('signalised_junctions', 0):,} signalised "
        f"({control.get('traffic_signals', 0):,} traffic signals, "
        f"{control.get('signal_crossing', 0):,} signalised crossings); "
        f"{control.get('stop', 0):,} stop and {control.get('give_way', 0):,} give-way signs"
    )
    walk = summary["walk"]
    lines.append(
        f"  walk        {walk['nodes']:,} nodes, {walk['edges']:,} edges, {walk['km']:,.1f} km"
    )
    dropped = summary.get("dropped") or {}
    for kind in ("drive", "walk"):
        d = dropped.get(kind)
        if d:
            lines.append(
                f"  dropped     {kind}: {d['nodes']:,} nodes, {d['edges']:,} edges, "
                f"{d['km']:,.1f} km outside the largest strongly connected component"
            )
    total = sum(summary["pois"].values())
    lines.append(f"  POIs        {total:,}")
    width = max((len(k) for k in summary["pois"]), default=0)
    for name, count in summary["pois"].items():
        lines.append(f"    {name:<{width}}  {count:>6,}")
    lines.append(f"  buildings   {summary['buildings']:,}")
    lines.append(f"  population  {summary['population']:,}")
    kinds = ", ".join(f"{n} {k}" for k, n in summary.get("zone_kinds", {}).items())
    lines.append(f"  zones       {summary['zones']:,}" + (f" ({kinds})" if kinds else ""))
    bbox = summary["bbox"]
    if bbox:
        lines.append(
            f"  bbox        lon {bbox['min_lon']:.4f} to {bbox['max_lon']:.4f}, "
            f"lat {bbox['min_lat']:.4f} to {bbox['max_lat']:.4f}"
        )
    lines.extend(f"  note        {note}" for note in summary.get("notes", []))
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from twin.build.pipeline import load_city
    from twin.build.summary import city_summary

    city = load_city(args.city)
    summary = city_summary(city)
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        print(format_summary(summary, city.meta))
    return 0
