"""Meshes from arrays: pure functions, one merged mesh per call, testable without rendering.

Every builder takes plain arrays (coordinates in metres of the city's CRS, heights in
metres) and returns one :class:`pyvista.PolyData` whose cells carry the index of the object
they draw (``edge``, ``building``, ``polygon``, ``item``), so a caller colours thousands of
roads by setting one cell array, never one actor per road. ``z`` is metres above the
ground.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyvista as pv
import shapely

from twin.geometry import Polylines

__all__ = [
    "columns",
    "extruded_footprints",
    "flat_polygons",
    "markers",
    "polygons_from_wkb",
    "ribbons",
    "scale_bar",
    "segments",
]


def _polydata(points: np.ndarray, faces: np.ndarray, n_cells: int) -> pv.PolyData:
    """A mesh of ``n_cells`` polygons given in VTK's flat face layout."""
    if n_cells == 0:
        return pv.PolyData()
    return pv.PolyData(np.ascontiguousarray(points, dtype=np.float64), faces=faces)


def _quads(corners: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Points and faces of quads, ``corners`` ``float64[n, 4, 3]``."""
    n = len(corners)
    points = corners.reshape(-1, 3)
    faces = np.empty((n, 5), dtype=np.int64)
    faces[:, 0] = 4
    faces[:, 1:] = np.arange(4 * n, dtype=np.int64).reshape(n, 4)
    return points, faces.ravel()


def segments(lines: Polylines) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The straight pieces of every line: starts, ends (``float64[s, 2]``) and the line each
    belongs to (``int64[s]``); pieces of zero length are left out."""
    if not len(lines):
        return np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    starts = np.ones(len(lines.xy), dtype=bool)
    starts[lines.indptr[1:] - 1] = False  # a line's last point starts no piece
    index = np.flatnonzero(starts)
    a, b = lines.xy[index], lines.xy[index + 1]
    line = np.repeat(np.arange(len(lines), dtype=np.int64), lines.n_points - 1)
    keep = np.hypot(*(b - a).T) > 1e-6
    return a[keep], b[keep], line[keep]


def ribbons(
    lines: Polylines,
    *,
    width: float | np.ndarray,
    gap: float | np.ndarray = 0.0,
    z: float = 1.0,
) -> pv.PolyData:
    """Flat ribbons along lines, each on the right of its direction of travel (so the two
    directions of a two-way street lie side by side, as traffic drives in Vietnam).

    Parameters
    ----------
    lines
        One polyline per road edge.
    width
        Ribbon width, metres: one number or one per line.
    gap
        Metres between a line and its ribbon's inner side: one number or one per line.
    z
        Height above the ground, metres.

    Returns
    -------
    One quad per straight piece, with the cell array ``edge`` (the line it draws).
    """
    a, b, line = segments(lines)
    widths = np.broadcast_to(np.asarray(width, dtype=np.float64), (len(lines),))[line]
    gaps = np.broadcast_to(np.asarray(gap, dtype=np.float64), (len(lines),))[line]
    direction = (b - a) / np.hypot(*(b - a).T)[:, None]
    right = np.column_stack([direction[:, 1], -direction[:, 0]])
    inner = right * gaps[:, None]
    outer = right * (gaps + widths)[:, None]
    corners = np.empty((len(a), 4, 3))
    corners[:, 0, :2] = a + inner
    corners[:, 1, :2] = b + inner
    corners[:, 2, :2] = b + outer
    corners[:, 3, :2] = a + outer
    corners[:, :, 2] = z
    points, faces = _quads(corners)
    mesh = _polydata(points, faces, len(a))
    if len(a):
        mesh.cell_data["edge"] = line
    return mesh


def polygons_from_wkb(
    values: Sequence[bytes | None],
    *,
    fallback_xy: np.ndarray | None = None,
    fallback_area: np.ndarray | None = None,
) -> np.ndarray:
    """Shapely polygons (or multipolygons) from WKB, one per row.

    A row without a shape (``None``, empty bytes) gets a square of ``fallback_area`` m²
    centred on ``fallback_xy`` when those are given, else ``None``.
    """
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        geom = shapely.from_wkb(value) if value is not None and len(value) else None
        if geom is not None and not geom.is_empty:
            out[i] = geom
        elif fallback_xy is not None and fallback_area is not None:
            half = max(float(np.sqrt(max(fallback_area[i], 1.0))) / 2.0, 1.0)
            x, y = fallback_xy[i]
            out[i] = shapely.box(x - half, y - half, x + half, y + half)
    return out


def _parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Polygons of each geometry (multipolygons split) and the row each came from."""
    present = np.flatnonzero([g is not None for g in geoms])
    if not len(present):
        return np.zeros(0, dtype=object), np.zeros(0, dtype=np.int64)
    parts, index = shapely.get_parts(geoms[present], return_index=True)
    polygonal = shapely.get_type_id(parts) == 3
    parts = shapely.make_valid(parts[polygonal])
    rows = present[index[polygonal]]
    # make_valid may split a polygon again
    again, k = shapely.get_parts(parts, return_index=True)
    keep = (shapely.get_type_id(again) == 3) & (shapely.area(again) > 0)
    return again[keep], rows[k[keep]]


def _triangles(parts: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Triangles ``float64[t, 3, 2]`` covering each polygon (holes left open) and the row of
    each."""
    if not len(parts):
        return np.zeros((0, 3, 2)), np.zeros(0, dtype=np.int64)
    collections = shapely.constrained_delaunay_triangles(parts)
    triangles, index = shapely.get_parts(collections, return_index=True)
    coords = shapely.get_coordinates(triangles).reshape(len(triangles), 4, 2)[:, :3]
    return coords, rows[index]


def flat_polygons(geoms: np.ndarray, *, z: float = 0.0) -> pv.PolyData:
    """Polygons (holes kept open) triangulated flat at height ``z``.

    Parameters
    ----------
    geoms
        Shapely polygons or multipolygons (``None`` rows are skipped), metres.

    Returns
    -------
    Triangles with the cell array ``polygon`` (the row of ``geoms`` each covers).
    """
    parts, rows = _parts(np.asarray(geoms, dtype=object))
    tri, tri_rows = _triangles(parts, rows)
    n = len(tri)
    points = np.empty((n, 3, 3))
    points[:, :, :2] = tri
    points[:, :, 2] = z
    faces = np.empty((n, 4), dtype=np.int64)
    faces[:, 0] = 3
    faces[:, 1:] = np.arange(3 * n, dtype=np.int64).reshape(n, 3)
    mesh = _polydata(points.reshape(-1, 3), faces.ravel(), n)
    if n:
        mesh.cell_data["polygon"] = tri_rows
    return mesh


def extruded_footprints(geoms: np.ndarray, heights: np.ndarray) -> pv.PolyData:
    """Buildings: each footprint raised to its height, with walls and a flat roof.

    Parameters
    ----------
    geoms
        Footprints (shapely polygons or multipolygons, metres); ``None`` rows are skipped.
    heights
        Height of each building, metres.

    Returns
    -------
    Roof triangles and wall quads, with the cell array ``building`` (the row of each).
    """
    geoms = np.asarray(geoms, dtype=object)
    heights = np.asarray(heights, dtype=np.float64)
    parts, rows = _parts(geoms)
    if not len(parts):
        return pv.PolyData()
    tri, tri_rows = _triangles(parts, rows)
    roof = np.empty((len(tri), 3, 3))
    roof[:, :, :2] = tri
    roof[:, :, 2] = heights[tri_rows][:, None]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    step = np.flatnonzero(ring_of[:-1] == ring_of[1:])  # consecutive points of one ring
    a, b = coords[step], coords[step + 1]
    wall_rows = rows[ring_part[ring_of[step]]]
    h = heights[wall_rows]
    walls = np.empty((len(step), 4, 3))
    walls[:, 0, :2], walls[:, 1, :2], walls[:, 2, :2], walls[:, 3, :2] = a, b, b, a
    walls[:, 0, 2] = walls[:, 1, 2] = 0.0
    walls[:, 2, 2] = walls[:, 3, 2] = h
    n_roof, n_wall = len(roof), len(walls)
    points = np.concatenate([roof.reshape(-1, 3), walls.reshape(-1, 3)])
    roof_faces = np.empty((n_roof, 4), dtype=np.int64)
    roof_faces[:, 0] = 3
    roof_faces[:, 1:] = np.arange(3 * n_roof, dtype=np.int64).reshape(n_roof, 3)
    wall_faces = np.empty((n_wall, 5), dtype=np.int64)
    wall_faces[:, 0] = 4
    wall_faces[:, 1:] = 3 * n_roof + np.arange(4 * n_wall, dtype=np.int64).reshape(n_wall, 4)
    faces = np.concatenate([roof_faces.ravel(), wall_faces.ravel()])
    mesh = _polydata(points, faces, n_roof + n_wall)
    mesh.cell_data["building"] = np.concatenate([tri_rows, wall_rows])
    return mesh


def columns(xy: np.ndarray, heights: np.ndarray, *, side: float, z: float = 0.0) -> pv.PolyData:
    """Square columns (four walls and a top) standing at points.

    Parameters
    ----------
    xy
        ``float64[n, 2]``: where each column stands, metres.
    heights
        Height of each column, metres; columns of height 0 or less are left out.
    side
        Side of the square, metres.
    z
        Height of the columns' foot.

    Returns
    -------
    Five quads per column, with the cell array ``item`` (the row of ``xy``).
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    heights = np.asarray(heights, dtype=np.float64)
    rows = np.flatnonzero(heights > 0)
    n = len(rows)
    if n == 0:
        return pv.PolyData()
    h = side / 2.0
    square = np.array([[-h, -h], [h, -h], [h, h], [-h, h]])
    base = xy[rows][:, None, :] + square[None, :, :]  # n × 4 × 2
    top_z = z + heights[rows]
    quads = np.empty((n, 5, 4, 3))
    for k in range(4):
        k2 = (k + 1) % 4
        quads[:, k, 0, :2], quads[:, k, 1, :2] = base[:, k], base[:, k2]
        quads[:, k, 2, :2], quads[:, k, 3, :2] = base[:, k2], base[:, k]
        quads[:, k, 0, 2] = quads[:, k, 1, 2] = z
        quads[:, k, 2, 2] = quads[:, k, 3, 2] = top_z
    quads[:, 4, :, :2] = base
    quads[:, 4, :, 2] = top_z[:, None]
    points, faces = _quads(quads.reshape(-1, 4, 3))
    mesh = _polydata(points, faces, 5 * n)
    mesh.cell_data["item"] = np.repeat(rows, 5)
    return mesh


def markers(xyz: np.ndarray, *, radius: float, resolution: int = 8) -> pv.PolyData:
    """Small spheres at points, merged into one mesh (cell array ``item``: the point's row).

    Parameters
    ----------
    xyz
        ``float64[n, 3]``, metres.
    radius
        Sphere radius, metres.
    resolution
        Facets around each sphere.
    """
    xyz = np.asarray(xyz, dtype=np.float64).reshape(-1, 3)
    if not len(xyz):
        return pv.PolyData()
    sphere = pv.Sphere(radius=radius, theta_resolution=resolution, phi_resolution=resolution)
    sphere = sphere.triangulate()
    cells = sphere.faces.reshape(-1, 4)[:, 1:]
    n, k, c = len(xyz), sphere.n_points, len(cells)
    points = (xyz[:, None, :] + np.asarray(sphere.points)[None, :, :]).reshape(-1, 3)
    faces = np.empty((n, c, 4), dtype=np.int64)
    faces[:, :, 0] = 3
    faces[:, :, 1:] = cells[None, :, :] + (np.arange(n) * k)[:, None, None]
    mesh = _polydata(points, faces.ravel(), n * c)
    mesh.cell_data["item"] = np.repeat(np.arange(n, dtype=np.int64), c)
    return mesh


def scale_bar(
    origin: tuple[float, float], length: float, *, blocks: int = 4, z: float = 2.0
) -> pv.PolyData:
    """A scale bar on the ground: ``blocks`` alternating blocks spanning ``length`` metres
    eastwards from ``origin``; cell array ``shade`` (0 dark, 1 light)."""
    x0, y0 = origin
    block = length / blocks
    thick = length / 25.0
    corners = np.empty((blocks, 4, 3))
    for k in range(blocks):
        xa, xb = x0 + k * block, x0 + (k + 1) * block
        corners[k] = [[xa, y0, z], [xb, y0, z], [xb, y0 + thick, z], [xa, y0 + thick, z]]
    points, faces = _quads(corners)
    mesh = _polydata(points, faces, blocks)
    mesh.cell_data["shade"] = np.arange(blocks) % 2
    return mesh
