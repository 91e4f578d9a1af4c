"""Reading what a view shows: run folders and comparison folders, as plain tables.

The view reads only the files a run or a comparison writes (the records contract of the
run tables, ``manifest.json``, ``comparison.json`` and the comparison's Parquet tables),
never the simulation's objects. What one panel of a view shows is a :class:`Side`: one run,
or one scenario of a comparison (the mean of its replications).

Folders
-------
run folder
    ``links.parquet``, ``incidents.parquet``, ``visits.parquet``, ``kpis.json`` and
    ``manifest.json`` (``spec``: the city's checksum and bundle, the window, the stations,
    the interventions, the vehicle classes).
comparison folder
    ``comparison.json`` (what was compared, titles in Vietnamese and English), ``links.parquet``
    and ``zones.parquet`` (base, option and difference per link or zone), ``kpis.parquet``
    (the paired KPI table) and each replication's run folder under ``runs/``.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.city import City, city_checksum
from twin.clock import parse_clock
from twin.edits import NewRoad, road_links
from viz.errors import CityMismatchError, EmptyResultError, ResultsError

__all__ = [
    "INTERVAL_S",
    "LINK_COLUMNS",
    "Results",
    "Side",
    "check_result_folders",
    "check_results_city",
    "is_comparison",
    "is_run",
    "load_results",
]

#: Length of the intervals of the links table, seconds.
INTERVAL_S = 900.0
#: Per-link columns a side's ``links`` table has (``density_pcu_per_km`` and ``exits`` only
#: for a single run: a comparison keeps the three it compares).
LINK_COLUMNS = ("edge_id", "interval_start", "entries", "mean_speed_kmh", "queue_pcu")


@dataclass(frozen=True, eq=False)
class Side:
    """What one panel shows: one run, or one scenario of a comparison.

    Attributes
    ----------
    name
        Short name (the scenario's name, or the run folder's name).
    title
        Title by language (``{"en": ..., "vi": ...}``).
    links
        Per link and 15-minute interval: :data:`LINK_COLUMNS` (means over replications for
        a scenario of a comparison; a link and interval without traffic has 0 entries).
    incidents, visits
        The run tables of every replication, with a ``replication`` column (empty tables
        when the part did not run).
    zones
        Per zone (``zone`` and one column per zone KPI), from a comparison's ``zones.parquet``;
        ``None`` for a run (the view computes what it needs from ``incidents``).
    stations
        ``name``, ``unit_type``, ``node_id``, ``units``: the run's stations at its start.
    interventions
        The run specification's interventions (``kind``, ``from``, ``until`` and their keys).
    window
        ``(start, end)``, seconds after midnight.
    city_checksum, city_bundle
        The city the run was made on (its checksum; its bundle, ``""`` for the default city).
    replications
        Runs averaged.
    mean_pcu
        Passenger-car units of the average vehicle of the run's vehicle mix (shares × PCU).
    vehicle_classes
        The vehicle classes of the run (``motorbike``, ``car``…; empty when not recorded).
    description, assumptions
        By language, from the scenario (empty for a run).
    """

    name: str
    title: dict[str, str]
    links: pd.DataFrame = field(repr=False)
    incidents: pd.DataFrame = field(repr=False)
    visits: pd.DataFrame = field(repr=False)
    zones: pd.DataFrame | None = field(repr=False)
    stations: pd.DataFrame = field(repr=False)
    interventions: tuple[dict[str, Any], ...]
    window: tuple[float, float]
    city_checksum: str
    city_bundle: str
    replications: int = 1
    mean_pcu: float = 1.0
    vehicle_classes: tuple[str, ...] = ()
    description: dict[str, str] = field(default_factory=dict)
    assumptions: dict[str, str] = field(default_factory=dict)

    def text(self, key: str, lang: str) -> str:
        """``title``, ``description`` or ``assumptions`` in ``lang`` (else English, else any)."""
        values = getattr(self, key) or {}
        return values.get(lang) or values.get("en") or next(iter(values.values()), "")

    @property
    def intervals(self) -> np.ndarray:
        """Starts of the 15-minute intervals of the window, seconds after midnight."""
        start = math.floor(self.window[0] / INTERVAL_S) * INTERVAL_S
        return np.arange(start, self.window[1], INTERVAL_S)

    @property
    def closed_edges(self) -> np.ndarray:
        """Edge ids closed by an intervention at some time of the run (to some class)."""
        ids = [e for item in self.interventions if item.get("kind") == "close_links"
               for e in item.get("edges", ())]  # fmt: skip
        return np.unique(np.asarray(ids, dtype=np.int64))

    def closed_edges_at(self, t: float, vehicle_class: str) -> np.ndarray:
        """Edge ids closed to ``vehicle_class`` at ``t`` (seconds after midnight): those an
        intervention closes then (its window holds ``t``; it names no classes or that one)
        and those of a road the run added whose window does not hold ``t`` (not yet open,
        or no longer)."""
        closed = self._closed_at(t)
        ids = [e for e, classes in closed.items() if classes is None or vehicle_class in classes]
        return np.unique(np.asarray(ids, dtype=np.int64))

    def closures_at(self, t: float) -> tuple[np.ndarray, np.ndarray]:
        """Edge ids closed at ``t`` (seconds after midnight) to every vehicle class of the
        run, and those closed to some classes only (a flood closes streets to motorbikes
        and cars and leaves them to buses, trucks and ambulances)."""
        everyone = frozenset(self.vehicle_classes)
        every, some = [], []
        for e, classes in self._closed_at(t).items():
            whole = classes is None or (everyone and everyone <= classes)
            (every if whole else some).append(e)
        return np.unique(np.asarray(every, np.int64)), np.unique(np.asarray(some, np.int64))

    @property
    def closes_roads(self) -> bool:
        """Whether the run closes some road at some time (:meth:`_closed_at` at some
        ``t``): a closure, or a road it added that is open only in a window."""
        return any(
            item.get("kind") == "close_links"
            or (item.get("kind") == "add_road" and ("from" in item or "until" in item))
            for item in self.interventions
        )

    def _closed_at(self, t: float) -> dict[int, frozenset[str] | None]:
        """Edge id → the classes it is closed to at ``t`` (``None``: every class)."""
        closed: dict[int, frozenset[str] | None] = {}
        for item in self.interventions:
            kind = item.get("kind")
            if kind not in ("close_links", "add_road"):
                continue
            start = parse_clock(item["from"]) if "from" in item else -math.inf
            until = parse_clock(item["until"]) if "until" in item else math.inf
            inside = start <= t < until
            if kind == "add_road":
                edges, classes = ([] if inside else item.get("edge_ids", ())), None
            else:
                edges = item.get("edges", ()) if inside else ()
                classes = frozenset(item["classes"]) if item.get("classes") else None
            for e in edges:
                before = closed.get(int(e), frozenset())
                if classes is None or before is None:
                    closed[int(e)] = None
                else:
                    closed[int(e)] = before | classes
        return closed

    @functools.cached_property
    def added_roads(self) -> list[NewRoad]:
        """The links of the roads the run added (``add_road`` interventions), one per
        direction, as :func:`twin.edits.add_roads` builds them."""
        links = []
        for item in self.interventions:
            if item.get("kind") == "add_road":
                links += road_links(
                    item["from_node"], item["to_node"], item.get("edge_ids", ()),
                    road_class=item["road_class"], lanes=item.get("lanes", 1.0),
                    speed_kmh=item.get("speed_kmh"), length_m=item.get("length_m"),
                    both_ways=item.get("both_ways", True), name=item.get("name", ""),
                    bridge=item.get("bridge", False),
                )  # fmt: skip
        return links


@dataclass(frozen=True, eq=False)
class Results:
    """What the view was given: 1-4 sides, and the comparison when it was one.

    Attributes
    ----------
    sides
        The panels, base (or first run) first.
    comparison
        ``comparison.json`` of a comparison folder, else ``None``.
    kpis
        The comparison's KPI table (``kpis.parquet``), else ``None``.
    zone_differences
        The comparison's ``zones.parquet`` (per zone, KPI and option), else ``None``.
    folder
        The comparison folder, or the first run folder.
    """

    sides: tuple[Side, ...]
    comparison: dict | None = None
    kpis: pd.DataFrame | None = field(default=None, repr=False)
    zone_differences: pd.DataFrame | None = field(default=None, repr=False)
    folder: Path = Path()

    @property
    def city_checksum(self) -> str:
        return self.sides[0].city_checksum

    @property
    def city_bundle(self) -> str:
        return self.sides[0].city_bundle


# -- recognising folders -------------------------------------------------------------------
def is_run(folder: str | Path) -> bool:
    """Whether ``folder`` holds a run (``manifest.json`` and ``links.parquet``)."""
    folder = Path(folder)
    return (folder / "manifest.json").is_file() and (folder / "links.parquet").is_file()


def is_comparison(folder: str | Path) -> bool:
    """Whether ``folder`` holds a finished comparison (``comparison.json``)."""
    return (Path(folder) / "comparison.json").is_file()


def check_result_folders(paths: Sequence[str | Path]) -> None:
    """Refuse, before anything is read, a path that is not a run or comparison folder.

    Raises
    ------
    ResultsError
        A path does not exist, or holds neither a ``manifest.json`` nor a
        ``comparison.json``.
    """
    for folder in map(Path, paths):
        if not folder.is_dir():
            raise ResultsError(f"{folder} does not exist; give a run or comparison folder")
        if not ((folder / "manifest.json").is_file() or is_comparison(folder)):
            raise ResultsError(
                f"{folder} is neither a run folder (no manifest.json) nor a comparison folder "
                "(no comparison.json); give a folder written by `twin run -o DIR` or "
                "`twin compare -o DIR`"
            )


# -- loading -------------------------------------------------------------------------------
def load_results(paths: Sequence[str | Path]) -> Results:
    """The sides of a view: one comparison folder (its base and options), or 1-4 run folders.

    Raises
    ------
    ResultsError
        A path is neither a run nor a finished comparison, a comparison is given with other
        folders, more than four runs are given, or a table is damaged.
    CityMismatchError
        The runs were made on different cities (their manifests' ``spec.city.checksum``).
    EmptyResultError
        A run recorded no traffic at all.
    """
    paths = [Path(p) for p in paths]
    if not paths:
        raise ResultsError("give a run folder (twin run -o DIR) or a comparison folder")
    check_result_folders(paths)
    comparisons = [p for p in paths if is_comparison(p)]
    if comparisons:
        if len(paths) > 1:
            raise ResultsError(
                f"{comparisons[0]} is a comparison; give it alone (its base and options are "
                "shown side by side), or give run folders only"
            )
        return _load_comparison(paths[0])
    if len(paths) > 4:
        raise ResultsError(f"{len(paths)} runs given; a view shows 2 to 4 side by side")
    sides = tuple(_load_run(p) for p in paths)
    names = [s.name for s in sides]
    if len(set(names)) != len(names):
        sides = tuple(
            _renamed(s, f"{s.name} ({i + 1})") for i, s in enumerate(sides)
        )  # two folders of the same name
    check_same_city(sides)
    return Results(sides=sides, folder=paths[0])


def check_same_city(sides: Sequence[Side]) -> None:
    """Refuse sides made on different cities.

    Raises
    ------
    CityMismatchError
        Two sides' city checksums differ.
    """
    first = sides[0]
    for side in sides[1:]:
        if side.city_checksum != first.city_checksum:
            raise CityMismatchError(
                f"{first.name!r} and {side.name!r} were run on different cities (city "
                f"checksums {first.city_checksum[:12]}… and {side.city_checksum[:12]}…, in "
                "each manifest.json's spec.city); show side by side only runs of one city, "
                "or run them again on the same bundle"
            )


def check_results_city(results: Results, city: City) -> None:
    """Refuse a city the results were not made on (their manifests' city checksum).

    Raises
    ------
    CityMismatchError
        The checksums differ.
    """
    if results.city_checksum and results.city_checksum != city_checksum(city):
        raise CityMismatchError(
            f"the results were made on another city than {city.name!r} (city checksum "
            f"{results.city_checksum[:12]}… in their manifest); give the bundle they were "
            "run on with --city, or leave --city out for the default city"
        )


def _renamed(side: Side, name: str) -> Side:
    from dataclasses import replace

    return replace(side, name=name, title=dict.fromkeys(side.title, name) or {"en": name})


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResultsError(f"{path} cannot be read ({exc}); run it again") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path} is not a JSON object; run it again")
    return data


def _read_parquet(path: Path, columns: Sequence[str] | None = None) -> pd.DataFrame:
    try:
        return pd.read_parquet(path, columns=list(columns) if columns else None)
    except FileNotFoundError:
        raise ResultsError(f"{path} is missing; run it again") from None
    except Exception as exc:  # pyarrow's errors for damaged files and missing columns
        raise ResultsError(f"{path} cannot be read ({type(exc).__name__}: {exc})") from None


def _window(spec: dict, where: Path) -> tuple[float, float]:
    try:
        window = spec["window"]
        return float(parse_clock(window["start"])), float(parse_clock(window["end"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ResultsError(f"{where}: spec.window cannot be read ({exc})") from None


def _mean_pcu(spec: dict) -> float:
    classes = spec.get("parameters", {}).get("vehicles", [])
    try:
        total = sum(float(c["share"]) for c in classes)
        pcu = sum(float(c["share"]) * float(c["pcu"]) for c in classes)
    except (KeyError, TypeError, ValueError):
        return 1.0
    return pcu / total if total > 0 else 1.0


def _vehicle_classes(spec: dict) -> tuple[str, ...]:
    classes = spec.get("parameters", {}).get("vehicles", [])
    return tuple(
        str(c["vehicle_class"]) for c in classes if isinstance(c, dict) and "vehicle_class" in c
    )


def _stations(spec: dict) -> pd.DataFrame:
    rows = spec.get("stations", [])
    table = pd.DataFrame(rows, columns=["name", "unit_type", "node_id", "units"])
    return table.astype({"node_id": np.int64, "units": np.int64})


def _manifest(folder: Path) -> tuple[dict, dict]:
    if not (folder / "manifest.json").is_file():
        raise ResultsError(
            f"{folder} is neither a run folder (no manifest.json) nor a comparison folder (no "
            "comparison.json); give a folder written by `twin run -o DIR` or `twin compare -o DIR`"
        )
    manifest = _read_json(folder / "manifest.json")
    spec = manifest.get("spec")
    if not isinstance(spec, dict) or "city" not in spec:
        raise ResultsError(f"{folder / 'manifest.json'} has no run specification; run it again")
    return manifest, spec


def _run_tables(folders: Sequence[Path]) -> tuple[list[pd.DataFrame], pd.DataFrame, pd.DataFrame]:
    """Links of each run, and the incidents and visits of all of them (``replication``)."""
    links, incidents, visits = [], [], []
    for i, folder in enumerate(folders):
        if not (folder / "links.parquet").is_file():
            raise ResultsError(f"{folder} has no links.parquet; it is not a finished run")
        links.append(_read_parquet(folder / "links.parquet"))
        for name, out in (("incidents", incidents), ("visits", visits)):
            path = folder / f"{name}.parquet"
            if path.is_file():
                out.append(_read_parquet(path).assign(replication=i))
    return (
        links,
        pd.concat(incidents, ignore_index=True) if incidents else _empty("incidents"),
        pd.concat(visits, ignore_index=True) if visits else _empty("visits"),
    )


def _empty(kind: str) -> pd.DataFrame:
    columns = {
        "incidents": ["zone", "node", "call", "depart", "on_scene", "response_time",
                      "left_scene", "back_at_base", "station", "unit_type"],
        "visits": ["site", "poi_id", "zone", "arrive", "enter", "leave", "gate_wait", "missed"],
    }[kind]  # fmt: skip
    return pd.DataFrame({c: pd.Series([], dtype=float) for c in columns}).assign(replication=0)


def _load_run(folder: Path) -> Side:
    if not folder.is_dir():
        raise ResultsError(f"{folder} does not exist; give a run or comparison folder")
    _, spec = _manifest(folder)
    (links,), incidents, visits = _run_tables([folder])
    if not len(links):
        raise EmptyResultError(
            f"{folder} recorded no traffic (links.parquet is empty): there is nothing to draw; "
            "check the run's window and demand (`twin run --start --end --scale`)"
        )
    name = folder.name
    return Side(
        name=name,
        title={"en": name, "vi": name},
        links=links,
        incidents=incidents,
        visits=visits,
        zones=None,
        stations=_stations(spec),
        interventions=tuple(spec.get("interventions", ())),
        window=_window(spec, folder / "manifest.json"),
        city_checksum=str(spec["city"].get("checksum", "")),
        city_bundle=str(spec["city"].get("bundle", "")),
        replications=1,
        mean_pcu=_mean_pcu(spec),
        vehicle_classes=_vehicle_classes(spec),
    )


def _load_comparison(folder: Path) -> Results:
    summary = _read_json(folder / "comparison.json")
    try:
        described = [summary["base"], *summary["options"]]
    except (KeyError, TypeError):
        raise ResultsError(f"{folder / 'comparison.json'} lists no base and options") from None
    links = _read_parquet(folder / "links.parquet")
    zones = _read_parquet(folder / "zones.parquet")
    kpis = _read_parquet(folder / "kpis.parquet")
    if not len(links):
        raise EmptyResultError(
            f"{folder}: links.parquet is empty, the compared runs recorded no traffic; check "
            "the scenarios' window and demand"
        )
    options = [d["name"] for d in described[1:]]
    sides = []
    for k, item in enumerate(described):
        runs = [folder / r for r in item.get("runs", [])]
        if not runs:
            raise ResultsError(f"{folder / 'comparison.json'}: {item.get('name')} has no runs")
        _, spec = _manifest(runs[0])
        _, incidents, visits = _run_tables(runs)
        scenario = options[0] if k == 0 else item["name"]
        column = "base" if k == 0 else "option"
        sides.append(
            Side(
                name=str(item["name"]),
                title=dict(item.get("title") or {"en": item["name"]}),
                links=_side_links(links, scenario, column),
                incidents=incidents,
                visits=visits,
                zones=_side_zones(zones, scenario, column),
                stations=_stations(spec),
                interventions=tuple(spec.get("interventions", ())),
                window=_window(spec, runs[0] / "manifest.json"),
                city_checksum=str(spec["city"].get("checksum", "")),
                city_bundle=str(spec["city"].get("bundle", "")),
                replications=len(runs),
                mean_pcu=_mean_pcu(spec),
                vehicle_classes=_vehicle_classes(spec),
                description=dict(item.get("description") or {}),
                assumptions=dict(item.get("assumptions") or {}),
            )
        )
    sides_t = tuple(sides)
    check_same_city(sides_t)
    expected = summary.get("city", {}).get("checksum")
    if expected and expected != sides_t[0].city_checksum:
        raise CityMismatchError(
            f"{folder}: comparison.json names city {expected[:12]}… but its runs were made on "
            f"{sides_t[0].city_checksum[:12]}…; run the comparison again"
        )
    return Results(
        sides=sides_t, comparison=summary, kpis=kpis, zone_differences=zones, folder=folder
    )


def _side_links(links: pd.DataFrame, scenario: str, column: str) -> pd.DataFrame:
    """One side of a comparison's links table, wide: :data:`LINK_COLUMNS`."""
    rows = links[links["scenario"] == scenario]
    # unstack keeps the (link, interval) pairs of the table: no pair that never happened
    wide = rows.set_index(["edge_id", "interval_start", "kpi"])[column].unstack("kpi")
    wide = wide.reindex(columns=["entries", "mean_speed_kmh", "queue_pcu"]).reset_index()
    wide[["entries", "queue_pcu"]] = wide[["entries", "queue_pcu"]].fillna(0.0)
    wide.columns.name = None
    return wide[list(LINK_COLUMNS)]


def _side_zones(zones: pd.DataFrame, scenario: str, column: str) -> pd.DataFrame:
    rows = zones[zones["scenario"] == scenario]
    wide = rows.pivot_table(index="zone", columns="kpi", values=column, dropna=False)
    wide.columns.name = None
    return wide.reset_index()
