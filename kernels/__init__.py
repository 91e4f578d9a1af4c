"""Hot loops over flat numpy arrays, compiled with Cython, each with a pure-Python reference.

``TWIN_KERNELS=python|cython`` picks the backend (see :mod:`kernels.backend`).

Routing (all over CSR arrays ``indptr``, ``indices`` and per-edge ``weights``):

- :func:`dijkstra` — one-to-all costs and predecessor tree, optional cut-off;
- :func:`astar` — one-to-one cost and :class:`Path` (nodes and edges);
- :func:`cost_matrix` — many-to-many costs, both cores;
- :func:`isochrone` — nodes and edges reachable within a cost limit;
- :func:`next_hops` — per target, cost from every node and the next edge to take;
- :func:`update_next_hops` — repair such trees in place after some edges changed;
- :class:`Router` — the same on one fixed topology, validated once, buffers reused;
- :func:`consistent_speed` — the tightest safe ``max_speed`` for :func:`astar`;
- :func:`prepare_landmarks` — ALT tables (:class:`Landmarks`) that tighten :func:`astar`.

Node and edge numbers are positions in ``indptr`` / ``indices``; weights are ``float64 >= 0``
(``inf`` closes an edge); malformed input raises :class:`KernelInputError`. The compiled
many-to-many kernels (``cost_matrix``, ``next_hops``) release the GIL and use
``omp_get_max_threads()`` threads, so ``OMP_NUM_THREADS=1`` keeps each process on one core
(for example under a Dask worker per core). Scratch buffers are reused across calls: a
:class:`Router` owns its own, the free functions borrow from a small pool
(:mod:`kernels.workspace`).
"""

from __future__ import annotations

from kernels.astar_search import Path, astar, consistent_speed
from kernels.cost_matrices import cost_matrix
from kernels.errors import KernelInputError, TwinError
from kernels.isochrones import Isochrone, isochrone
from kernels.landmarks import Landmarks, prepare_landmarks
from kernels.next_hop_trees import ReverseCSR, next_hops, reverse_csr
from kernels.next_hop_updates import update_next_hops
from kernels.router import Router
from kernels.shortest_paths import dijkstra
from kernels.workspace import Workspace

__all__ = [
    "Isochrone",
    "KernelInputError",
    "Landmarks",
    "Path",
    "ReverseCSR",
    "Router",
    "TwinError",
    "Workspace",
    "astar",
    "consistent_speed",
    "cost_matrix",
    "dijkstra",
    "isochrone",
    "next_hops",
    "prepare_landmarks",
    "reverse_csr",
    "update_next_hops",
]
