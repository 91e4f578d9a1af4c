"""Errors of the 3D view and the report: each says what was wrong and how to fix it."""

from __future__ import annotations

from twin.errors import TwinError

__all__ = [
    "CityMismatchError",
    "EmptyResultError",
    "NoDisplayError",
    "ResultsError",
    "UnknownMeasureError",
    "VizError",
]


class VizError(TwinError, ValueError):
    """A view, an animation or a report cannot be made as asked."""


class ResultsError(VizError):
    """A folder is not a run or a comparison, or its tables are damaged."""


class EmptyResultError(VizError):
    """A run or comparison holds nothing to draw (no traffic in its window)."""


class CityMismatchError(VizError):
    """Runs shown together were made on different cities, or on another city than the one
    given."""


class UnknownMeasureError(VizError, LookupError):
    """A colour measure (``--color``) that does not exist, or that the results cannot give."""


class NoDisplayError(VizError, RuntimeError):
    """An interactive window was asked for on a machine with no display."""
