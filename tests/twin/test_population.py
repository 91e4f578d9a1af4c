"""Residents: mapped homes first, then residential streets; sums exactly to the total."""

from __future__ import annotations

import numpy as np
import pytest

from tests.twin.test_pois import mini  # noqa: F401  (fixture)
from twin.build.population import FLOOR_M2_PER_RESIDENT, distribute, street_weight
from twin.network import Network
from twin.synthetic import grid_network


def _two_zone_grid() -> tuple[Network, np.ndarray]:
    drive = grid_network(4, 2, spacing=100.0)  # 8 nodes; columns 0-1 zone 0, 2-3 zone 1
    node_zone = (np.arange(drive.n_nodes) % 4 >= 2).astype(np.int32)
    return drive, node_zone


def test_street_weight_counts_each_two_way_street_once():
    drive = grid_network(2, 1, spacing=100.0)  # one street, two directed edges
    assert street_weight(drive).sum() == pytest.approx(100.0)


def test_sparse_buildings_are_topped_up_from_streets():
    drive, node_zone = _two_zone_grid()
    # Zone 0 has mapped homes for 100 people, zone 1 has none.
    pop = distribute(
        1000.0,
        residential_floor_m2=np.array([100 * FLOOR_M2_PER_RESIDENT]),
        building_zone=np.array([0]),
        building_xy=np.array([[drive.x[0], drive.y[0]]]),
        drive=drive,
        node_zone=node_zone,
        n_zones=2,
    )
    assert pop.zone_total.sum() == pytest.approx(1000.0, rel=1e-12)
    assert pop.node.sum() == pytest.approx(1000.0, rel=1e-12)
    assert pop.building.tolist() == pytest.approx([100.0])
    assert pop.zone_buildings.tolist() == pytest.approx([100.0, 0.0])
    # Both zones have the same street length, so the same density fills them both to 500.
    assert pop.zone_total.tolist() == pytest.approx([500.0, 500.0])
    assert pop.zone_network.tolist() == pytest.approx([400.0, 500.0])
    assert pop.building_scale == 1.0 and pop.density_per_m > 0


def test_a_zone_whose_homes_hold_more_than_its_streets_keeps_them():
    drive, node_zone = _two_zone_grid()
    pop = distribute(
        1000.0,
        residential_floor_m2=np.array([800 * FLOOR_M2_PER_RESIDENT]),
        building_zone=np.array([1]),
        building_xy=np.array([[drive.x[3], drive.y[3]]]),
        drive=drive,
        node_zone=node_zone,
        n_zones=2,
    )
    assert pop.zone_total.tolist() == pytest.approx([200.0, 800.0])
    assert pop.zone_network.tolist() == pytest.approx([200.0, 0.0])
    # The building's residents sit on its zone's nearest node.
    assert pop.node[3] == pytest.approx(800.0 + 0.0)


def test_a_well_mapped_city_scales_its_buildings_down():
    drive, node_zone = _two_zone_grid()
    floor = np.array([1000.0, 3000.0]) * FLOOR_M2_PER_RESIDENT
    pop = distribute(
        1000.0,
        residential_floor_m2=floor,
        building_zone=np.array([0, 1]),
        building_xy=np.column_stack([drive.x[[0, 3]], drive.y[[0, 3]]]),
        drive=drive,
        node_zone=node_zone,
        n_zones=2,
    )
    assert pop.building.tolist() == pytest.approx([250.0, 750.0])
    assert pop.zone_network.sum() == 0.0
    assert pop.building_scale == pytest.approx(0.25)


def test_no_buildings_at_all_spreads_everyone_over_streets():
    drive, node_zone = _two_zone_grid()
    pop = distribute(
        652_572.0,
        residential_floor_m2=np.zeros(0),
        building_zone=np.zeros(0, dtype=int),
        building_xy=np.zeros((0, 2)),
        drive=drive,
        node_zone=node_zone,
        n_zones=3,  # zone 2 has no nodes and no streets: no one lives there
    )
    assert pop.zone_total.sum() == pytest.approx(652_572.0, rel=1e-12)
    assert pop.zone_total[2] == 0.0


def test_a_negative_population_is_refused():
    drive, node_zone = _two_zone_grid()
    with pytest.raises(ValueError, match="population"):
        distribute(
            -1.0,
            residential_floor_m2=np.zeros(0),
            building_zone=np.zeros(0, dtype=int),
            building_xy=np.zeros((0, 2)),
            drive=drive,
            node_zone=node_zone,
            n_zones=2,
        )


def test_fixture_city_residents_sum_to_the_population(mini):  # noqa: F811
    features, drive, _ = mini
    zones = features.zones
    assert zones["population"].sum() == pytest.approx(1000.0, rel=1e-12)
    assert (zones["pop_buildings"] + zones["pop_network"]).to_numpy() == pytest.approx(
        zones["population"].to_numpy()
    )
    assert features.buildings["residents"].sum() == pytest.approx(zones["pop_buildings"].sum())
    assert features.node_residents.sum() == pytest.approx(1000.0, rel=1e-12)
    assert len(features.node_residents) == drive.n_nodes
    by_zone = np.bincount(features.node_zone, weights=features.node_residents, minlength=2)
    assert by_zone == pytest.approx(zones["population"].to_numpy())
