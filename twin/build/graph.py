"""OSM highways to drive and walk networks: osmnx graphs, projection, connectivity.

The path from an OSM file to a :class:`~twin.network.Network`:

1. :func:`twin.build.osm.read_highways` reads the ``highway`` ways; each network's ways are
   written as OSM XML (osmnx's own filters for ``drive`` and ``walk``).
2. :func:`osmnx.graph_from_xml` builds the graph, which :func:`osmnx.simplify_graph`
   simplifies, keeping a node wherever one OSM way meets another (``edge_attrs_differ``
   ``osmid``), so that each edge is one stretch of one way: a bridge stays its own edge
   and every edge has exactly one way's tags.
3. :func:`graph_to_edges` projects the nodes to the city's CRS (the UTM zone of the
   extract's centre, EPSG:32648 for Huế; :mod:`twin.build.projection`), numbers them along
   a Hilbert curve (:func:`along_hilbert_curve`) and fills each edge's attributes
   (:mod:`twin.build.road_classes`). An edge's ``length`` is osmnx's: the great-circle
   length of its polyline on a sphere of radius 6,371,009 m, whatever the CRS; it differs
   from the WGS 84 geodesic by at most 0.6 % (north-south at the equator; about +0.48 %
   north-south and -0.14 % east-west at Huế's latitude).
4. :func:`largest_strong_component` keeps the largest strongly connected component, so
   every drive node can reach every other, and reports what it dropped.

The walk network is undirected in nature: osmnx adds both directions of every footway
and street (``bidirectional``), and every edge has the walking speed
:data:`WALK_SPEED` (1.3 m/s, 4.7 km/h: the mean free walking speed of adults measured
in many studies, e.g. Bohannon 1997, and the Highway Capacity Manual's 1.2-1.3 m/s).
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

from twin.build.osm import NETWORK_WAY_TAGS, NODE_TAGS, WAY_ID_TAG, junction_control
from twin.build.road_classes import as_list, impute_edge_attributes, is_bridge, join_names, pick_way
from twin.errors import EmptyNetworkError
from twin.geometry import Polylines
from twin.network import CONTROL_SIGNAL_CROSSING, CONTROL_SIGNALS, Network, stable_edge_ids

log = logging.getLogger(__name__)

#: Walking speed on every walk edge, metres per second.
WALK_SPEED = 1.3
#: Pedestrian flow of a walk edge, persons per hour: a 2 m effective walkway at the
#: Highway Capacity Manual's walkway capacity of 75 persons/min per metre of width.
WALK_CAPACITY = 2 * 75 * 60.0
#: Standstill crowd density of a walk edge, persons per km of a 2 m walkway (5 persons/m²).
WALK_JAM_DENSITY = 2 * 5 * 1000.0


@dataclass(frozen=True)
class EdgeList:
    """A network before it is put in CSR order: node arrays and an edge list.

    ``tail``/``head`` are node positions; ``edges`` holds the per-edge arrays of
    :data:`twin.network.EDGE_ARRAYS` (``indices`` excluded); ``edge_id`` holds
    :func:`twin.network.stable_edge_ids`. ``shapes`` maps an edge's ``edge_id`` to its
    polyline (``float64[n, 2]``, metres, from tail to head) where the source has a shape
    (edges missing from it are straight); it may hold edges filtered out since.
    """

    nodes: dict[str, np.ndarray]
    tail: np.ndarray
    head: np.ndarray
    edges: dict[str, np.ndarray]
    road_classes: tuple[str, ...]
    shapes: dict[int, np.ndarray] = field(default_factory=dict, repr=False)
    node_tags: dict[int, dict[str, str]] = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        return len(self.nodes["node_id"])

    @property
    def n_edges(self) -> int:
        return len(self.tail)

    def to_network(self) -> Network:
        """The network in CSR form (edges sorted by tail, then head)."""
        kept = set(self.nodes["node_id"].tolist())
        return Network.from_edges(
            nodes=self.nodes,
            tail=self.tail,
            head=self.head,
            edges=self.edges,
            road_classes=self.road_classes,
            node_tags={k: v for k, v in self.node_tags.items() if k in kept},
        )

    def polylines(self, network: Network) -> Polylines:
        """The shape of each of ``network``'s edges (built from this list by
        :meth:`to_network`, perhaps grown since), straight where :attr:`shapes` has none."""
        return Polylines.from_mapping(network, self.shapes)


@contextmanager
def _osmnx_way_tags():
    """Make osmnx keep the tags twin reads, restoring its settings afterwards."""
    import osmnx

    saved = list(osmnx.settings.useful_tags_way)
    saved_nodes = list(osmnx.settings.useful_tags_node)
    osmnx.settings.useful_tags_way = sorted({*saved, *NETWORK_WAY_TAGS, WAY_ID_TAG})
    osmnx.settings.useful_tags_node = sorted({*saved_nodes, *NODE_TAGS})
    try:
        yield
    finally:
        osmnx.settings.useful_tags_way = saved
        osmnx.settings.useful_tags_node = saved_nodes


#: Node attribute that keeps a signalised node through osmnx's simplification.
_KEEP_NODE = "twin_signal"


def load_graph(xml_path: str | Path, *, bidirectional: bool) -> nx.MultiDiGraph:
    """Read a network XML (from :func:`twin.build.osm.write_network_xml`) into a simplified graph.

    Parameters
    ----------
    xml_path
        The XML file.
    bidirectional
        Add both directions of every way, one-way or not (the walk network).
    """
    import osmnx

    with _osmnx_way_tags():
        graph = osmnx.graph_from_xml(
            xml_path, bidirectional=bidirectional, simplify=False, retain_all=True
        )
    if graph.number_of_edges() == 0:
        return graph
    # A signal stays a node of its own even where it stands mid-way (a signalised
    # crossing, or a signal on one approach a few metres before a junction): it controls
    # the traffic there, which a merged edge could not show.
    for _, data in graph.nodes(data=True):
        if junction_control(data) in (CONTROL_SIGNALS, CONTROL_SIGNAL_CROSSING):
            data[_KEEP_NODE] = True
    simple = osmnx.simplify_graph(
        graph, node_attrs_include=[_KEEP_NODE], edge_attrs_differ=["osmid"]
    )
    for _, data in simple.nodes(data=True):
        data.pop(_KEEP_NODE, None)
    return simple


def _project(lon: np.ndarray, lat: np.ndarray, crs: str) -> tuple[np.ndarray, np.ndarray]:
    transformer = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = transformer.transform(lon, lat)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def along_hilbert_curve(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Positions of the points ``(x, y)`` in the order a Hilbert curve through their
    bounding box visits them (ties keep their input order).

    Numbering a network's nodes this way puts nodes that are near each other on the ground
    near each other in its arrays, so the kernels that walk the network (shortest-path
    trees, the traffic's moves) find the next node's data already in the CPU's cache.
    """
    if len(x) < 2:
        return np.arange(len(x))
    points = gpd.GeoSeries(gpd.points_from_xy(x, y))
    # a degenerate box (every point on one line) still needs a width and a height
    x0, y0, x1, y1 = points.total_bounds
    bounds = (x0, y0, max(x1, x0 + 1.0), max(y1, y0 + 1.0))
    distance = points.hilbert_distance(total_bounds=bounds, level=16).to_numpy()
    return np.argsort(distance, kind="stable")


def graph_to_edges(
    graph: nx.MultiDiGraph,
    *,
    crs: str,
    kind: str,
    road_defaults: pd.DataFrame | None = None,
) -> tuple[EdgeList, dict]:
    """Node arrays and attributed edges of an osmnx graph.

    Nodes are ordered along a Hilbert curve (:func:`along_hilbert_curve`; ties by OSM id)
    and edges by (tail, head, way, length), so the result does not depend on the order
    osmnx happened to build the graph in.

    Parameters
    ----------
    graph
        An osmnx graph in longitude/latitude (EPSG:4326).
    crs
        The projected CRS for ``x``/``y`` (metres).
    kind
        ``"drive"`` (attributes from ``road_defaults`` and tags) or ``"walk"``
        (:data:`WALK_SPEED`, one lane, :data:`WALK_CAPACITY` persons/h).
    road_defaults
        The defaults table (:func:`twin.build.road_classes.load_road_defaults`); drive only.

    Returns
    -------
    The edge list and a report of the attribute imputation (drive) or ``{}`` (walk).
    """
    node_ids = np.array(sorted(graph.nodes), dtype=np.int64)
    lon = np.array([graph.nodes[n]["x"] for n in node_ids], dtype=np.float64)
    lat = np.array([graph.nodes[n]["y"] for n in node_ids], dtype=np.float64)
    x, y = _project(lon, lat, crs)
    order = along_hilbert_curve(x, y)
    node_ids, lon, lat, x, y = node_ids[order], lon[order], lat[order], x[order], y[order]
    position = {int(n): i for i, n in enumerate(node_ids)}
    node_data = [graph.nodes[n] for n in node_ids]
    control = np.array([junction_control(d) for d in node_data], dtype=np.int8)
    nodes = {"node_id": node_ids, "x": x, "y": y, "lon": lon, "lat": lat, "control": control}
    node_tags = {}
    for node, data in zip(node_ids.tolist(), node_data, strict=True):
        tags = {k: str(data[k]) for k in NODE_TAGS if k in data and k not in ("x", "y")}
        if tags:
            node_tags[int(node)] = tags

    records = [(position[u], position[v], data) for u, v, data in graph.edges(data=True)]
    tail = np.array([r[0] for r in records], dtype=np.int64)
    head = np.array([r[1] for r in records], dtype=np.int64)
    data = [r[2] for r in records]
    report: dict = {}
    if kind == "drive":
        if road_defaults is None:
            raise ValueError("road_defaults is required for a drive network")
        edges, classes, report = impute_edge_attributes(data, road_defaults)
    elif kind == "walk":
        edges, classes = _walk_attributes(data)
    else:
        raise ValueError(f"kind must be 'drive' or 'walk', got {kind!r}")
    order = np.lexsort((edges["length"], edges["osm_way"], head, tail))
    edges = {k: v[order] for k, v in edges.items()}
    tail, head = tail[order], head[order]
    edges["edge_id"] = stable_edge_ids(
        node_ids[tail], node_ids[head], namespace="edge" if kind == "drive" else "walk"
    )
    shapes = _edge_shapes([data[i] for i in order], edges["edge_id"], crs)
    edge_list = EdgeList(
        nodes=nodes,
        tail=tail,
        head=head,
        edges=edges,
        road_classes=classes,
        shapes=shapes,
        node_tags=node_tags if kind == "drive" else {},
    )
    return edge_list, report


def _edge_shapes(records: list[dict], edge_ids: np.ndarray, crs: str) -> dict[int, np.ndarray]:
    """``edge_id -> float64[n, 2]`` (metres, projected) of the edges whose osmnx data holds a
    ``geometry`` (the OSM way's shape, kept by :func:`osmnx.simplify_graph`)."""
    ids, parts = [], []
    for edge_id, record in zip(edge_ids.tolist(), records, strict=True):
        shape = record.get("geometry")
        if shape is not None and len(shape.coords) >= 2:
            ids.append(edge_id)
            parts.append(np.asarray(shape.coords, dtype=np.float64)[:, :2])
    if not parts:
        return {}
    lonlat = np.concatenate(parts)
    x, y = _project(lonlat[:, 0], lonlat[:, 1], crs)
    bounds = np.cumsum([0, *(len(p) for p in parts)])
    xy = np.column_stack([x, y])
    return {e: xy[bounds[k] : bounds[k + 1]] for k, e in enumerate(ids)}


def _walk_attributes(records: list[dict]) -> tuple[dict[str, np.ndarray], tuple[str, ...]]:
    highways = [min((str(v) for v in as_list(r.get("highway"))), default="path") for r in records]
    classes = tuple(sorted(set(highways)))
    index = {c: i for i, c in enumerate(classes)}
    m = len(records)
    edges = {
        "length": np.array([float(r.get("length", 0.0)) for r in records], dtype=np.float64),
        "speed": np.full(m, WALK_SPEED),
        "lanes": np.ones(m),
        "capacity": np.full(m, WALK_CAPACITY),
        "jam_density": np.full(m, WALK_JAM_DENSITY),
        "road_class": np.array([index[h] for h in highways], dtype=np.int16),
        "osm_way": np.array(
            [pick_way(r.get(WAY_ID_TAG, r.get("osmid"))) for r in records], dtype=np.int64
        ),
        "bridge": np.array([is_bridge(r.get("bridge")) for r in records], dtype=bool),
        "name": np.array([join_names(r.get("name")) for r in records], dtype=object),
    }
    return edges, classes


def largest_strong_component(edges: EdgeList) -> tuple[EdgeList, dict]:
    """Keep the largest strongly connected component.

    Returns
    -------
    The kept network (nodes renumbered in their old order) and a report: ``components``
    (how many there were), ``nodes``, ``edges`` and ``km`` dropped.
    """
    n = edges.n_nodes
    if n == 0:
        return edges, {"components": 0, "nodes": 0, "edges": 0, "km": 0.0}
    matrix = csr_matrix((np.ones(edges.n_edges), (edges.tail, edges.head)), shape=(n, n))
    count, labels = connected_components(matrix, directed=True, connection="strong")
    sizes = np.bincount(labels, minlength=count)
    biggest = int(np.argmax(sizes))  # ties go to the component met first (lowest label)
    keep_node = labels == biggest
    keep_edge = keep_node[edges.tail] & keep_node[edges.head]
    new_position = np.cumsum(keep_node) - 1
    kept = replace(
        edges,
        nodes={k: v[keep_node] for k, v in edges.nodes.items()},
        tail=new_position[edges.tail[keep_edge]],
        head=new_position[edges.head[keep_edge]],
        edges={k: v[keep_edge] for k, v in edges.edges.items()},
    )
    report = {
        "components": int(count),
        "nodes": int(n - keep_node.sum()),
        "edges": int(edges.n_edges - keep_edge.sum()),
        "km": round(float(edges.edges["length"][~keep_edge].sum()) / 1000.0, 3),
    }
    return kept, report


def network_from_xml(
    xml_path: str | Path,
    *,
    kind: str,
    crs: str,
    n_ways: int | None = None,
    road_defaults: pd.DataFrame | None = None,
    source_name: str = "the source",
) -> tuple[EdgeList, dict]:
    """Read one network XML and keep its largest strongly connected component.

    ``n_ways`` is the number of ways in the file (from :func:`twin.build.osm.write_network_xml`);
    ``0`` raises at once (osmnx cannot read a file without ways).

    Returns
    -------
    The edge list and a report: ``dropped`` (see :func:`largest_strong_component`) and,
    for drive, ``tags`` (see :func:`twin.build.road_classes.impute_edge_attributes`).

    Raises
    ------
    EmptyNetworkError
        The file holds no edge of this kind.
    """
    if n_ways == 0:
        raise EmptyNetworkError(_empty_message(kind, source_name))
    graph = load_graph(xml_path, bidirectional=kind == "walk")
    if graph.number_of_edges() == 0:
        raise EmptyNetworkError(_empty_message(kind, source_name))
    edge_list, tags = graph_to_edges(graph, crs=crs, kind=kind, road_defaults=road_defaults)
    kept, dropped = largest_strong_component(edge_list)
    if kept.n_edges == 0:
        raise EmptyNetworkError(_empty_message(kind, source_name))
    if dropped["nodes"]:
        log.info(
            "%s network: dropped %d nodes, %d edges, %.1f km outside the largest strongly "
            "connected component",
            kind,
            dropped["nodes"],
            dropped["edges"],
            dropped["km"],
        )
    report = {"dropped": dropped}
    if tags:
        report["tags"] = tags
    return kept, report


def _empty_message(kind: str, source_name: str) -> str:
    what = "drivable road" if kind.startswith("drive") else "walkable way"
    return (
        f"{source_name} holds no {what} (no way tagged highway=* that a "
        f"{'car' if what == 'drivable road' else 'pedestrian'} may use, joined into a network). "
        "Check that the file covers a built-up area and holds its roads, not only "
        "buildings or points"
    )
