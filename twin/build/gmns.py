"""Networks in GMNS form (the Zephyr Foundation's General Modeling Network Specification).

A GMNS folder holds ``node.csv`` (``node_id, x_coord, y_coord`` and optional fields such as
``name``, ``zone_id``), ``link.csv`` (``link_id, from_node_id, to_node_id`` and optional
``directed, length, lanes, free_speed, capacity, facility_type, name``) and optionally
``config.csv`` naming the units (``long_length``, ``speed``) and the coordinate system
(``crs``). GMNS ``capacity`` is per lane (PCE/h/lane); a :class:`~twin.network.Network`
stores the whole link's capacity, so reading multiplies by ``lanes`` and writing divides.

Units and CRS, in order of precedence: the ``long_length``/``speed``/``crs`` arguments, then
``config.csv``, then defaults (metres, km/h, and longitude/latitude when every coordinate
fits in it). Missing link fields are filled from the road-class defaults by
``facility_type`` (an OSM highway class such as ``primary``; ``residential`` otherwise);
a missing ``length`` is the straight line between the link's nodes. Only a blank cell is
missing: any other value must be what its field holds (``NaN``, ``n/a``, ``inf`` or text in
a numeric field, a repeated ``link_id``, a node off the Earth, a table without rows are each
a :class:`~twin.errors.GMNSError` naming the file, the row and the fix), never replaced.

A GMNS city has no POIs or buildings; zones come from ``node.csv``'s ``zone_id`` when
given (one zone otherwise) and hold no population: bring trips with ``--trips``.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj

from twin.build.osm import file_sha256
from twin.build.road_classes import load_road_defaults
from twin.city import City
from twin.errors import GMNSError, SourceNotFoundError
from twin.network import Network, stable_edge_ids

log = logging.getLogger(__name__)

#: Metres per unit of ``long_length``.
LENGTH_UNITS = {
    "m": 1.0, "meter": 1.0, "meters": 1.0, "metre": 1.0, "metres": 1.0,
    "km": 1000.0, "kilometer": 1000.0, "kilometers": 1000.0, "kilometre": 1000.0,
    "mi": 1609.344, "mile": 1609.344, "miles": 1609.344,
    "ft": 0.3048, "foot": 0.3048, "feet": 0.3048,
}  # fmt: skip
#: Metres per second per unit of ``speed``.
SPEED_UNITS = {
    "kph": 1 / 3.6, "km/h": 1 / 3.6, "kmh": 1 / 3.6, "kmph": 1 / 3.6,
    "mph": 0.44704, "mi/h": 0.44704,
    "m/s": 1.0, "mps": 1.0,
}  # fmt: skip
WALK_SPEED = 1.3  # m/s, on every GMNS link in both directions
_NODE_REQUIRED = ("node_id", "x_coord", "y_coord")
_LINK_REQUIRED = ("link_id", "from_node_id", "to_node_id")


def _read_csv(path: Path, required: tuple[str, ...]) -> pd.DataFrame:
    """A GMNS table as text, blank cells missing (``NaN``); any other cell as written, so
    that ``NaN`` or ``n/a`` in a numeric column is reported, never taken for a blank."""
    if not path.is_file():
        raise SourceNotFoundError(
            f"{path} does not exist; a GMNS folder needs node.csv and link.csv "
            "(see https://github.com/zephyr-data-specs/GMNS)"
        )
    try:
        table = pd.read_csv(path, skipinitialspace=True, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise GMNSError(f"{path}: not a readable CSV ({exc})") from exc
    table.columns = [str(c).strip() for c in table.columns]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise GMNSError(
            f"{path.name}: missing required columns {missing}; it has {list(table.columns)}. "
            f"GMNS requires {list(required)}"
        )
    if table.empty:
        kind = path.stem
        raise GMNSError(
            f"{path.name} has no {kind}s (a header and no rows); a GMNS network needs at "
            f"least one {kind}: check that the right file was exported"
        )
    table = table.apply(lambda c: c.str.strip())
    return table.mask(table == "")


def _numbers(table: pd.DataFrame, column: str, file: str, fix: str) -> np.ndarray:
    """A numeric column, ``NaN`` where the cell is blank; any other cell that is not a
    finite number is an error naming the file, the row and the value."""
    text = table[column]
    values = pd.to_numeric(text, errors="coerce").to_numpy(float)
    bad = np.flatnonzero(text.notna().to_numpy() & ~np.isfinite(values))
    if len(bad):
        more = f" (and {len(bad) - 1} more rows)" if len(bad) > 1 else ""
        raise GMNSError(
            f"{file}, row {int(bad[0]) + 2}: {column} {text.iloc[bad[0]]!r} is not a finite "
            f"number{more}; {fix}"
        )
    return values


def _integer_ids(values: pd.Series, what: str) -> np.ndarray:
    ids = pd.to_numeric(values, errors="coerce")
    bad = values[ids.isna() | (ids != np.floor(ids))]
    if len(bad):
        raise GMNSError(
            f"{what} must be integers; got {bad.head(3).tolist()} (rows "
            f"{[int(i) + 2 for i in bad.index[:3]]}). Renumber the ids as integers"
        )
    return ids.to_numpy(dtype=np.int64)


def _config(directory: Path) -> dict:
    path = directory / "config.csv"
    if not path.is_file():
        return {}
    try:
        table = pd.read_csv(path, skipinitialspace=True, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise GMNSError(f"{path}: not a readable CSV ({exc})") from exc
    if len(table) != 1:
        raise GMNSError(f"{path}: expected one row of settings, found {len(table)}")
    return {k.strip(): v.strip() for k, v in table.iloc[0].items() if v.strip()}


def _unit(value: str, table: dict[str, float], what: str) -> float:
    key = value.strip().lower()
    if key not in table:
        raise GMNSError(f"unknown {what} unit {value!r}; use one of {sorted(table)}")
    return table[key]


def _resolve_crs(crs: str | None, x: np.ndarray, y: np.ndarray) -> pyproj.CRS:
    if crs is None:
        if len(x) and np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90):
            return pyproj.CRS.from_epsg(4326)
        raise GMNSError(
            "the coordinates are not longitude/latitude and no CRS is named; add a `crs` "
            "column to config.csv (for example EPSG:32648) or pass --crs"
        )
    if crs.strip().lower() in ("wgs84", "lonlat", "latlon", "lon/lat"):
        return pyproj.CRS.from_epsg(4326)
    try:
        return pyproj.CRS.from_user_input(crs)
    except pyproj.exceptions.CRSError as exc:
        raise GMNSError(f"crs {crs!r} is not a coordinate system pyproj knows ({exc})") from exc


def _project(crs: pyproj.CRS, nodes: pd.DataFrame, x: np.ndarray, y: np.ndarray):
    """Projected x/y (metres) and lon/lat for the nodes, and the projected CRS used.

    Raises
    ------
    GMNSError
        A node that is not on the Earth in ``crs``.
    """
    to_lonlat = pyproj.Transformer.from_crs(crs, 4326, always_xy=True)
    lon, lat = to_lonlat.transform(x, y)
    _check_coordinates(nodes, {"lon": np.asarray(lon, float), "lat": np.asarray(lat, float)}, crs)
    if crs.is_projected:
        projected, px, py = crs, x, y
    else:
        zone = int((np.mean(lon) + 180) // 6) + 1
        epsg = (32600 if np.mean(lat) >= 0 else 32700) + zone
        projected = pyproj.CRS.from_epsg(epsg)
        px, py = pyproj.Transformer.from_crs(4326, projected, always_xy=True).transform(lon, lat)
    arrays = {"x": np.asarray(px, float), "y": np.asarray(py, float),
              "lon": np.asarray(lon, float), "lat": np.asarray(lat, float)}  # fmt: skip
    _check_coordinates(nodes, arrays, crs)
    return projected, arrays


def _truthy(values: pd.Series) -> np.ndarray:
    text = values.astype(str).str.strip().str.lower()
    return text.isin(("1", "true", "t", "yes", "y", "1.0")).to_numpy() | values.isna().to_numpy()


def read_gmns(
    directory: str | Path,
    *,
    crs: str | None = None,
    long_length: str | None = None,
    speed: str | None = None,
    name: str | None = None,
    road_defaults: str | Path | None = None,
) -> City:
    """Read a GMNS network folder into a :class:`~twin.city.City`.

    Parameters
    ----------
    directory
        Folder with ``node.csv``, ``link.csv`` and optionally ``config.csv``.
    crs
        Coordinate system of ``x_coord``/``y_coord`` (overrides ``config.csv``).
    long_length, speed
        Units of ``length`` and ``free_speed`` (``m``, ``km``, ``mi``, ``ft``;
        ``kph``, ``mph``, ``m/s``), overriding ``config.csv``.
    name
        City name; defaults to ``dataset_name`` from ``config.csv`` or the folder name.
    road_defaults
        A CSV overriding ``twin/defaults/road_classes.csv`` (see
        :func:`twin.build.road_classes.load_road_defaults`), used for missing link fields.

    Raises
    ------
    SourceNotFoundError
        The folder or a required file is missing.
    GMNSError
        Missing columns, non-integer or duplicate ids, a link naming a node that does not
        exist, unknown units or CRS, negative lengths or speeds.
    """
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise GMNSError(
            f"{directory} is a file; a GMNS network is the folder that holds node.csv and "
            "link.csv: give that folder"
        )
    if not directory.is_dir():
        raise SourceNotFoundError(f"GMNS folder {directory} does not exist")
    config = _config(directory)
    nodes = _read_csv(directory / "node.csv", _NODE_REQUIRED)
    links = _read_csv(directory / "link.csv", _LINK_REQUIRED)
    metres = _unit(long_length or config.get("long_length", "m"), LENGTH_UNITS, "long_length")
    metres_per_second = _unit(speed or config.get("speed", "kph"), SPEED_UNITS, "speed")

    node_id = _integer_ids(nodes["node_id"], "node.csv node_id")
    duplicated = pd.Series(node_id)[pd.Series(node_id).duplicated()].unique()
    if len(duplicated):
        raise GMNSError(
            f"node.csv: duplicate node_id {duplicated[:5].tolist()}; ids must be unique"
        )
    fix = "give every node its coordinates in the network's CRS"
    x = _numbers(nodes, "x_coord", "node.csv", fix)
    y = _numbers(nodes, "y_coord", "node.csv", fix)
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        bad = np.flatnonzero(~(np.isfinite(x) & np.isfinite(y)))[:3]
        raise GMNSError(f"node.csv: rows {[int(i) + 2 for i in bad]} have no numeric coordinates")
    source_crs = _resolve_crs(crs or config.get("crs"), x, y)
    projected, coords = _project(source_crs, nodes, x, y)

    position = pd.Series(np.arange(len(node_id)), index=node_id)
    from_id = _integer_ids(links["from_node_id"], "link.csv from_node_id")
    to_id = _integer_ids(links["to_node_id"], "link.csv to_node_id")
    unknown = ~np.isin(from_id, node_id) | ~np.isin(to_id, node_id)
    if unknown.any():
        rows = np.flatnonzero(unknown)[:5]
        described = [f"link {links['link_id'].iloc[r]} ({from_id[r]} -> {to_id[r]})" for r in rows]
        raise GMNSError(
            f"link.csv: {int(unknown.sum())} links name nodes that are not in node.csv, e.g. "
            f"{', '.join(described)}. Add the nodes to node.csv or remove the links"
        )
    tail = position.loc[from_id].to_numpy()
    head = position.loc[to_id].to_numpy()
    link_id = _integer_ids(links["link_id"], "link.csv link_id")
    repeated = pd.Series(link_id).duplicated(keep=False).to_numpy()
    if repeated.any():
        first = link_id[repeated][0]
        rows = np.flatnonzero(link_id == first)[:5] + 2
        raise GMNSError(
            f"link.csv: duplicate link_id {first} (rows {rows.tolist()}) and "
            f"{len(set(link_id[repeated])) - 1} more repeated ids; every link needs its own "
            "link_id: renumber the links"
        )

    defaults = load_road_defaults(road_defaults)
    facility = (
        links["facility_type"].fillna("").astype(str).str.strip()
        if "facility_type" in links
        else pd.Series([""] * len(links))
    )
    road_class_name = facility.where(facility.isin(defaults.index), "residential")
    classes = tuple(sorted(set(road_class_name) | set(facility[facility != ""])))
    class_index = {c: i for i, c in enumerate(classes)}
    road_class = np.array(
        [class_index[f or r] for f, r in zip(facility, road_class_name, strict=True)]
    )
    class_defaults = defaults.loc[road_class_name.to_numpy()]

    def column(name: str, default: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """A link field: the numbers given (blank cells: ``default``)."""
        if name not in links:
            return np.asarray(default, float)
        fix = "give a number, or leave the cell blank for the default of its facility_type"
        values = _numbers(links, name, "link.csv", fix) * scale
        if (values < 0).any():
            rows = np.flatnonzero(values < 0)[:3]
            raise GMNSError(f"link.csv: negative {name} on rows {[int(r) + 2 for r in rows]}")
        return np.where(np.isfinite(values), values, default)

    straight = np.hypot(
        coords["x"][head] - coords["x"][tail], coords["y"][head] - coords["y"][tail]
    )
    length = column("length", straight, metres)
    lanes = column("lanes", class_defaults["lanes"].to_numpy(float))
    speed_ms = column(
        "free_speed", class_defaults["speed_kmh"].to_numpy(float) / 3.6, metres_per_second
    )
    if (speed_ms <= 0).any():
        rows = np.flatnonzero(speed_ms <= 0)[:3]
        raise GMNSError(f"link.csv: free_speed must be above 0; rows {[int(r) + 2 for r in rows]}")
    per_lane = column("capacity", class_defaults["capacity_pcu_per_lane_h"].to_numpy(float))
    for field_name, values in (("lanes", lanes), ("capacity", per_lane)):
        if (values <= 0).any():
            rows = np.flatnonzero(values <= 0)[:3]
            raise GMNSError(
                f"link.csv: {field_name} must be above 0; rows {[int(r) + 2 for r in rows]} (a "
                "closed road is an intervention of a scenario, not a link without lanes)"
            )
    jam = class_defaults["jam_density_pcu_per_km_lane"].to_numpy(float)
    names = links["name"].astype("string").fillna("").to_numpy(object) if "name" in links else None

    directed = _truthy(links["directed"]) if "directed" in links else np.ones(len(links), bool)
    both = np.flatnonzero(~directed)
    expand = np.concatenate([np.arange(len(links)), both])
    tails = np.concatenate([tail, head[both]])
    heads = np.concatenate([head, tail[both]])
    edges = {
        "length": length[expand],
        "speed": speed_ms[expand],
        "lanes": lanes[expand],
        "capacity": (per_lane * lanes)[expand],
        "jam_density": jam[expand],
        "road_class": road_class[expand],
        # a link both ways: its reverse direction gets an id of its own, -(link_id + 1)
        "edge_id": np.concatenate([link_id, -(link_id[both] + 1)]),
    }
    if names is not None:
        edges["name"] = names[expand]
    node_arrays = {"node_id": node_id, **coords}
    drive = Network.from_edges(
        nodes=node_arrays, tail=tails, head=heads, edges=edges, road_classes=classes
    )
    walk = Network.from_edges(
        nodes=node_arrays,
        tail=np.concatenate([tails, heads]),
        head=np.concatenate([heads, tails]),
        edges={
            "length": np.concatenate([edges["length"]] * 2),
            "speed": np.full(2 * len(tails), WALK_SPEED),
            "lanes": np.ones(2 * len(tails)),
            "capacity": np.full(2 * len(tails), np.inf),
            "jam_density": np.zeros(2 * len(tails)),
            "road_class": np.concatenate([edges["road_class"]] * 2),
            "edge_id": stable_edge_ids(
                node_id[np.concatenate([tails, heads])],
                node_id[np.concatenate([heads, tails])],
                namespace="walk",
            ),
        },
        road_classes=classes,
    )
    zones, node_zone = _zones(nodes, drive)
    log.info("read GMNS %s: %d nodes, %d links", directory, len(node_id), len(links))
    return City(
        name=name or config.get("dataset_name") or directory.name,
        crs=projected.to_string(),
        drive=drive,
        walk=walk,
        pois=_empty_pois(),
        buildings=_empty_buildings(),
        zones=zones,
        node_zone=node_zone,
        meta={
            "source": str(directory),
            "source_format": "gmns",
            "params": {
                "crs": source_crs.to_string(),
                "metres_per_length_unit": metres,
                "metres_per_second_per_speed_unit": metres_per_second,
            },
        },
    )


def _check_coordinates(nodes: pd.DataFrame, coords: dict, crs: pyproj.CRS) -> None:
    """Every node must lie on the Earth: longitude and latitude in range, projected
    coordinates finite."""
    lon, lat = coords["lon"], coords["lat"]
    ok = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90)
    for name in ("x", "y"):
        if name in coords:
            ok &= np.isfinite(coords[name])
    if ok.all():
        return
    bad = np.flatnonzero(~ok)
    row = int(bad[0])
    more = f" (and {len(bad) - 1} more nodes)" if len(bad) > 1 else ""
    raise GMNSError(
        f"node.csv, row {row + 2}: x_coord {nodes['x_coord'].iloc[row]}, y_coord "
        f"{nodes['y_coord'].iloc[row]} is not a place on the Earth in {crs.to_string()}{more}; "
        "correct the coordinates, or name their CRS in config.csv (crs) or with --crs"
    )


def _zones(nodes: pd.DataFrame, drive: Network) -> tuple[pd.DataFrame, np.ndarray]:
    """Zones from ``zone_id`` (one zone when absent), without population."""
    if "zone_id" in nodes and nodes["zone_id"].notna().any():
        labels = nodes["zone_id"].fillna("none").astype(str).to_numpy()
    else:
        labels = np.full(drive.n_nodes, "all", dtype=object)
    names, node_zone = np.unique(labels, return_inverse=True)
    rows = []
    for z, label in enumerate(names):
        members = np.flatnonzero(node_zone == z)
        cx, cy = drive.x[members].mean(), drive.y[members].mean()
        centre = members[np.argmin(np.hypot(drive.x[members] - cx, drive.y[members] - cy))]
        rows.append({
            "zone": z, "name": str(label), "kind": "gmns", "x": cx, "y": cy, "area_km2": np.nan,
            "population": 0.0, "jobs": 0.0, "schools": 0.0, "markets": 0.0, "pois": 0.0,
            "drive_node": int(centre), "geometry": b"",
        })  # fmt: skip
    return pd.DataFrame(rows), node_zone.astype(np.int32)


def _empty_pois() -> pd.DataFrame:
    columns = ["poi_id", "name", "category", "x", "y", "lon", "lat", "drive_node",
               "walk_node", "access_m", "size", "source"]  # fmt: skip
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _empty_buildings() -> pd.DataFrame:
    columns = ["building_id", "x", "y", "footprint_m2", "height_m", "height_source", "levels",
               "floor_area_m2", "use", "zone", "residents", "geometry"]  # fmt: skip
    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


#: The file an export writes beside the GMNS tables: what wrote them, with their checksums,
#: so that ``--force`` replaces an export only while it is still as it was written.
EXPORT_MARKER = "twin-export.json"
EXPORT_FORMAT = "hue-twin-gmns-export/1"
EXPORT_TABLES = ("node.csv", "link.csv", "config.csv")


def is_gmns_export(folder: str | Path) -> bool:
    """Whether ``folder`` holds a GMNS export of :func:`write_gmns` and nothing else, every
    table unchanged since it was written (so replacing it loses nothing)."""
    folder = Path(folder)
    try:
        names = {item.name for item in folder.iterdir()}
        marker = json.loads((folder / EXPORT_MARKER).read_text(encoding="utf-8"))
        if names != {*EXPORT_TABLES, EXPORT_MARKER} or marker.get("format") != EXPORT_FORMAT:
            return False
        return all(
            file_sha256(folder / name) == marker["files"][name]["sha256"] for name in EXPORT_TABLES
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return False


def write_gmns(
    city: City,
    directory: str | Path,
    *,
    overwrite: bool = False,
    inputs: Mapping[str, str | Path | None] | None = None,
) -> tuple[Path, int]:
    """Write the city's drive network as a GMNS folder (``node.csv``, ``link.csv``,
    ``config.csv``): lengths in metres, speeds in km/h, capacity per lane, the city's CRS.

    The two directions of an undirected GMNS link that was read in (edge ids ``L`` and
    ``-(L + 1)``) are written back as one undirected link ``L``. The folder also gets
    :data:`EXPORT_MARKER` (the tables' checksums). It is written beside its place and
    renamed into it once complete.

    Parameters
    ----------
    city
        The city.
    directory
        The folder to write: new, empty, or (with ``overwrite``) an earlier export that is
        unchanged (:func:`is_gmns_export`).
    overwrite
        Replace an earlier export; never a folder holding anything else.
    inputs
        Further inputs the folder may not be nor hold (``{description: path}``); the
        city's bundle and the GMNS folder it was built from always count.

    Returns
    -------
    The folder and the number of links written.

    Raises
    ------
    OutputError
        ``directory`` is a file, the current folder, not writable, holds an input, or is not
        empty and not an earlier export (or ``overwrite`` is false).
    """
    from twin.output_paths import check_output_folder, replace_folder, staging_folder

    directory = Path(directory)
    meta = city.meta or {}
    check_output_folder(
        directory,
        what="GMNS export",
        earlier=is_gmns_export,
        force=overwrite,
        inputs={
            "the city's bundle": meta.get("bundle"),
            "the GMNS folder the city was built from": (
                meta.get("source") if meta.get("source_format") == "gmns" else None
            ),
            **(inputs or {}),
        },
        option="--gmns",
    )
    net = city.drive
    node_table = pd.DataFrame({"node_id": net.node_id, "x_coord": net.x, "y_coord": net.y})
    if len(city.zones) and len(city.node_zone) == net.n_nodes:
        node_table["zone_id"] = city.zones["name"].to_numpy()[city.node_zone]
    tail = net.tail
    links = pd.DataFrame({
        "link_id": net.edge_id,
        "from_node_id": net.node_id[tail],
        "to_node_id": net.node_id[net.indices],
        "directed": True,
        "length": net.length,
        "lanes": net.lanes,
        "free_speed": np.round(net.speed * 3.6, 9),
        "capacity": np.divide(net.capacity, net.lanes, out=np.zeros(net.n_edges),
                              where=net.lanes > 0),
        "facility_type": np.asarray(net.road_classes, dtype=object)[net.road_class],
        "name": net.name,
    })  # fmt: skip
    links = _merge_undirected(links)
    config = pd.DataFrame([{
        "dataset_name": city.name, "short_length": "m", "long_length": "m", "speed": "kph",
        "crs": city.crs, "geometry_field_format": "WKT", "currency": "VND",
        "version_number": 0.96, "id_type": "integer",
    }])  # fmt: skip
    staging = staging_folder(directory)
    try:
        for name, table in zip(EXPORT_TABLES, (node_table, links, config), strict=True):
            table.to_csv(staging / name, index=False)
        marker = {
            "format": EXPORT_FORMAT,
            "city": city.name,
            "files": {
                name: {
                    "sha256": file_sha256(staging / name),
                    "bytes": (staging / name).stat().st_size,
                }
                for name in EXPORT_TABLES
            },
        }
        (staging / EXPORT_MARKER).write_text(
            json.dumps(marker, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
        )
        replace_folder(staging, directory)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return directory, len(links)


def _merge_undirected(links: pd.DataFrame) -> pd.DataFrame:
    """Fold the two directions of an undirected link read in (edge ids ``L`` and
    ``-(L + 1)``) back into one undirected link ``L``."""
    ids = links["link_id"].to_numpy(np.int64)
    links = links.assign(link_id=np.where(ids < 0, -ids - 1, ids))
    counts = links["link_id"].map(links["link_id"].value_counts())
    pairs = links[counts == 2]
    if pairs.empty:
        return links
    first = pairs.groupby("link_id").head(1)
    second = pairs.drop(first.index).set_index("link_id")
    mirrored = (
        second.loc[first["link_id"], "from_node_id"].to_numpy() == first["to_node_id"].to_numpy()
    ) & (second.loc[first["link_id"], "to_node_id"].to_numpy() == first["from_node_id"].to_numpy())
    undirected = first[mirrored].assign(directed=False)
    folded = set(undirected["link_id"])
    kept = links[~links["link_id"].isin(folded)]
    return pd.concat([kept, undirected]).sort_values("link_id", kind="stable")
