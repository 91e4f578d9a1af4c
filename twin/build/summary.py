"""Figures of a built city: what ``twin info`` and ``twin build`` print."""

from __future__ import annotations

import numpy as np
import pandas as pd

from twin.city import POI_CATEGORIES, City
from twin.network import CONTROL_NAMES, CONTROL_SIGNAL_CROSSING, CONTROL_SIGNALS

__all__ = ["city_summary"]


def city_summary(city: City) -> dict:
    """The figures ``twin info`` prints, as one JSON-ready dict.

    Keys: ``name``, ``crs``, ``nodes``, ``edges`` (drive network), ``road_km`` (km of
    road centre line by class: a two-way road counts once), ``road_km_total``, ``walk``
    (``nodes``, ``edges``, ``km``), ``pois`` (count by category, every category listed),
    ``buildings``, ``population``, ``zones``, ``zone_kinds``, ``bbox`` (``min_lon``,
    ``min_lat``, ``max_lon``, ``max_lat`` of the drive nodes, degrees), ``dropped``,
    ``signalised_junctions`` (drive nodes with traffic signals or a signalised crossing),
    ``node_control`` (drive nodes by OSM control: signals, signal crossings, stop and
    give-way signs), ``profile`` (the city profile's file and whether it was borrowed,
    ``None`` for a city built without one) and ``notes`` (the build's notes on borrowed or
    estimated values).
    """
    drive = city.drive
    tail, head = drive.tail, drive.indices
    # A directed edge whose reverse (same way, swapped ends) exists is half of a two-way road.
    forward = set(zip(tail.tolist(), head.tolist(), drive.osm_way.tolist(), strict=True))
    two_way = np.array(
        [
            (h, t, w) in forward
            for t, h, w in zip(tail.tolist(), head.tolist(), drive.osm_way.tolist(), strict=True)
        ],
        dtype=bool,
    )
    km = drive.length / 1000.0 * np.where(two_way, 0.5, 1.0)
    by_class = np.bincount(drive.road_class, weights=km, minlength=len(drive.road_classes))
    road_km = {
        name: round(float(by_class[i]), 1)
        for i, name in enumerate(drive.road_classes)
        if by_class[i] > 0
    }
    counts = city.pois["category"].value_counts() if len(city.pois) else pd.Series(dtype=int)
    pois = {category: int(counts.get(category, 0)) for category in POI_CATEGORIES}
    pois.update({str(k): int(v) for k, v in counts.items() if k not in pois})
    walk_km = float(city.walk.length.sum()) / 2000.0  # every walk way runs both ways
    kinds = city.zones["kind"].value_counts() if len(city.zones) else pd.Series(dtype=int)
    bbox = (
        {
            "min_lon": round(float(drive.lon.min()), 5),
            "min_lat": round(float(drive.lat.min()), 5),
            "max_lon": round(float(drive.lon.max()), 5),
            "max_lat": round(float(drive.lat.max()), 5),
        }
        if drive.n_nodes
        else None
    )
    return {
        "name": city.name,
        "crs": city.crs,
        "nodes": drive.n_nodes,
        "edges": drive.n_edges,
        "road_km": road_km,
        "road_km_total": round(float(km.sum()), 1),
        "walk": {"nodes": city.walk.n_nodes, "edges": city.walk.n_edges, "km": round(walk_km, 1)},
        "pois": pois,
        "buildings": len(city.buildings),
        "population": round(city.population),
        "zones": len(city.zones),
        "zone_kinds": {str(k): int(v) for k, v in kinds.items()},
        "bbox": bbox,
        "dropped": city.meta.get("dropped", {}),
        "signalised_junctions": int(
            np.isin(drive.control, (CONTROL_SIGNALS, CONTROL_SIGNAL_CROSSING)).sum()
        ),
        "node_control": {
            name: int(count)
            for name, count in zip(
                CONTROL_NAMES[1:],
                np.bincount(drive.control, minlength=len(CONTROL_NAMES))[1:],
                strict=True,
            )
        },
        "profile": _profile(city.meta.get("profile")),
        "notes": list(city.meta.get("notes", [])),
    }


def _profile(meta: dict | None) -> dict | None:
    if not meta:
        return None
    return {
        "name": meta.get("name"),
        "file": meta.get("file"),
        "borrowed": bool(meta.get("borrowed")),
    }
