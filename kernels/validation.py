"""Input checks shared by the kernels: CSR arrays, edge weights, node ids, coordinates.

Every public kernel runs its arguments through these functions before handing them to the
compiled loop, so that malformed input raises :class:`~kernels.errors.KernelInputError`
with a clear message instead of reading out of bounds. The checks are vectorised numpy
passes (``O(n + m)``); callers that route many times over one topology can validate the
topology once with a :class:`kernels.Router` and pay only for the weights per call.

Conversions never copy an array that is already right: ``indptr`` and ``indices`` come back
as C-contiguous ``int64`` (``int32`` and other integer arrays are converted), weights and
coordinates as C-contiguous ``float64``.
"""

from __future__ import annotations

import numpy as np

from kernels.errors import KernelInputError

__all__ = [
    "check_coordinates",
    "check_csr",
    "check_limit",
    "check_node",
    "check_nodes",
    "check_weights",
]


def _one_d(array: object, name: str) -> np.ndarray:
    arr = np.asarray(array)
    if arr.ndim != 1:
        raise KernelInputError(
            f"{name} must be a 1-D array, got an array of shape {arr.shape}; "
            "pass a flat numpy array (CSR as scipy defines it)"
        )
    return arr


def _as_int64(array: object, name: str) -> np.ndarray:
    arr = _one_d(array, name)
    if arr.dtype == np.int64:
        return np.ascontiguousarray(arr)
    if arr.dtype.kind not in "iu":
        if arr.size == 0 and arr.dtype.kind == "f":
            return np.zeros(0, dtype=np.int64)
        raise KernelInputError(
            f"{name} must hold integers (int64 or int32), got dtype {arr.dtype}; "
            f"convert it with {name}.astype(np.int64)"
        )
    if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
        raise KernelInputError(f"{name} has values beyond the int64 range")
    return np.ascontiguousarray(arr, dtype=np.int64)


def check_csr(indptr: object, indices: object) -> tuple[np.ndarray, np.ndarray]:
    """Validate a CSR topology and return it as ``(indptr, indices)`` ``int64`` arrays.

    Parameters
    ----------
    indptr
        ``n + 1`` non-decreasing offsets starting at 0 and ending at ``len(indices)``.
    indices
        Head node of each edge, every one in ``0..n-1``.

    Raises
    ------
    KernelInputError
        When a dtype, shape, length or value is wrong.
    """
    indptr = _as_int64(indptr, "indptr")
    indices = _as_int64(indices, "indices")
    if len(indptr) < 2:
        raise KernelInputError(
            f"indptr has {len(indptr)} entries; a graph with n nodes needs n + 1 >= 2 "
            "(indptr = [0] + cumulative out-degrees)"
        )
    n = len(indptr) - 1
    m = len(indices)
    if indptr[0] != 0 or indptr[-1] != m:
        raise KernelInputError(
            f"indptr must start at 0 and end at len(indices) = {m}, "
            f"got {int(indptr[0])} … {int(indptr[-1])}"
        )
    if n > 1 and (indptr[1:] < indptr[:-1]).any():
        bad = int(np.flatnonzero(indptr[1:] < indptr[:-1])[0])
        raise KernelInputError(
            f"indptr must be non-decreasing, but indptr[{bad + 1}] = {int(indptr[bad + 1])} "
            f"< indptr[{bad}] = {int(indptr[bad])}"
        )
    # one pass: as unsigned, negative ids wrap around to huge values
    if m and indices.view(np.uint64).max() >= n:
        bad = int(np.flatnonzero((indices < 0) | (indices >= n))[0])
        raise KernelInputError(
            f"indices[{bad}] = {int(indices[bad])} is not a node of this graph "
            f"(expected 0..{n - 1})"
        )
    return indptr, indices


def check_weights(weights: object, m: int, *, name: str = "weights") -> np.ndarray:
    """Validate edge weights and return them as a C-contiguous ``float64`` array.

    Parameters
    ----------
    weights
        One cost per edge (seconds, metres or any additive cost), ``>= 0``; ``inf`` marks
        a closed edge. Integer and float32 arrays are converted.
    m
        Number of edges (``len(indices)``).
    name
        Name used in error messages.
    """
    arr = _one_d(weights, name)
    if arr.dtype.kind not in "fiu":
        raise KernelInputError(
            f"{name} must be real numbers (float64), got dtype {arr.dtype}; "
            f"convert it with {name}.astype(np.float64)"
        )
    arr = np.ascontiguousarray(arr, dtype=np.float64)
    if len(arr) != m:
        raise KernelInputError(
            f"{name} has {len(arr)} entries but the graph has {m} edges (len(indices)); "
            "pass one weight per edge in CSR order"
        )
    # min() propagates NaN and NaN fails ``>= 0``: one pass, no temporary array.
    if m and not arr.min() >= 0:
        bad = int(np.flatnonzero(~(arr >= 0))[0])
        raise KernelInputError(
            f"{name}[{bad}] = {arr[bad]!r}; edge weights must be >= 0 and not NaN "
            "(use inf for a closed edge)"
        )
    return arr


def check_node(node: object, n: int, *, name: str = "source") -> int:
    """Validate one node id and return it as a Python ``int`` in ``0..n-1``."""
    if isinstance(node, bool | np.bool_) or not isinstance(node, int | np.integer):
        arr = np.asarray(node)
        if arr.ndim != 0 or arr.dtype.kind not in "iu":
            raise KernelInputError(
                f"{name} must be one integer node id, got {node!r}; "
                "node ids are positions 0..n-1 in indptr"
            )
        node = arr.item()
    node = int(node)
    if not 0 <= node < n:
        raise KernelInputError(f"{name} = {node} is not a node of this graph (expected 0..{n - 1})")
    return node


def check_nodes(
    nodes: object, n: int, *, name: str = "sources", allow_empty: bool = True
) -> np.ndarray:
    """Validate node ids and return them as a C-contiguous ``int64`` array.

    A scalar is accepted and becomes a one-element array.
    """
    arr = np.asarray(nodes)
    if arr.ndim == 0:
        arr = arr.reshape(1)
    arr = _as_int64(arr, name)
    if not allow_empty and len(arr) == 0:
        raise KernelInputError(f"{name} is empty; pass at least one node id")
    if len(arr) and arr.view(np.uint64).max() >= n:
        bad = int(np.flatnonzero((arr < 0) | (arr >= n))[0])
        raise KernelInputError(
            f"{name}[{bad}] = {int(arr[bad])} is not a node of this graph (expected 0..{n - 1})"
        )
    return arr


def check_limit(value: object, *, name: str = "limit", allow_none: bool = False) -> float:
    """Validate a cost limit (seconds or the weights' unit) ``>= 0``; ``None`` means ``inf``."""
    if value is None:
        if allow_none:
            return float("inf")
        raise KernelInputError(f"{name} is required (a cost >= 0 in the weights' unit)")
    try:
        out = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise KernelInputError(f"{name} must be a number >= 0, got {value!r}") from None
    if not out >= 0:
        raise KernelInputError(f"{name} must be a number >= 0, got {value!r}")
    return out


def check_coordinates(x: object, y: object, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Validate node coordinates (metres, projected) and return them as ``float64``."""
    out = []
    for name, values in (("x", x), ("y", y)):
        arr = _one_d(values, name)
        if arr.dtype.kind not in "fiu":
            raise KernelInputError(f"{name} must be real numbers, got dtype {arr.dtype}")
        arr = np.ascontiguousarray(arr, dtype=np.float64)
        if len(arr) != n:
            raise KernelInputError(
                f"{name} has {len(arr)} entries but the graph has {n} nodes; "
                "pass one projected coordinate (metres) per node"
            )
        if n and not np.isfinite(arr).all():
            raise KernelInputError(f"{name} has non-finite coordinates; every node needs one")
        out.append(arr)
    return out[0], out[1]
