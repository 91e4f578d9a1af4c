"""Input checks shared by the kernels: CSR arrays, edge weights, node ids, coordinates.

Every public kernel runs its arguments through these functions before handing them to the
compiled loop, so that malformed input raises :class:`~kernels.errors.KernelInputError`
with a clear message instead of reading out of bounds. The checks are vectorised numpy
passes (``O(n + m)``); callers that route many times over one topology can validate the
topology once with a :class:`kernels.Router` and pay only for the weights per call.

Conversions never copy an array that is already right: ``indptr`` and ``indices`` come back
as C-contiguous ``int64`` (``int32`` and other integer arrays are converted), weights and
coordinates as C-contiguous ``float64``.

Hot one-to-one searches (A*) explore a small part of the graph, so a whole-array pass per
call would be a large share of their time. :func:`remember` caches a check's verdict per
array *identity*: the arrays themselves (held by weak reference, so a freed array's id is
never mistaken for a new one), their shape and dtype, and a fingerprint of 64 evenly
spaced entries. A changed array with the same identity is re-checked when any of
that differs; an in-place edit that touches no sampled entry is not noticed here, which is
why the compiled kernels that rely on cached verdicts also check every edge they relax
(head in range, weight ``>= 0``) and fail with :class:`~kernels.errors.KernelInputError`
rather than read out of bounds.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from kernels.errors import KernelInputError

__all__ = [
    "check_coordinates",
    "check_coordinates_cached",
    "check_csr",
    "check_csr_cached",
    "check_limit",
    "check_node",
    "check_nodes",
    "check_weights",
    "check_weights_cached",
    "exact_array",
    "fingerprint",
    "forget_all",
    "remember",
]

T = TypeVar("T")

#: Verdicts kept by :func:`remember` (least recently used dropped first).
MAX_VERDICTS = 64
#: Entries sampled by :func:`fingerprint`.
FINGERPRINT_SAMPLES = 64

_VERDICTS: OrderedDict[tuple, tuple[tuple[weakref.ref, ...], list, object]] = OrderedDict()


def exact_array(array: object, dtype: type) -> bool:
    """Whether ``array`` is a 1-D C-contiguous ``numpy.ndarray`` of ``dtype`` (no conversion)."""
    return (
        type(array) is np.ndarray
        and array.dtype == dtype
        and array.ndim == 1
        and array.flags.c_contiguous
    )


def fingerprint(array: np.ndarray) -> tuple:
    """A cheap (``O(1)``, under a microsecond) fingerprint of a 1-D array.

    Length, dtype and about 64 evenly spaced entries (the first included).
    """
    size = array.shape[0]
    return (size, array.dtype.char, array[:: size // FINGERPRINT_SAMPLES or 1].tobytes())


def remember(kind: str, arrays: tuple[np.ndarray, ...], compute: Callable[[], T]) -> T:
    """``compute()``'s result for these arrays, computed once per identity and fingerprint.

    Parameters
    ----------
    kind
        Names the check (verdicts of different checks on the same arrays are kept apart).
    arrays
        The ``numpy.ndarray`` inputs the check reads (weakly referenced, never copied).
    compute
        The full check; it may raise (nothing is cached then) or return a value to cache.
        The value must not refer to the arrays (that would keep them alive): return a
        flag, not the checked arrays.

    Returns
    -------
    object
        The cached or freshly computed value.

    Notes
    -----
    Safe to call from several threads without a lock (each dictionary operation is atomic
    under the GIL): a race costs at most a repeated check.
    """
    key = (kind, *[id(a) for a in arrays])
    stamp = [fingerprint(a) for a in arrays]
    entry = _VERDICTS.get(key)
    if entry is not None and entry[1] == stamp:
        for ref, a in zip(entry[0], arrays):  # noqa: B905 - same key, same length
            if ref() is not a:
                break
        else:
            # (not contextlib.suppress: this is the hot path and that costs a microsecond)
            try:  # noqa: SIM105
                _VERDICTS.move_to_end(key)
            except KeyError:  # evicted by another thread meanwhile
                pass
            return entry[2]  # type: ignore[return-value]
    value = compute()
    _VERDICTS[key] = (tuple(weakref.ref(a) for a in arrays), stamp, value)
    while len(_VERDICTS) > MAX_VERDICTS:
        try:
            _VERDICTS.popitem(last=False)
        except KeyError:  # emptied by another thread meanwhile
            break
    return value


def forget_all() -> None:
    """Drop every cached verdict (the next call of each check runs it in full)."""
    _VERDICTS.clear()


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


def check_csr_cached(indptr: object, indices: object) -> tuple[np.ndarray, np.ndarray]:
    """:func:`check_csr`, run in full once per array identity (see :func:`remember`).

    Arrays that need a conversion (``int32``, lists, non-contiguous) are checked in full on
    every call, since the converted copy is new each time.
    """
    if exact_array(indptr, np.int64) and exact_array(indices, np.int64):
        remember("csr", (indptr, indices), lambda: bool(check_csr(indptr, indices)))
        return indptr, indices  # type: ignore[return-value]
    return check_csr(indptr, indices)


def check_weights_cached(weights: object, m: int, *, name: str = "weights") -> np.ndarray:
    """:func:`check_weights`, run in full once per array identity (see :func:`remember`)."""
    if exact_array(weights, np.float64):
        if len(weights) != m:  # type: ignore[arg-type]
            return check_weights(weights, m, name=name)  # raises with the usual message
        remember("weights", (weights,), lambda: check_weights(weights, m, name=name) is weights)
        return weights  # type: ignore[return-value]
    return check_weights(weights, m, name=name)


def check_coordinates_cached(x: object, y: object, n: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`check_coordinates`, run in full once per array identity (see :func:`remember`)."""
    if exact_array(x, np.float64) and exact_array(y, np.float64):
        if len(x) != n or len(y) != n:  # type: ignore[arg-type]
            return check_coordinates(x, y, n)
        remember("coordinates", (x, y), lambda: bool(check_coordinates(x, y, n)))
        return x, y  # type: ignore[return-value]
    return check_coordinates(x, y, n)
