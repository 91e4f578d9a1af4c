"""Hot loops over flat numpy arrays, compiled with Cython, each with a pure-Python reference.

``TWIN_KERNELS=python|cython`` picks the backend (see :mod:`kernels.backend`).
"""

from __future__ import annotations

from kernels.errors import KernelInputError, TwinError
from kernels.shortest_paths import dijkstra

__all__ = ["KernelInputError", "TwinError", "dijkstra"]
