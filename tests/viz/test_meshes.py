"""Mesh builders on arrays: counts, cell arrays, bounds; one merged mesh per call."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from twin.geometry import Polylines
from viz import meshes


def _lines(*coords) -> Polylines:
    counts = [len(c) for c in coords]
    return Polylines(
        edge_id=np.arange(len(coords)),
        indptr=np.concatenate([[0], np.cumsum(counts)]),
        xy=np.concatenate([np.asarray(c, dtype=float) for c in coords]),
    )


def test_ribbons_one_quad_per_piece_on_the_right_of_travel():
    lines = _lines([(0, 0), (100, 0)], [(0, 50), (0, 150), (100, 150)], [(5, 5), (5, 5)])
    mesh = meshes.ribbons(lines, width=np.array([10.0, 4.0, 1.0]), gap=1.0, z=2.0)
    assert mesh.n_cells == 3  # 1 + 2 pieces; the zero-length line draws nothing
    assert list(mesh.cell_data["edge"]) == [0, 1, 1]
    first = mesh.extract_cells([0])
    # heading east, the right is south: y from -11 to -1
    assert first.bounds[2] == pytest.approx(-11.0) and first.bounds[3] == pytest.approx(-1.0)
    second = mesh.extract_cells([1])  # heading north: the right is east
    assert second.bounds[0] == pytest.approx(1.0) and second.bounds[1] == pytest.approx(5.0)
    assert mesh.bounds[4] == mesh.bounds[5] == 2.0


def test_segments_skip_the_joins_between_lines():
    a, b, line = meshes.segments(_lines([(0, 0), (1, 0)], [(10, 0), (11, 0), (12, 0)]))
    assert len(a) == 3 and list(line) == [0, 1, 1]
    assert not np.any((a[:, 0] == 1) & (b[:, 0] == 10))


def test_extruded_footprints_walls_and_roof():
    square = shapely.box(0, 0, 10, 10)
    holed = shapely.Polygon(
        [(20, 0), (40, 0), (40, 20), (20, 20)], [[(25, 5), (35, 5), (35, 15), (25, 15)]]
    )
    mesh = meshes.extruded_footprints(np.array([square, holed, None], dtype=object),
                                      np.array([5.0, 12.0, 3.0]))  # fmt: skip
    building = mesh.cell_data["building"]
    assert set(building) == {0, 1}
    assert mesh.bounds[5] == 12.0 and mesh.bounds[4] == 0.0
    # walls: 4 for the square, 8 for the holed one (outer ring and courtyard)
    sizes = np.array([mesh.get_cell(i).n_points for i in range(mesh.n_cells)])
    assert ((sizes == 4) & (building == 0)).sum() == 4
    assert ((sizes == 4) & (building == 1)).sum() == 8
    roofs = mesh.extract_cells(np.flatnonzero((sizes == 3) & (building == 1)))
    assert roofs.area == pytest.approx(400.0 - 100.0)  # the courtyard stays open


def test_flat_polygons_cover_their_area():
    polygons = np.array([shapely.box(0, 0, 100, 50), shapely.MultiPolygon(
        [shapely.box(200, 0, 210, 10), shapely.box(300, 0, 320, 10)])], dtype=object)  # fmt: skip
    mesh = meshes.flat_polygons(polygons, z=0.5)
    assert mesh.area == pytest.approx(5000.0 + 100.0 + 200.0)
    covered = [mesh.extract_cells(np.flatnonzero(mesh.cell_data["polygon"] == k)).area
               for k in (0, 1)]  # fmt: skip
    assert covered == pytest.approx([5000.0, 300.0])
    assert mesh.bounds[4] == mesh.bounds[5] == 0.5


def test_polygons_from_wkb_fall_back_to_a_square_of_the_footprint():
    geoms = meshes.polygons_from_wkb(
        [shapely.box(0, 0, 1, 1).wkb, b"", None],
        fallback_xy=np.array([[0, 0], [100, 100], [50, 50]], dtype=float),
        fallback_area=np.array([1.0, 400.0, 100.0]),
    )
    assert geoms[1].area == pytest.approx(400.0) and geoms[1].centroid.x == pytest.approx(100)
    assert geoms[2].area == pytest.approx(100.0)


def test_columns_skip_zero_heights():
    mesh = meshes.columns(np.array([[0, 0], [100, 0], [200, 0]], dtype=float),
                          np.array([10.0, 0.0, 30.0]), side=4.0, z=1.0)  # fmt: skip
    assert mesh.n_cells == 10 and set(mesh.cell_data["item"]) == {0, 2}
    assert mesh.bounds[5] == 31.0 and mesh.bounds[4] == 1.0
    assert mesh.bounds[0] == -2.0 and mesh.bounds[1] == 202.0
    assert meshes.columns(np.zeros((0, 2)), np.zeros(0), side=1.0).n_cells == 0


def test_markers_are_one_mesh_with_an_item_per_point():
    mesh = meshes.markers(np.array([[0, 0, 0], [50, 0, 0]], dtype=float), radius=2.0)
    assert set(mesh.cell_data["item"]) == {0, 1}
    assert mesh.bounds[0] == pytest.approx(-2.0, abs=0.1)
    assert mesh.bounds[1] == pytest.approx(52.0, abs=0.1)


def test_scale_bar_spans_its_length():
    mesh = meshes.scale_bar((10.0, 20.0), 1000.0, blocks=4)
    assert mesh.n_cells == 4 and list(mesh.cell_data["shade"]) == [0, 1, 0, 1]
    assert (mesh.bounds[0], mesh.bounds[1]) == (10.0, 1010.0)
