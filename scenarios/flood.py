"""Floods: which vehicle classes stand water of a given depth.

The table ``scenarios/defaults/flood_depths.csv`` gives, for each vehicle class, the depth of
standing water (metres) from which it cannot drive through a road, with the sources of the
values. A flood of depth ``d`` closes its roads to every class whose limit is at or below
``d``: motorbikes first, emergency vehicles last.
"""

from __future__ import annotations

import functools
from importlib import resources

import pandas as pd

__all__ = ["classes_stopped", "depth_limits"]


@functools.cache
def depth_limits() -> pd.Series:
    """Depth (metres) from which each vehicle class cannot drive through water."""
    with (resources.files("scenarios") / "defaults" / "flood_depths.csv").open("r") as fh:
        table = pd.read_csv(fh, comment="#", skipinitialspace=True)
    return table.set_index("vehicle_class")["max_depth_m"].astype(float).sort_values()


def classes_stopped(depth_m: float, classes: list[str]) -> tuple[str, ...]:
    """The classes among ``classes`` that water of ``depth_m`` metres stops (a class
    missing from the table is stopped by any flood of at least 0.30 m, a car's limit)."""
    limits = depth_limits()
    return tuple(c for c in classes if float(limits.get(c, 0.30)) <= depth_m)
