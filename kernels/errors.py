"""The project's error root.

``TwinError`` lives in the lowest layer so that every layer, kernels included, can raise
its subclasses while imports only go down; ``twin.errors`` re-exports it with the rest.
"""

from __future__ import annotations


class TwinError(Exception):
    """Root of every error Huế Twin raises on purpose.

    Subclasses also inherit the builtin they mean (``ValueError``, ``FileNotFoundError``…),
    so ``except ValueError`` keeps working. A message says what was received, what was
    expected and how to fix it.
    """


class KernelInputError(TwinError, ValueError):
    """Arrays handed to a kernel are malformed (dtype, length, range or sign)."""
