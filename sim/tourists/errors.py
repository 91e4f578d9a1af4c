"""The tourists' error: what a caller asked of them that cannot be done."""

from __future__ import annotations

from twin.errors import TwinError

__all__ = ["TouristsError"]


class TouristsError(TwinError, ValueError):
    """Tourists cannot be simulated as asked: an unknown lodging or site, a bad party, a
    site change that makes no sense, lodging that all weighs nothing."""
