"""Landmarks for A*'s ALT bound (A*, Landmarks, Triangle inequality).

For a landmark ``L`` and exact least costs ``d``, the triangle inequality gives two lower
bounds on the cost from any node ``v`` to the target ``t``::

    d(v, t) >= d(L, t) - d(L, v)        (forward: L reaches t through v at best)
    d(v, t) >= d(v, L) - d(t, L)        (backward: v reaches L through t at best)

The largest over a few well-spread landmarks is usually far tighter than the straight line
over the top speed (most of Huế's roads are slower than its fastest), so A* explores a small
fraction of the nodes. The tables cost two one-to-all searches per landmark, once per
``(graph, weights)``; :class:`kernels.Router` keeps them (``Router.prepare_landmarks``).

The bound stays admissible for any weights that are **no lower** than the ones the tables
were computed with (costs only grow): tables from free-flow travel times remain exact for
congested times and for closures (``inf``). :func:`kernels.astar` checks that dominance
(``weights >= landmarks.weights``, once per weights array) and refuses lower weights.

While a :class:`Landmarks` object is alive, :func:`kernels.astar` called without
``landmarks=`` on the same topology arrays uses it by itself whenever the weights allow it
(:func:`find_landmarks`; a weak registry, so dropping the tables turns this off);
``landmarks=False`` keeps the straight-line bound alone. Costs never change, only speed.

Landmarks are chosen by *farthest selection*: the first is the node farthest (round trip)
from node 0, each next one the node whose round trip to its nearest chosen landmark is the
longest, so they spread to the network's edge.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from kernels import validation, workspace
from kernels.errors import KernelInputError

if TYPE_CHECKING:
    from kernels.next_hop_trees import ReverseCSR

# kernels.astar_search imports this module; the search kernels are imported where used.

__all__ = [
    "MAX_LANDMARKS",
    "Landmarks",
    "check_landmarks",
    "find_landmarks",
    "prepare_landmarks",
]

#: Most landmarks a table may hold (each costs ``16 n`` bytes and two one-to-all searches,
#: and every touched node reads its whole row, so more rarely pays).
MAX_LANDMARKS = 64


@dataclass(frozen=True, eq=False)
class Landmarks:
    """ALT tables for one graph and one set of weights (all arrays read-only).

    Attributes
    ----------
    nodes
        ``int64[k]``: the landmark nodes.
    table
        ``float64[n, 2k]``: row ``v`` holds ``d(L_i, v)`` for each landmark ``i`` then
        ``d(v, L_i)`` (weights' unit, e.g. seconds; ``inf`` when unreachable), so the
        bound at ``v`` reads one contiguous row. :attr:`from_landmark` and
        :attr:`to_landmark` are its two halves.
    weights
        ``float64[m]``: copy of the weights the tables were computed with; the bound is
        admissible for any weights ``>=`` these.
    indptr, indices
        The (validated) topology the tables belong to.
    """

    nodes: np.ndarray
    table: np.ndarray
    weights: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    #: fingerprints of ``indptr`` / ``indices`` when prepared (notices most in-place edits)
    topology_stamp: tuple = field(default=(), repr=False)

    @property
    def k(self) -> int:
        """Number of landmarks."""
        return len(self.nodes)

    @property
    def from_landmark(self) -> np.ndarray:
        """``float64[n, k]`` view: ``d(nodes[i], v)``, least cost from landmark ``i`` to ``v``."""
        return self.table[:, : self.k]

    @property
    def to_landmark(self) -> np.ndarray:
        """``float64[n, k]`` view: ``d(v, nodes[i])``, least cost from ``v`` to landmark ``i``."""
        return self.table[:, self.k :]

    @property
    def nbytes(self) -> int:
        """Memory held by the table and the weights copy, in bytes."""
        return self.table.nbytes + self.weights.nbytes

    def bound(self, v: int, target: int) -> float:
        """The ALT lower bound on ``d(v, target)`` (pure Python; the reference's heuristic)."""
        return alt_bound(self.from_landmark, self.to_landmark, v, target)


def alt_bound(from_landmark: np.ndarray, to_landmark: np.ndarray, v: int, target: int) -> float:
    """``max(0, max_i d(L_i, t) - d(L_i, v), max_i d(v, L_i) - d(t, L_i))``.

    A landmark that reaches (or is reached by) neither node contributes nothing
    (``inf - inf``); ``inf`` means ``target`` is provably unreachable from ``v``.
    """
    best = 0.0
    for a, b in zip(from_landmark[target].tolist(), from_landmark[v].tolist(), strict=True):
        d = a - b
        if d > best:  # NaN compares false
            best = d
    for a, b in zip(to_landmark[v].tolist(), to_landmark[target].tolist(), strict=True):
        d = a - b
        if d > best:
            best = d
    return best


def prepare_landmarks(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    *,
    k: int = 16,
    nodes: np.ndarray | None = None,
) -> Landmarks:
    """Choose ``k`` landmarks and compute their ALT tables for :func:`kernels.astar`.

    Parameters
    ----------
    indptr, indices
        CSR graph.
    weights
        ``float64[m]`` edge costs ``>= 0`` (seconds for travel times). Pass the *lowest*
        weights you will route on (free-flow times): the tables stay valid for any
        weights that are no lower.
    k
        Number of landmarks, ``1..64`` (fewer when the graph runs out of distinct nodes).
        Sixteen suits a city (on Huế A* runs about 20 % faster than with eight);
        memory is ``16 k n`` bytes (4.3 MB for Huế's 16,702 nodes) and preparing costs
        ``2 k`` one-to-all searches (about 40 ms).
    nodes
        Use these landmark nodes instead of choosing them (``k`` is then ignored).

    Returns
    -------
    Landmarks
        The tables; pass them as ``kernels.astar(..., landmarks=...)``.

    Raises
    ------
    KernelInputError
        Malformed graph or weights, ``k`` out of range, or a landmark node out of range.
    """
    indptr, indices = validation.check_csr(indptr, indices)
    weights = validation.check_weights(weights, len(indices))
    chosen = check_choice(k, nodes, len(indptr) - 1)
    from kernels.next_hop_trees import _reverse_checked

    return prepare_landmarks_checked(
        indptr,
        indices,
        weights,
        int(k) if chosen is None else len(chosen),
        chosen,
        _reverse_checked(indptr, indices),
    )


def check_choice(k: object, nodes: object, n: int) -> np.ndarray | None:
    """Validate :func:`prepare_landmarks`' ``k`` / ``nodes``; the nodes or ``None`` (choose)."""
    if nodes is not None:
        chosen = validation.check_nodes(nodes, n, name="nodes", allow_empty=False)
        if len(chosen) > MAX_LANDMARKS:
            raise KernelInputError(
                f"nodes holds {len(chosen)} landmarks; at most {MAX_LANDMARKS} are supported"
            )
        return chosen
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= MAX_LANDMARKS:
        raise KernelInputError(
            f"k must be an integer number of landmarks in 1..{MAX_LANDMARKS}, got {k!r}"
        )
    return None


def prepare_landmarks_checked(
    indptr: np.ndarray,
    indices: np.ndarray,
    weights: np.ndarray,
    k: int,
    nodes: np.ndarray | None,
    reverse: ReverseCSR,
) -> Landmarks:
    """:func:`prepare_landmarks` on validated input, with the graph's reverse at hand."""
    from kernels.shortest_paths import dijkstra_checked

    n = len(indptr) - 1
    rev_weights = np.ascontiguousarray(weights[reverse.edges])
    with workspace.lend(None, n) as ws:

        def forward(s: int) -> np.ndarray:
            return dijkstra_checked(indptr, indices, weights, s, math.inf, ws)[0]

        def backward(s: int) -> np.ndarray:
            return dijkstra_checked(reverse.indptr, reverse.tails, rev_weights, s, math.inf, ws)[0]

        if nodes is not None:
            chosen = [int(v) for v in nodes]
            columns = [(forward(v), backward(v)) for v in chosen]
        else:
            chosen, columns = _farthest(n, k, forward, backward)
    table = np.ascontiguousarray(
        np.stack([c[0] for c in columns] + [c[1] for c in columns], axis=1)
    )
    kept = weights.copy()
    for arr in (table, kept):
        arr.flags.writeable = False
    landmarks = Landmarks(
        nodes=np.asarray(chosen, dtype=np.int64),
        table=table,
        weights=kept,
        indptr=indptr,
        indices=indices,
        topology_stamp=_topology_stamp(indptr, indices),
    )
    _register(landmarks)
    return landmarks


def _topology_stamp(indptr: np.ndarray, indices: np.ndarray) -> tuple:
    return (validation.fingerprint(indptr), validation.fingerprint(indices))


# -- the weak registry behind kernels.astar's default ---------------------------------------
#: Live tables per topology (ids of the validated ``indptr`` / ``indices``), newest last.
_REGISTRY: dict[tuple[int, int], list[weakref.ref[Landmarks]]] = {}
#: Tables remembered per topology (older ones are forgotten, not freed).
REGISTRY_PER_GRAPH = 4


def _register(landmarks: Landmarks) -> None:
    key = (id(landmarks.indptr), id(landmarks.indices))
    # no lock: each dictionary operation is atomic under the GIL, and a lost race only
    # forgets a registration (the tables still work when passed explicitly)
    for k, refs in list(_REGISTRY.items()):
        if all(r() is None for r in refs):
            _REGISTRY.pop(k, None)
    refs = [r for r in _REGISTRY.get(key, []) if r() is not None]
    refs.append(weakref.ref(landmarks))
    _REGISTRY[key] = refs[-REGISTRY_PER_GRAPH:]


def find_landmarks(
    indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray
) -> Landmarks | None:
    """Live tables prepared on these very topology arrays that are admissible for ``weights``.

    The newest such :class:`Landmarks` still referenced somewhere, whose topology
    fingerprint is unchanged and whose weights are ``<=`` these (verdict cached per array
    identity); ``None`` when there is none. ``O(1)`` per call once the verdicts are cached.
    """
    refs = _REGISTRY.get((id(indptr), id(indices)))
    if not refs:
        return None
    for ref in reversed(refs):
        landmarks = ref()
        if (
            landmarks is not None
            and landmarks.indptr is indptr
            and landmarks.indices is indices
            and len(landmarks.weights) == len(weights)
        ):
            try:
                if dominates(landmarks, indptr, indices, weights):
                    return landmarks
            except KernelInputError:  # topology edited in place since: not these tables
                continue
    return None


def _farthest(n, k, forward, backward):
    """Farthest selection on round-trip costs; returns the nodes and their columns."""
    round_trip = forward(0) + backward(0)
    candidate = _pick(round_trip, exclude=np.zeros(n, dtype=bool))
    if candidate is None:
        candidate = 0
    chosen: list[int] = []
    columns: list[tuple[np.ndarray, np.ndarray]] = []
    nearest = np.full(n, np.inf)
    is_chosen = np.zeros(n, dtype=bool)
    while candidate is not None and len(chosen) < k:
        f, b = forward(candidate), backward(candidate)
        chosen.append(candidate)
        columns.append((f, b))
        is_chosen[candidate] = True
        np.minimum(nearest, f + b, out=nearest)
        candidate = _pick(nearest, exclude=is_chosen)
        if candidate is None:
            # everything left is on no round trip with a chosen landmark: start a new part
            rest = np.flatnonzero(~np.isfinite(nearest) & ~is_chosen)
            candidate = int(rest[0]) if len(rest) else None
    return chosen, columns


def _pick(score: np.ndarray, *, exclude: np.ndarray) -> int | None:
    """The node of largest finite, positive score not excluded (``None`` when none)."""
    ok = np.isfinite(score) & (score > 0) & ~exclude
    if not ok.any():
        return None
    return int(np.argmax(np.where(ok, score, -1.0)))


def check_landmarks(
    landmarks: object, indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray
) -> Landmarks:
    """Check that ``landmarks`` belong to this graph and are admissible for ``weights``.

    The topology must equal the one the tables were built on and ``weights`` must be no
    lower than ``landmarks.weights`` everywhere. Both verdicts are cached per array
    identity (:func:`kernels.validation.remember`), so repeated calls cost ``O(1)``.

    Raises
    ------
    KernelInputError
        Not a :class:`Landmarks`, another graph, or some weight below the tables' weight.
    """
    if not isinstance(landmarks, Landmarks):
        raise KernelInputError(
            "landmarks must come from kernels.prepare_landmarks(...) or "
            f"Router.prepare_landmarks(...), got {type(landmarks).__name__}"
        )
    n, m = len(indptr) - 1, len(indices)
    if len(landmarks.indptr) != n + 1 or len(landmarks.indices) != m:
        raise KernelInputError(
            f"landmarks were prepared for a graph of {len(landmarks.indptr) - 1} nodes and "
            f"{len(landmarks.indices)} edges, not this one ({n} nodes, {m} edges); "
            "prepare them again for this graph"
        )
    if not dominates(landmarks, indptr, indices, weights):
        bad = int(np.flatnonzero(~(weights >= landmarks.weights))[0])
        raise KernelInputError(
            f"weights[{bad}] = {weights[bad]!r} is below the {landmarks.weights[bad]!r} the "
            "landmarks were prepared with, so their bound could overestimate; prepare the "
            "landmarks with the lowest weights you route on (e.g. free-flow times)"
        )
    return landmarks


def dominates(
    landmarks: Landmarks, indptr: np.ndarray, indices: np.ndarray, weights: np.ndarray
) -> bool:
    """Whether ``landmarks`` fit this topology and ``weights >= landmarks.weights``.

    Raises :class:`KernelInputError` when the topology differs; cached per array identity.
    """
    if landmarks.indptr is indptr and landmarks.indices is indices:
        same = _topology_stamp(indptr, indices) == landmarks.topology_stamp
    else:
        same = validation.remember(
            "same-topology",
            (landmarks.indptr, landmarks.indices, indptr, indices),
            lambda: bool(
                np.array_equal(landmarks.indptr, indptr)
                and np.array_equal(landmarks.indices, indices)
            ),
        )
    if not same:
        raise KernelInputError(
            "landmarks were prepared for another graph with as many nodes and edges (or "
            "this graph's arrays were edited in place since); prepare them again for it"
        )
    if landmarks.weights is weights:
        return True
    return validation.remember(
        "dominates",
        (landmarks.weights, weights),
        lambda: bool((weights >= landmarks.weights).all()),
    )
