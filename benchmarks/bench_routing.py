"""Benchmark the routing kernels on Huế's drive network against scipy and networkx.

Run on purpose (not collected by pytest)::

    .venv/bin/python benchmarks/bench_routing.py [--repeat 3] [--pairs 200] [--landmarks 16]
        [--targets 1000]

It prints, for each task, the time per call of our kernel and of the references measured
in the same run, and their ratios:

- one-to-all Dijkstra from random sources: vs ``scipy.sparse.csgraph.dijkstra`` and
  ``networkx.single_source_dijkstra``;
- one-to-one A* between random pairs vs our one-to-all Dijkstra from the same source, for
  ``kernels.astar`` and ``Router.astar``, with the straight-line bound and with ALT landmarks
  (prepared once on free-flow times; also routed on congested times);
- the zone-to-zone travel-time matrix (every zone's drive node);
- isochrones of 5, 10 and 15 minutes from every hospital;
- next-hop trees for 1,000 targets (what the traffic engine refreshes).

The network comes from ``twin.build.pipeline.default_city()`` when that exists; otherwise it is
built here from the Huế extract with pyosmium + osmnx (zones then are a 1 km grid and
hospitals are read from the extract's ``amenity=hospital`` tags).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import kernels

log = logging.getLogger("bench_routing")


@dataclass
class BenchCity:
    """The arrays the benchmark needs."""

    source: str
    indptr: np.ndarray
    indices: np.ndarray
    weights: np.ndarray  # free-flow travel time, seconds
    x: np.ndarray
    y: np.ndarray
    max_speed: float  # metres per second
    zone_nodes: np.ndarray
    hospital_nodes: np.ndarray


def _from_twin() -> BenchCity | None:
    try:
        from twin.build.pipeline import default_city
    except ImportError:
        return None
    city = default_city()
    net = city.drive
    hospitals = city.pois_of("hospital")["drive_node"].to_numpy(dtype=np.int64)
    return BenchCity(
        source="twin.build.pipeline.default_city()",
        indptr=net.indptr,
        indices=net.indices,
        weights=np.ascontiguousarray(net.free_flow_time, dtype=np.float64),
        x=net.x,
        y=net.y,
        max_speed=float(net.speed.max()),
        zone_nodes=city.zones["drive_node"].to_numpy(dtype=np.int64),
        hospital_nodes=hospitals,
    )


def _hospital_points(path: Path) -> list[tuple[float, float]]:
    import osmium

    points = []
    for obj in osmium.FileProcessor(str(path)).with_locations():
        if obj.tags.get("amenity") != "hospital":
            continue
        if obj.is_node():
            points.append((obj.location.lon, obj.location.lat))
        elif obj.is_way():
            locs = [(n.location.lon, n.location.lat) for n in obj.nodes if n.location.valid()]
            if locs:
                points.append(tuple(np.mean(locs, axis=0)))
    return points


def _from_osm(cache: Path) -> BenchCity:
    """Build the drive network from the extract with osmnx (cached as .npz in ``cache``)."""
    from twin.settings import get_settings

    path = get_settings().osm_path
    stored = cache / "hue_drive_bench.npz"
    if stored.is_file():
        with np.load(stored) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["max_speed"] = float(arrays["max_speed"])
        return BenchCity(source=f"osmnx from {path.name} (cached)", **arrays)
    import osmnx as ox
    from pyproj import Transformer

    from twin.build.osm import read_highways, write_network_xml

    with tempfile.TemporaryDirectory() as tmp:
        xml, _ = write_network_xml(read_highways(path), "drive", Path(tmp) / "drive.osm")
        G = ox.graph_from_xml(xml, simplify=True, retain_all=False)
    G = ox.truncate.largest_component(G, strongly=True)
    G = ox.add_edge_speeds(G)
    G = ox.add_edge_travel_times(G)
    G = ox.project_graph(G, to_crs="EPSG:32648")
    nodes = list(G.nodes)
    pos = {v: i for i, v in enumerate(nodes)}
    tails, heads, tt, speed = [], [], [], []
    for u, v, d in G.edges(data=True):
        tails.append(pos[u])
        heads.append(pos[v])
        tt.append(float(d["travel_time"]))
        speed.append(float(d["speed_kph"]) / 3.6)
    tails, heads, tt = np.array(tails), np.array(heads), np.array(tt)
    order = np.lexsort((heads, tails))
    n = len(nodes)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(tails, minlength=n), out=indptr[1:])
    x = np.array([G.nodes[v]["x"] for v in nodes])
    y = np.array([G.nodes[v]["y"] for v in nodes])
    # zones: a 1 km grid, each represented by the node nearest its cell centre
    cells = np.unique(np.stack([x // 1000, y // 1000], axis=1), axis=0)
    centres = (cells + 0.5) * 1000
    zone_nodes = np.unique([int(np.argmin((x - cx) ** 2 + (y - cy) ** 2)) for cx, cy in centres])
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:32648", always_xy=True)
    hospital_nodes = []
    for lon, lat in _hospital_points(path):
        hx, hy = to_utm.transform(lon, lat)
        hospital_nodes.append(int(np.argmin((x - hx) ** 2 + (y - hy) ** 2)))
    arrays = {
        "indptr": indptr,
        "indices": heads[order].astype(np.int64),
        "weights": tt[order],
        "x": x,
        "y": y,
        "max_speed": np.float64(max(speed)),
        "zone_nodes": np.asarray(zone_nodes, dtype=np.int64),
        "hospital_nodes": np.unique(np.asarray(hospital_nodes, dtype=np.int64)),
    }
    cache.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=cache, suffix=".npz")
    os.close(fd)
    np.savez(tmp_name, **arrays)
    Path(tmp_name).replace(stored)
    arrays["max_speed"] = float(arrays["max_speed"])
    return BenchCity(source=f"osmnx from {path.name}", **arrays)


def load_city() -> BenchCity:
    """Huế's drive network: the twin's default city, else built here from the extract."""
    city = _from_twin()
    if city is not None:
        return city
    from twin.settings import get_settings

    return _from_osm(get_settings().cache_dir / "bench")


def _best(fn, repeat: int) -> float:
    """Best-of-``repeat`` wall time of ``fn()`` in seconds."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _paired(fns: dict[str, object], items, repeat: int) -> dict[str, float]:
    """Mean over ``items`` of each function's best-of-``repeat`` time on that item (s).

    The functions run interleaved on each item, in rotating order, so that a busy machine
    slows them alike and the ratios stay fair.
    """
    names = list(fns)
    best = {name: np.full(len(items), np.inf) for name in names}
    for r in range(repeat):
        for i, item in enumerate(items):
            shift = (i + r) % len(names)
            for name in names[shift:] + names[:shift]:
                t0 = time.perf_counter()
                fns[name](item)
                best[name][i] = min(best[name][i], time.perf_counter() - t0)
    return {name: float(t.mean()) for name, t in best.items()}


def _row(task: str, ours: float, refs: dict[str, float]) -> str:
    parts = [f"{task:<38} ours {ours * 1e3:9.3f} ms"]
    for name, t in refs.items():
        parts.append(f"{name} {t * 1e3:9.3f} ms (ratio {ours / t:6.3f}, {t / ours:7.1f}x)")
    return "  ".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of this many timings")
    parser.add_argument("--sources", type=int, default=50, help="random sources, one-to-all")
    parser.add_argument("--pairs", type=int, default=200, help="random pairs for A*")
    parser.add_argument("--landmarks", type=int, default=16, help="ALT landmarks for A*")
    parser.add_argument("--targets", type=int, default=1000, help="targets for next_hops")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")

    import networkx as nx
    import scipy.sparse as sp
    from scipy.sparse.csgraph import dijkstra as sp_dijkstra

    from kernels.backend import compiled

    rng = np.random.default_rng(args.seed)
    t0 = time.perf_counter()
    city = load_city()
    n, m = len(city.indptr) - 1, len(city.indices)
    print(
        f"network: {city.source}: {n} nodes, {m} edges (loaded in {time.perf_counter() - t0:.1f} s)"
    )
    cy = compiled("_shortest_paths_cy")
    print(f"backend: {'cython' if cy else 'python'}, threads: {cy.max_threads() if cy else 1}")
    ip, ix, w = city.indptr, city.indices, city.weights

    # scipy sums parallel edges in a CSR matrix; keep the cheapest to compare like with like.
    tails = np.repeat(np.arange(n), np.diff(ip))
    coo = sp.coo_matrix((w, (tails, ix)), shape=(n, n))
    keep = np.lexsort((w, ix, tails))
    first = np.ones(m, dtype=bool)
    first[1:] = (tails[keep][1:] != tails[keep][:-1]) | (ix[keep][1:] != ix[keep][:-1])
    sel = keep[first]
    matrix = sp.csr_matrix((w[sel], (tails[sel], ix[sel])), shape=(n, n))
    del coo
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    G.add_weighted_edges_from(
        zip(tails[sel].tolist(), ix[sel].tolist(), w[sel].tolist(), strict=True)
    )

    sources = rng.choice(n, size=args.sources, replace=False)
    router = kernels.Router(ip, ix, x=city.x, y=city.y)

    # -- one-to-all ---------------------------------------------------------------------
    for s in sources[:3]:  # agreement check before timing
        ours_cost, _ = kernels.dijkstra(ip, ix, w, int(s))
        ref = sp_dijkstra(matrix, indices=int(s))
        assert np.allclose(ours_cost, ref, rtol=1e-9, equal_nan=False), "scipy disagrees"

    timed = _paired(
        {
            "ours": lambda s: kernels.dijkstra(ip, ix, w, int(s)),
            "router": lambda s: router.dijkstra(w, int(s)),
            "scipy": lambda s: sp_dijkstra(matrix, indices=int(s)),
        },
        sources,
        args.repeat,
    )
    t_nx = _paired({"nx": lambda s: nx.single_source_dijkstra(G, int(s))}, sources[:5], 1)["nx"]
    refs = {"scipy": timed["scipy"], "networkx": t_nx}
    print(_row("one-to-all dijkstra", timed["ours"], refs))
    print(_row("one-to-all Router.dijkstra", timed["router"], refs))

    # -- one-to-one A* vs one-to-all ----------------------------------------------------
    pairs = rng.choice(n, size=(args.pairs, 2))
    top = router.consistent_speed(w)  # the network's top speed, give or take rounding
    print(f"A* bound: {top:.3f} m/s (network top speed {city.max_speed:.3f} m/s)")
    # ALT: a second router keeps landmark tables; while they live, kernels.astar and the first
    # router would reuse them by default, so the straight-line runs pass landmarks=False
    router_lm = kernels.Router(ip, ix, x=city.x, y=city.y)
    t_prep = _best(lambda: router_lm.prepare_landmarks(w, k=args.landmarks), 1)
    lm = router_lm.landmarks
    print(
        f"landmarks: k={lm.k} prepared in {t_prep * 1e3:.1f} ms "
        f"({lm.nbytes / 1e6:.1f} MB), nodes {lm.nodes.tolist()}"
    )
    # congested times (each edge 1-2x its free-flow time): the free-flow tables still apply
    w_slow = w * rng.uniform(1.0, 2.0, size=m)
    for s, t in pairs[:20]:  # agreement check before timing
        s, t = int(s), int(t)
        full, _ = router.dijkstra(w, s)
        slow, _ = router.dijkstra(w_slow, s)
        for c, ref in (
            (router.astar(w, s, t, max_speed=top, landmarks=False)[0], full[t]),
            (
                kernels.astar(ip, ix, w, s, t, x=city.x, y=city.y, max_speed=top, landmarks=False)[
                    0
                ],
                full[t],
            ),
            (kernels.astar(ip, ix, w, s, t, x=city.x, y=city.y, max_speed=top)[0], full[t]),
            (router_lm.astar(w, s, t, max_speed=top)[0], full[t]),
            (
                kernels.astar(ip, ix, w, s, t, x=city.x, y=city.y, max_speed=top, landmarks=lm)[0],
                full[t],
            ),
            (router_lm.astar(w_slow, s, t, max_speed=top)[0], slow[t]),
        ):
            assert np.isclose(c, ref, rtol=1e-9) or (np.isinf(c) and np.isinf(ref)), "A* disagrees"

    timed = _paired(
        {
            "astar": lambda p: kernels.astar(
                ip, ix, w, int(p[0]), int(p[1]), x=city.x, y=city.y, max_speed=top, landmarks=False
            ),
            "astar-lm": lambda p: kernels.astar(
                ip, ix, w, int(p[0]), int(p[1]), x=city.x, y=city.y, max_speed=top, landmarks=lm
            ),
            "router": lambda p: router.astar(
                w, int(p[0]), int(p[1]), max_speed=top, landmarks=False
            ),
            "router-lm": lambda p: router_lm.astar(w, int(p[0]), int(p[1]), max_speed=top),
            "router-lm-slow": lambda p: router_lm.astar(
                w_slow, int(p[0]), int(p[1]), max_speed=top
            ),
            "dijkstra": lambda p: kernels.dijkstra(ip, ix, w, int(p[0])),
            "router-dijkstra": lambda p: router.dijkstra(w, int(p[0])),
            "dijkstra-slow": lambda p: router.dijkstra(w_slow, int(p[0])),
        },
        pairs,
        args.repeat,
    )
    xs, ys = city.x, city.y

    def nx_astar(p):
        with contextlib.suppress(nx.NetworkXNoPath):
            nx.astar_path_length(
                G,
                int(p[0]),
                int(p[1]),
                heuristic=lambda a, b: np.hypot(xs[a] - xs[b], ys[a] - ys[b]) / top,
            )

    t_nx_astar = _paired({"nx": nx_astar}, pairs[:20], 1)["nx"]
    free_refs = {"dijkstra-all": timed["dijkstra"], "networkx-astar": t_nx_astar}
    router_refs = {"Router.dijkstra-all": timed["router-dijkstra"]}
    print(_row("one-to-one astar, straight line", timed["astar"], free_refs))
    print(_row("one-to-one astar, landmarks", timed["astar-lm"], free_refs))
    print(_row("one-to-one Router.astar, straight line", timed["router"], router_refs))
    print(_row("one-to-one Router.astar, landmarks", timed["router-lm"], router_refs))
    print(
        _row(
            "Router.astar, landmarks, congested w",
            timed["router-lm-slow"],
            {"Router.dijkstra-all congested": timed["dijkstra-slow"]},
        )
    )

    # -- zone-to-zone matrix ------------------------------------------------------------
    zones = city.zone_nodes
    mat = kernels.cost_matrix(ip, ix, w, zones, zones)
    ref = sp_dijkstra(matrix, indices=zones)[:, zones]
    assert np.allclose(mat, ref), "scipy disagrees on the zone matrix"
    t_mat = _best(lambda: kernels.cost_matrix(ip, ix, w, zones, zones), args.repeat)
    t_sp_mat = _best(lambda: sp_dijkstra(matrix, indices=zones), 1)
    print(_row(f"zone-to-zone matrix ({len(zones)}x{len(zones)})", t_mat, {"scipy": t_sp_mat}))
    many = rng.choice(n, size=400, replace=False)
    t_many = _best(lambda: kernels.cost_matrix(ip, ix, w, many, many), args.repeat)
    t_sp_many = _best(lambda: sp_dijkstra(matrix, indices=many), 1)
    print(_row("random 400x400 matrix", t_many, {"scipy": t_sp_many}))

    # -- isochrones ---------------------------------------------------------------------
    hospitals = city.hospital_nodes
    for minutes in (5, 10, 15):
        limit = 60.0 * minutes

        def ours_iso(limit=limit):
            return [kernels.isochrone(ip, ix, w, int(h), limit) for h in hospitals]

        def scipy_iso(limit=limit):
            return sp_dijkstra(matrix, indices=hospitals, limit=limit)

        sizes = [len(iso.nodes) for iso in ours_iso()]
        ref = sp_dijkstra(matrix, indices=hospitals, limit=limit)
        assert sizes == list(np.isfinite(ref).sum(axis=1)), "scipy disagrees on an isochrone"
        t_iso = _best(ours_iso, args.repeat)
        t_sp_iso = _best(scipy_iso, args.repeat)
        print(
            _row(
                f"isochrones {minutes:2d} min x {len(hospitals)} hospitals",
                t_iso,
                {"scipy": t_sp_iso},
            )
            + f"  (mean {np.mean(sizes):.0f} nodes)"
        )

    # -- next hops ----------------------------------------------------------------------
    targets = rng.choice(n, size=min(args.targets, n), replace=False)
    out = router.next_hops(w, targets)
    t_nh = _best(lambda: router.next_hops(w, targets, out=out), args.repeat)
    t_nh_free = _best(lambda: kernels.next_hops(ip, ix, w, targets), 1)
    t_sp_nh = _best(
        lambda: sp_dijkstra(matrix.T.tocsr(), indices=targets, return_predecessors=True), 1
    )
    print(
        _row(f"next_hops {len(targets)} targets (Router, out=)", t_nh, {"scipy-reverse": t_sp_nh})
    )
    print(
        _row(f"next_hops {len(targets)} targets (free fn)", t_nh_free, {"scipy-reverse": t_sp_nh})
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
