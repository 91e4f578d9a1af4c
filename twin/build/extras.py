"""Extra POIs: places outside the OSM extract, joined to the networks by access links.

Lăng Minh Mạng and Lăng Khải Định, two of Huế's royal tombs, lie past the southern edge
of the Huế extract (see ``../shared/data/osm/SOURCES.md``). Rather than pretend they are
absent or inside, each is added as a documented POI (``twin/defaults/extra_pois.csv``,
which says where every number comes from) with:

- a new node in the drive network and one in the walk network, at the POI, with node id
  ``-1, -2, …`` (OSM ids are positive);
- an access link each way between that node and the nearest node of the network,
  ``detour_factor`` × the straight-line distance long, named ``"<POI> (access)"``, with
  ``osm_way`` ``-1``. Drive links take the speed, lanes, capacity and jam density of the
  row's ``access_class`` in the road defaults; walk links the walking speed.

Both links join a node of the (strongly connected) network, so the network stays
strongly connected.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyproj
from scipy.spatial import cKDTree

from twin.build.graph import WALK_CAPACITY, WALK_JAM_DENSITY, WALK_SPEED, EdgeList
from twin.city import POI_CATEGORIES, POI_CONTRACT_COLUMNS
from twin.errors import ConfigError
from twin.network import stable_edge_ids
from twin.tables import read_defaults_csv

log = logging.getLogger(__name__)

#: Columns of an extra POI table.
EXTRA_COLUMNS: tuple[str, ...] = (
    "poi_id",
    "name",
    "category",
    "lon",
    "lat",
    "detour_factor",
    "access_class",
    "max_access_m",
)
#: Columns of the POI table (twin/city.py), which :func:`add_extra_pois` returns.
POI_COLUMNS: tuple[str, ...] = POI_CONTRACT_COLUMNS


def empty_pois() -> pd.DataFrame:
    """A POI table with no rows and the documented columns and dtypes."""
    return pd.DataFrame(
        {
            "poi_id": pd.Series(dtype=object),
            "name": pd.Series(dtype=object),
            "category": pd.Series(dtype=object),
            "x": pd.Series(dtype=np.float64),
            "y": pd.Series(dtype=np.float64),
            "lon": pd.Series(dtype=np.float64),
            "lat": pd.Series(dtype=np.float64),
            "drive_node": pd.Series(dtype=np.int64),
            "walk_node": pd.Series(dtype=np.int64),
            "access_m": pd.Series(dtype=np.float64),
            "size": pd.Series(dtype=np.float64),
            "source": pd.Series(dtype=object),
        }
    )


def load_extra_pois(path: str | Path | None = None) -> pd.DataFrame:
    """The table of extra POIs.

    Parameters
    ----------
    path
        A CSV with the columns :data:`EXTRA_COLUMNS`; ``None`` for the shipped
        ``twin/defaults/extra_pois.csv`` (the two Huế tombs).

    Raises
    ------
    SourceNotFoundError, ConfigError
        The file is missing, or a column or value is wrong.
    """
    table, where = read_defaults_csv(
        path,
        default="extra_pois.csv",
        what="extra POI table",
        hint=f"; pass a CSV with columns {','.join(EXTRA_COLUMNS)}",
        columns=EXTRA_COLUMNS,
    )
    bad = table.loc[~table["category"].isin(POI_CATEGORIES), "category"].tolist()
    if bad:
        raise ConfigError(f"{where}: unknown categories {bad}; use one of {list(POI_CATEGORIES)}")
    for column in ("lon", "lat", "detour_factor", "max_access_m"):
        values = pd.to_numeric(table[column], errors="coerce")
        if values.isna().any():
            raise ConfigError(f"{where}: column {column!r} must hold numbers")
        table[column] = values.astype(float)
    if (table["detour_factor"] < 1).any():
        raise ConfigError(f"{where}: detour_factor must be at least 1 (road over straight line)")
    if not (table["lon"].between(-180, 180) & table["lat"].between(-90, 90)).all():
        raise ConfigError(f"{where}: lon/lat must be degrees (lon -180..180, lat -90..90)")
    if table["poi_id"].duplicated().any():
        raise ConfigError(f"{where}: poi_id values must be unique")
    return table.loc[:, list(EXTRA_COLUMNS)].reset_index(drop=True)


def _class_index(classes: tuple[str, ...], name: str) -> tuple[tuple[str, ...], int]:
    if name in classes:
        return classes, classes.index(name)
    return (*classes, name), len(classes)


def _append(
    edges: EdgeList,
    node: dict[str, float],
    near: int,
    length: float,
    attrs: dict[str, float],
    class_name: str,
    name: str,
) -> tuple[EdgeList, int]:
    """Add one node and the two links joining it to ``near``; return its position."""
    new = edges.n_nodes
    classes, k = _class_index(edges.road_classes, class_name)
    nodes = {
        key: np.append(values, np.asarray(node.get(key, 0), dtype=values.dtype))
        for key, values in edges.nodes.items()
    }
    add = {
        "length": [length, length],
        "speed": [attrs["speed"]] * 2,
        "lanes": [attrs["lanes"]] * 2,
        "capacity": [attrs["capacity"]] * 2,
        "jam_density": [attrs["jam_density"]] * 2,
        "road_class": [k, k],
        "osm_way": [-1, -1],
        "bridge": [False, False],
        "name": [f"{name} (access)"] * 2,
        "edge_id": stable_edge_ids(
            np.array([node["node_id"], edges.nodes["node_id"][near]]),
            np.array([edges.nodes["node_id"][near], node["node_id"]]),
            namespace="extra",
        ),
    }
    arrays = {
        key: np.concatenate([values, np.asarray(add[key], dtype=values.dtype)])
        for key, values in edges.edges.items()
    }
    grown = replace(
        edges,
        nodes=nodes,
        tail=np.append(edges.tail, [new, near]),
        head=np.append(edges.head, [near, new]),
        edges=arrays,
        road_classes=classes,
    )
    return grown, new


def add_extra_pois(
    drive: EdgeList,
    walk: EdgeList,
    extras: pd.DataFrame,
    *,
    crs: str,
    road_defaults: pd.DataFrame,
) -> tuple[EdgeList, EdgeList, pd.DataFrame, list[dict]]:
    """Add extra POIs to both networks with access links.

    Parameters
    ----------
    drive, walk
        The networks (largest strongly connected components).
    extras
        From :func:`load_extra_pois`.
    crs
        The networks' projected CRS.
    road_defaults
        The road defaults table; a row's ``access_class`` picks the drive link's speed
        (km/h), lanes, capacity (PCU/h/lane) and jam density.

    Returns
    -------
    drive, walk
        The grown networks.
    pois
        The added POIs with the columns of the POI table (:data:`POI_COLUMNS`;
        ``source`` ``"extra"``, ``access_m`` 0: each sits on its own node).
    report
        Per row: ``poi_id``, ``added``, and the straight-line and link lengths (metres)
        to the drive and walk networks, or why it was skipped.
    """
    transformer = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    rows, report = [], []
    next_id = -1
    drive_nodes = np.flatnonzero(drive.nodes["node_id"] >= 0)
    walk_nodes = np.flatnonzero(walk.nodes["node_id"] >= 0)
    drive_tree = cKDTree(np.column_stack([drive.nodes["x"], drive.nodes["y"]])[drive_nodes])
    walk_tree = cKDTree(np.column_stack([walk.nodes["x"], walk.nodes["y"]])[walk_nodes])
    for extra in extras.itertuples(index=False):
        x, y = transformer.transform(extra.lon, extra.lat)
        d_drive, i_drive = drive_tree.query([x, y])
        d_walk, i_walk = walk_tree.query([x, y])
        entry = {"poi_id": extra.poi_id, "name": extra.name}
        if d_drive > extra.max_access_m or d_walk > extra.max_access_m:
            log.info(
                "extra POI %s skipped: %.0f m from the drive network (limit %.0f m)",
                extra.name,
                d_drive,
                extra.max_access_m,
            )
            report.append({**entry, "added": False, "straight_m": round(float(d_drive), 1)})
            continue
        if extra.access_class not in road_defaults.index:
            raise ConfigError(
                f"extra POI {extra.poi_id}: access_class {extra.access_class!r} is not a road "
                f"class of the defaults table ({list(road_defaults.index)})"
            )
        row = road_defaults.loc[extra.access_class]
        node = {"node_id": next_id, "x": x, "y": y, "lon": extra.lon, "lat": extra.lat}
        next_id -= 1
        drive_len = float(d_drive) * extra.detour_factor
        walk_len = float(d_walk) * extra.detour_factor
        drive, drive_node = _append(
            drive,
            node,
            int(drive_nodes[i_drive]),
            drive_len,
            {
                "speed": row["speed_kmh"] / 3.6,
                "lanes": row["lanes"],
                "capacity": row["lanes"] * row["capacity_pcu_per_lane_h"],
                "jam_density": row["jam_density_pcu_per_km_lane"],
            },
            extra.access_class,
            extra.name,
        )
        walk, walk_node = _append(
            walk,
            node,
            int(walk_nodes[i_walk]),
            walk_len,
            {
                "speed": WALK_SPEED,
                "lanes": 1.0,
                "capacity": WALK_CAPACITY,
                "jam_density": WALK_JAM_DENSITY,
            },
            "access",
            extra.name,
        )
        rows.append(
            {
                "poi_id": extra.poi_id,
                "name": extra.name,
                "category": extra.category,
                "x": x,
                "y": y,
                "lon": extra.lon,
                "lat": extra.lat,
                "drive_node": drive_node,
                "walk_node": walk_node,
                "access_m": 0.0,
                "size": np.nan,
                "source": "extra",
            }
        )
        report.append(
            {
                **entry,
                "added": True,
                "drive_straight_m": round(float(d_drive), 1),
                "drive_link_m": round(drive_len, 1),
                "walk_straight_m": round(float(d_walk), 1),
                "walk_link_m": round(walk_len, 1),
            }
        )
    pois = pd.DataFrame(rows, columns=list(POI_COLUMNS)).astype(empty_pois().dtypes.to_dict())
    return drive, walk, pois, report
