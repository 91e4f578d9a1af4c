"""A tiny synthetic OSM extract of a town placed anywhere on Earth (made up, not real data).

:func:`write_town` writes an ``.osm`` XML file: a grid of two-way streets (one of them a
primary with ``lanes`` and ``maxspeed``), a diagonal avenue through the grid's junctions,
houses with tagged levels in every block, and, as asked, a hospital, a fire station, a
hotel and two named sights. Node positions are laid out on the WGS 84 ellipsoid with
:class:`pyproj.Geod`, so the town's true distances and areas are known exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pyproj

GEOD = pyproj.Geod(ellps="WGS84")


@dataclass(frozen=True)
class Town:
    """What :func:`write_town` wrote.

    Attributes
    ----------
    path
        The ``.osm`` file.
    junctions
        ``{node id: (lon, lat)}`` of the street junctions.
    houses
        Per house: ``(lon/lat ring, levels)``.
    """

    path: Path
    junctions: dict[int, tuple[float, float]]
    houses: list[tuple[list[tuple[float, float]], int]]


def _offset(lon: float, lat: float, east_m: float, north_m: float) -> tuple[float, float]:
    lon, lat, _ = GEOD.fwd(lon, lat, 90.0, east_m)
    lon, lat, _ = GEOD.fwd(lon, lat, 0.0, north_m)
    return lon, lat


def write_town(
    path: str | Path,
    *,
    lon: float,
    lat: float,
    blocks: int = 4,
    block_m: float = 200.0,
    services: bool = True,
    houses_per_block: int = 2,
) -> Town:
    """Write a made-up town whose south-west corner is at ``(lon, lat)``.

    Parameters
    ----------
    path
        The ``.osm`` file to write.
    lon, lat
        Degrees (WGS 84).
    blocks
        Blocks along each side (``blocks + 1`` streets each way).
    block_m
        Metres between neighbouring streets.
    services
        Add a hospital, a fire station, a hotel and two named sights (else the town has
        none: no emergency stations, no lodging).
    houses_per_block
        Houses in each block, 12 m × 10 m, ``building:levels`` 2 or 3.
    """
    path = Path(path)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="tests">']
    n = blocks + 1
    junctions: dict[int, tuple[float, float]] = {}

    def node(node_id: int, where: tuple[float, float], tags: dict[str, str] | None = None) -> None:
        head = f'  <node id="{node_id}" lat="{where[1]:.9f}" lon="{where[0]:.9f}"'
        if not tags:
            lines.append(head + "/>")
            return
        lines.append(head + ">")
        lines.extend(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append("  </node>")

    def way(way_id: int, refs: list[int], tags: dict[str, str]) -> None:
        lines.append(f'  <way id="{way_id}">')
        lines.extend(f'    <nd ref="{r}"/>' for r in refs)
        lines.extend(f"    <tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items())
        lines.append("  </way>")

    def junction_id(i: int, j: int) -> int:
        return 1 + j * n + i

    for j in range(n):
        for i in range(n):
            junctions[junction_id(i, j)] = _offset(lon, lat, i * block_m, j * block_m)
            node(junction_id(i, j), junctions[junction_id(i, j)])
    houses = []
    next_node = 10_000
    for bj in range(blocks):
        for bi in range(blocks):
            for k in range(houses_per_block):
                east = bi * block_m + 40.0 + k * 60.0
                north = bj * block_m + 40.0
                ring = [
                    _offset(lon, lat, east + dx, north + dy)
                    for dx, dy in ((0, 0), (12, 0), (12, 10), (0, 10))
                ]
                houses.append((ring, 2 + (bi + bj + k) % 2))
                for corner in ring:
                    node(next_node, corner)
                    next_node += 1
    sights = []
    if services:
        centre = _offset(lon, lat, block_m * blocks / 2 + 30, block_m * blocks / 2 + 30)
        sights = [
            (900_001, _offset(lon, lat, 70, 120), {"amenity": "hospital", "name": "City Hospital"}),
            (900_002, _offset(lon, lat, block_m * blocks - 60, 90), {"amenity": "fire_station", "name": "Fire Station 1"}),  # noqa: E501
            (900_003, _offset(lon, lat, 130, block_m * blocks - 70), {"tourism": "hotel", "name": "Grand Hotel", "rooms": "60"}),  # noqa: E501
            (900_004, centre, {"tourism": "attraction", "name": "Old Town Square"}),
            (900_005, _offset(lon, lat, block_m * blocks - 90, block_m * blocks - 80), {"tourism": "museum", "name": "Town Museum"}),  # noqa: E501
        ]  # fmt: skip
        for node_id, where, tags in sights:
            node(node_id, where, tags)
    way_id = 100
    for j in range(n):  # east-west streets; the middle one is the primary
        tags = {"highway": "residential", "name": f"Street {j}"}
        if j == n // 2:
            tags = {"highway": "primary", "name": "Main Street", "lanes": "4", "maxspeed": "50"}
        way(way_id, [junction_id(i, j) for i in range(n)], tags)
        way_id += 1
    for i in range(n):  # north-south avenues
        refs = [junction_id(i, j) for j in range(n)]
        way(way_id, refs, {"highway": "residential", "name": f"Avenue {i}"})
        way_id += 1
    way(way_id, [junction_id(k, k) for k in range(n)], {"highway": "tertiary", "name": "Diagonal"})
    way_id += 1
    next_node = 10_000
    for _ring, levels in houses:
        refs = list(range(next_node, next_node + 4))
        next_node += 4
        tags = {"building": "house", "building:levels": str(levels)}
        way(way_id, [*refs, refs[0]], tags)
        way_id += 1
    lines.append("</osm>")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Town(path=path, junctions=junctions, houses=houses)
