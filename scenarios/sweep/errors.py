"""Errors of sweeps that are not problems of the sweep file (those are
:class:`~scenarios.problems.ScenarioError`)."""

from __future__ import annotations

from twin.errors import TwinError

__all__ = ["SweepError"]


class SweepError(TwinError, ValueError):
    """A sweep cannot run as asked: its output folder holds something else, or two of its
    variants make the same run."""
