"""Pick the kernel backend: compiled Cython or the pure-Python reference.

``TWIN_KERNELS=python`` forces the reference everywhere; ``TWIN_KERNELS=cython`` requires
the compiled modules (an error if they were not built); unset means "compiled when built".
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

from kernels.errors import TwinError

_CHOICES = ("python", "cython")

#: ``compiled_cached`` results per ``(module, TWIN_KERNELS)``: modules, not run state.
_CACHED: dict[tuple[str, str | None], ModuleType | None] = {}


class KernelBackendError(TwinError, ImportError):
    """The requested kernel backend is not available."""


def backend_name() -> str:
    """The backend asked for by ``TWIN_KERNELS``: ``"python"``, ``"cython"`` or ``"auto"``."""
    name = os.environ.get("TWIN_KERNELS", "auto").strip().lower() or "auto"
    if name not in (*_CHOICES, "auto"):
        raise KernelBackendError(
            f"TWIN_KERNELS={name!r} is not a backend; use 'python', 'cython' or leave it unset"
        )
    return name


def compiled(module: str) -> ModuleType | None:
    """The compiled module ``kernels.<module>`` or ``None`` when the reference should run.

    Parameters
    ----------
    module
        Name of the extension inside ``kernels``, such as ``"_dijkstra_cy"``.
    """
    name = backend_name()
    if name == "python":
        return None
    try:
        return importlib.import_module(f"kernels.{module}")
    except ImportError as exc:
        if name == "cython":
            raise KernelBackendError(
                f"TWIN_KERNELS=cython but kernels.{module} is not compiled ({exc}); "
                "build it with `pip install -e .` (needs a C compiler) or set TWIN_KERNELS=python"
            ) from exc
        return None


def compiled_cached(module: str) -> ModuleType | None:
    """:func:`compiled`, memoised per ``TWIN_KERNELS`` value.

    For wrappers whose calls are short enough for the import lookup to show (A*); a
    change of ``TWIN_KERNELS`` is still honoured.
    """
    key = (module, os.environ.get("TWIN_KERNELS"))
    try:
        return _CACHED[key]
    except KeyError:
        found = _CACHED[key] = compiled(module)
        return found
