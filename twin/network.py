"""A directed network as flat CSR arrays: the form every kernel and simulation reads.

Edges are sorted by tail node, so ``indices[indptr[i]:indptr[i+1]]`` are the heads of node
``i``'s out-edges (scipy's CSR convention) and edge ``e`` runs from ``tail[e]`` to
``indices[e]``. Node and edge numbers are positions in these arrays; ``node_id`` and
``edge_id`` keep the source's own ids (OSM node ids, GMNS ids).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

import numpy as np

from kernels import dijkstra
from twin.errors import TwinError

#: Edge arrays, in the order they are stored, with their dtypes.
EDGE_ARRAYS: dict[str, type] = {
    "indices": np.int64,
    "length": np.float64,
    "speed": np.float64,
    "lanes": np.float64,
    "capacity": np.float64,
    "jam_density": np.float64,
    "road_class": np.int16,
    "edge_id": np.int64,
    "osm_way": np.int64,
    "bridge": np.bool_,
    "name": object,
}
#: Node arrays with their dtypes.
NODE_ARRAYS: dict[str, type] = {
    "node_id": np.int64,
    "x": np.float64,
    "y": np.float64,
    "lon": np.float64,
    "lat": np.float64,
    "control": np.int8,
}
#: ``Network.control`` values: what OSM says controls traffic at a node.
CONTROL_NONE, CONTROL_SIGNALS, CONTROL_SIGNAL_CROSSING, CONTROL_STOP, CONTROL_GIVE_WAY = range(5)
#: Names of the ``control`` values (as ``twin info --json`` reports them).
CONTROL_NAMES: tuple[str, ...] = ("none", "traffic_signals", "signal_crossing", "stop", "give_way")


@dataclass(frozen=True, eq=False)
class Network:
    """A directed road (or footpath) network in CSR form.

    Attributes
    ----------
    node_id, x, y, lon, lat
        Per node: source id; easting and northing in metres (the city's CRS, EPSG:32648
        for Huế); longitude and latitude in degrees.
    control
        ``int8`` per node: the traffic control OSM tags there (:data:`CONTROL_NAMES`:
        :data:`CONTROL_SIGNALS` for ``highway=traffic_signals``,
        :data:`CONTROL_SIGNAL_CROSSING` for a crossing with signals,
        :data:`CONTROL_STOP`, :data:`CONTROL_GIVE_WAY`; :data:`CONTROL_NONE` elsewhere).
    indptr
        ``int64[n + 1]``: node ``i``'s out-edges are ``indptr[i]:indptr[i+1]``.
    indices
        ``int64[m]``: head node of each edge.
    length
        Metres.
    speed
        Free-flow speed, metres per second.
    lanes
        Lanes in the edge's direction.
    capacity
        Outflow capacity of the whole edge, PCU per hour (lanes × capacity per lane).
    jam_density
        PCU per kilometre per lane at a standstill.
    road_class
        Index into ``road_classes`` (``"primary"``, ``"residential"``, …).
    edge_id, osm_way, bridge, name
        Source link id; OSM way id (``-1`` where none); on a bridge; street name or ``""``.
    road_classes
        Names of the road classes.
    node_tags
        The OSM tags of the nodes that have junction tags, by ``node_id`` (see
        :data:`twin.build.osm.NODE_TAGS`); empty for networks from other sources.
    """

    node_id: np.ndarray
    x: np.ndarray
    y: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    control: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    length: np.ndarray
    speed: np.ndarray
    lanes: np.ndarray
    capacity: np.ndarray
    jam_density: np.ndarray
    road_class: np.ndarray
    edge_id: np.ndarray
    osm_way: np.ndarray
    bridge: np.ndarray
    name: np.ndarray
    road_classes: tuple[str, ...] = field(default=())
    node_tags: Mapping[int, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n, m = len(self.node_id), len(self.indices)
        for name in NODE_ARRAYS:
            if len(getattr(self, name)) != n:
                raise TwinError(
                    f"network node array {name!r} has {len(getattr(self, name))} "
                    f"entries, expected {n}"
                )
        for name in EDGE_ARRAYS:
            if len(getattr(self, name)) != m:
                raise TwinError(
                    f"network edge array {name!r} has {len(getattr(self, name))} "
                    f"entries, expected {m}"
                )
        if len(self.indptr) != n + 1 or (n and self.indptr[-1] != m):
            raise TwinError(f"network indptr must have {n + 1} entries ending at {m}")

    # -- sizes and derived arrays -------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        return len(self.node_id)

    @property
    def n_edges(self) -> int:
        return len(self.indices)

    @property
    def tail(self) -> np.ndarray:
        """``int64[m]``: tail node of each edge."""
        return np.repeat(np.arange(self.n_nodes, dtype=np.int64), np.diff(self.indptr))

    @property
    def free_flow_time(self) -> np.ndarray:
        """``float64[m]``: seconds to traverse each edge at free-flow speed."""
        return self.length / self.speed

    @property
    def storage(self) -> np.ndarray:
        """``float64[m]``: PCU each edge holds at jam density (length × lanes × jam density)."""
        return self.length / 1000.0 * self.lanes * self.jam_density

    def path_tree(self, cost: np.ndarray, source: int) -> tuple[np.ndarray, np.ndarray]:
        """Least ``cost`` from node ``source`` to every node, and the predecessor tree.

        ``cost`` is ``float64[m]`` per edge (seconds, metres, …; ``inf`` closes an edge).
        Returns the cost of every node (``inf`` where unreachable) and ``int64[n]``, the node
        before each on its least-cost path (``-1`` at the source and unreachable nodes), from
        the compiled one-to-all Dijkstra (:func:`kernels.dijkstra`).
        """
        return dijkstra(self.indptr, self.indices, cost, source)

    def class_name(self, edge: int) -> str:
        """Road class name of edge ``edge``."""
        return self.road_classes[int(self.road_class[edge])]

    def arrays(self) -> dict[str, np.ndarray]:
        """All arrays by field name (for saving)."""
        skip = ("road_classes", "node_tags")
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name not in skip}

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_edges(
        cls,
        *,
        nodes: dict[str, np.ndarray],
        tail: np.ndarray,
        head: np.ndarray,
        edges: dict[str, np.ndarray],
        road_classes: tuple[str, ...],
        node_tags: Mapping[int, Mapping[str, str]] | None = None,
    ) -> Network:
        """Build a network from node arrays and an unsorted edge list.

        Parameters
        ----------
        nodes
            ``node_id``, ``x``, ``y``, ``lon``, ``lat`` arrays, one entry per node, and
            optionally ``control`` (default :data:`CONTROL_NONE`).
        tail, head
            Node positions (``0..n-1``) of each edge's ends.
        edges
            Per-edge arrays named as in :data:`EDGE_ARRAYS` (``indices`` excluded).
            ``edge_id`` defaults to ``0..m-1``, ``osm_way`` to ``-1``, ``bridge`` to
            ``False`` and ``name`` to ``""``.
        road_classes
            Names that ``edges["road_class"]`` indexes.
        node_tags
            OSM tags by ``node_id`` of nodes with junction tags.
        """
        n = len(nodes["node_id"])
        tail = np.asarray(tail, dtype=np.int64)
        head = np.asarray(head, dtype=np.int64)
        m = len(tail)
        if m and (tail.min() < 0 or head.min() < 0 or max(tail.max(), head.max()) >= n):
            raise TwinError(f"edge ends must be node positions in 0..{n - 1}")
        order = np.lexsort((head, tail))
        defaults = {
            "edge_id": np.arange(m, dtype=np.int64),
            "osm_way": np.full(m, -1, dtype=np.int64),
            "bridge": np.zeros(m, dtype=bool),
            "name": np.full(m, "", dtype=object),
        }
        edge_arrays = {}
        for name, dtype in EDGE_ARRAYS.items():
            if name == "indices":
                continue
            values = edges.get(name, defaults.get(name))
            if values is None:
                raise TwinError(f"edge array {name!r} is required to build a network")
            edge_arrays[name] = np.asarray(values, dtype=dtype)[order]
        indptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(tail, minlength=n), out=indptr[1:])
        node_arrays = {
            k: np.asarray(nodes[k], dtype=t)
            for k, t in NODE_ARRAYS.items()
            if k != "control" or "control" in nodes
        }
        node_arrays.setdefault("control", np.zeros(n, dtype=np.int8))
        return cls(
            **node_arrays,
            indptr=indptr,
            indices=head[order],
            **edge_arrays,
            road_classes=tuple(road_classes),
            node_tags=dict(node_tags or {}),
        )


def stable_edge_ids(
    tail_id: np.ndarray, head_id: np.ndarray, *, namespace: str = "edge"
) -> np.ndarray:
    """Edge ids that depend only on each edge's ends, never on the rest of the network.

    The ``k``-th edge (in the given order) from node id ``u`` to node id ``v`` gets the
    first 63 bits of ``blake2b("<namespace>:<u>:<v>:<k>")``, so adding or removing other
    roads leaves every id unchanged and a table keyed by ``edge_id`` joins across cities
    that differ by a road. Collisions are as likely as a 63-bit hash collision (about
    ``m² / 2⁶⁴``: one in 10⁹ for 100,000 edges) and are checked.

    Parameters
    ----------
    tail_id, head_id
        Source node ids (OSM ids) of each edge's ends.
    namespace
        Separates families of edges (``"edge"`` for roads read from the map, ``"added"``
        for roads a scenario adds, ``"walk"`` for footpaths).

    Raises
    ------
    TwinError
        Two edges got the same id.
    """
    tail_id = np.asarray(tail_id, dtype=np.int64)
    head_id = np.asarray(head_id, dtype=np.int64)
    seen: dict[tuple[int, int], int] = {}
    out = np.empty(len(tail_id), dtype=np.int64)
    for i, (u, v) in enumerate(zip(tail_id.tolist(), head_id.tolist(), strict=True)):
        k = seen.get((u, v), 0)
        seen[(u, v)] = k + 1
        digest = hashlib.blake2b(f"{namespace}:{u}:{v}:{k}".encode(), digest_size=8).digest()
        out[i] = int.from_bytes(digest, "little") & 0x7FFF_FFFF_FFFF_FFFF
    if len(np.unique(out)) != len(out):
        raise TwinError(
            "two edges got the same stable id (a 63-bit hash collision); report this with the "
            "input file so that the id scheme can be extended"
        )
    return out
