"""``twin scenario list`` and ``twin scenario show SCENARIO``: the scenario library and one
scenario resolved, with its run specification and digest."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_parser(subparsers) -> None:
    parser = subparsers.add_parser(
        "scenario",
        help="list the shipped scenarios, or show one resolved",
        description="Scenarios are TOML files (docs/scenarios.md). `list` names the shipped "
        "library; `show` prints a scenario after `extends`, the run specification it "
        "compiles to on its city, and the specification's digest.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="the shipped scenarios")
    listing.add_argument("--lang", choices=("en", "vi"), default="en", help="titles in")
    listing.set_defaults(handler=run_list)
    show = actions.add_parser("show", help="one scenario, its run specification and digest")
    show.add_argument("scenario", metavar="SCENARIO", help="a .toml file or a library name")
    show.add_argument(
        "--city", type=Path, metavar="CITY.twin", help="the city (default: the scenario's)"
    )
    show.set_defaults(handler=run_show)


def run_list(args: argparse.Namespace) -> int:
    from scenarios.scenario import list_library

    scenarios = list_library()
    width = max((len(s.label) for s in scenarios), default=0)
    for scenario in scenarios:
        print(f"{scenario.label.ljust(width)}  {scenario.text('title', args.lang)}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    import tomli_w

    from scenarios.compare import scenario_city
    from scenarios.compile import compile_scenario
    from scenarios.scenario import load_scenario
    from twin.build.pipeline import load_city

    scenario = load_scenario(args.scenario)
    if args.city is not None:
        city, bundle = load_city(args.city), str(args.city)
    else:
        city, bundle = scenario_city(scenario)
    spec = compile_scenario(scenario, city, bundle=bundle)
    print(f"# scenario {scenario.label}, after extends:")
    print(tomli_w.dumps(scenario.data), end="")
    print(f"\n# its run specification on {city.name}:")
    print(spec.to_toml(), end="")
    print(f"digest: {spec.digest}")
    return 0
