"""Junction tags from OSM: signals stay nodes of the drive network, their tags go into the
bundle, and ``twin info`` counts the signalised junctions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from twin.build.osm import junction_control
from twin.build.pipeline import build_city
from twin.build.summary import city_summary
from twin.bundle import read_bundle, write_bundle
from twin.cli import main
from twin.network import (
    CONTROL_NONE,
    CONTROL_SIGNAL_CROSSING,
    CONTROL_SIGNALS,
    CONTROL_STOP,
)

# A crossroads J (signals) of an east-west primary and a north-south residential street.
# On the east arm: a signalised pedestrian crossing C mid-way, then an unmarked crossing U
# (not signalised: osmnx simplifies it away like any other bend).
_NODES = {
    1: (107.570, 16.400, {}),
    2: (107.572, 16.400, {"highway": "traffic_signals", "traffic_signals": "signal"}),
    3: (107.5730, 16.400, {"highway": "crossing", "crossing": "traffic_signals"}),
    4: (107.5740, 16.400, {"highway": "crossing", "crossing": "uncontrolled"}),
    5: (107.576, 16.400, {}),
    6: (107.572, 16.398, {}),
    7: (107.572, 16.402, {"highway": "stop"}),
    8: (107.572, 16.404, {}),
    20: (107.5700, 16.4010, {}),
    21: (107.5705, 16.4010, {}),
    22: (107.5705, 16.4015, {}),
}
_WAYS = {
    100: ([1, 2, 3, 4, 5], {"highway": "primary", "name": "Lê Lợi"}),
    101: ([6, 2, 7, 8], {"highway": "residential"}),
    200: ([20, 21, 22, 20], {"building": "house"}),
}


def _xml() -> str:
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<osm version="0.6" generator="test">']
    for node, (lon, lat, tags) in _NODES.items():
        inner = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<node id="{node}" lat="{lat}" lon="{lon}">{inner}</node>')
    for way, (refs, tags) in _WAYS.items():
        nds = "".join(f'<nd ref="{r}"/>' for r in refs)
        inner = "".join(f'<tag k="{k}" v="{v}"/>' for k, v in tags.items())
        lines.append(f'<way id="{way}">{nds}{inner}</way>')
    lines.append("</osm>")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def crossroads(tmp_path_factory):
    path = tmp_path_factory.mktemp("osm") / "crossroads.osm"
    path.write_text(_xml(), encoding="utf-8")
    return path, build_city(path, population=100, extra_pois=False)


def test_control_codes_from_tags():
    assert junction_control({"highway": "traffic_signals"}) == CONTROL_SIGNALS
    assert junction_control({"highway": "crossing", "crossing": "traffic_signals"}) == (
        CONTROL_SIGNAL_CROSSING
    )
    assert junction_control({"crossing:signals": "yes"}) == CONTROL_SIGNAL_CROSSING
    assert junction_control({"highway": "stop"}) == CONTROL_STOP
    assert junction_control({"highway": "crossing", "crossing": "uncontrolled"}) == CONTROL_NONE


def test_signals_stay_nodes_with_their_tags(crossroads):
    _, city = crossroads
    drive = city.drive
    ids = drive.node_id.tolist()
    assert 2 in ids and 3 in ids  # the junction and the signalised crossing
    assert 4 not in ids  # an unsignalised crossing is simplified away
    control = dict(zip(ids, drive.control.tolist(), strict=True))
    assert control[2] == CONTROL_SIGNALS
    assert control[3] == CONTROL_SIGNAL_CROSSING
    assert 7 not in ids  # a sign mid-way is not a junction: simplified away too
    assert drive.node_tags[2] == {"highway": "traffic_signals", "traffic_signals": "signal"}
    assert drive.node_tags[3]["crossing"] == "traffic_signals"
    assert city_summary(city)["signalised_junctions"] == 2


def test_bundle_keeps_control_and_tags(crossroads, tmp_path):
    _, city = crossroads
    loaded = read_bundle(write_bundle(city, tmp_path / "x.twin"))
    np.testing.assert_array_equal(loaded.drive.control, city.drive.control)
    assert loaded.drive.node_tags == city.drive.node_tags


def test_twin_info_reports_signalised_junctions(crossroads, tmp_path, capsys):
    _, city = crossroads
    path = write_bundle(city, tmp_path / "x.twin")
    assert main(["info", str(path)]) == 0
    assert "2 signalised (1 traffic signals, 1 signalised crossings)" in capsys.readouterr().out
    assert main(["info", str(path), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["signalised_junctions"] == 2
    assert info["node_control"]["signal_crossing"] == 1
