"""The variants of a sweep: every combination of levels, a Latin hypercube, or a Sobol sample.

A *variant* is one value for each parameter of the sweep. :func:`make_variants` draws them:

``grid``
    Every combination of the parameters' levels, the first parameter varying slowest.
``lhs``
    ``samples`` points of a Latin hypercube (``scipy.stats.qmc.LatinHypercube``, seeded):
    each parameter's range is cut into ``samples`` equal strata and each stratum is drawn
    once.
``sobol``
    The first ``samples`` points (a power of two) of a scrambled Sobol sequence
    (``scipy.stats.qmc.Sobol``, seeded): low discrepancy, balanced at powers of two.

A point ``u`` in the unit cube becomes values parameter by parameter: a continuous range
``[low, high]`` takes ``low + u·(high − low)``; a parameter with ``n`` levels takes level
``⌊u·n⌋`` (each level an equal share of the unit interval). Points that give the same
values (several discrete parameters and many samples) are one variant. Variants are
numbered in the order drawn: ``v000``, ``v001``, …
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np

from scenarios.sweep.file import Parameter, Sweep

__all__ = ["Variant", "make_variants", "unit_sample", "value_text"]


@dataclass(frozen=True)
class Variant:
    """One point of a sweep's design.

    Attributes
    ----------
    id
        Its id (``v000`` …), the name of its folder under ``runs/``.
    values
        The value of each varied parameter, by key path, in the sweep's order.
    """

    id: str
    values: dict[str, Any]

    def describe(self) -> str:
        """``demand.scale=0.8, switch.close_bridge=true``."""
        return ", ".join(f"{key}={value_text(value)}" for key, value in self.values.items())


def unit_sample(sweep: Sweep) -> np.ndarray:
    """The design's points in the unit cube, one row per sample (LHS and Sobol)."""
    from scipy.stats import qmc

    d = len(sweep.parameters)
    design = sweep.design
    if design.kind == "lhs":
        return qmc.LatinHypercube(d, rng=design.seed).random(design.samples)
    if design.kind == "sobol":
        m = int(design.samples).bit_length() - 1
        return qmc.Sobol(d, scramble=True, rng=design.seed).random_base2(m)
    raise ValueError(f"unit_sample is for lhs and sobol designs, not {design.kind!r}")


def make_variants(sweep: Sweep) -> list[Variant]:
    """The variants of ``sweep``'s design, in the order drawn, without repeats."""
    keys = [p.key for p in sweep.parameters]
    if sweep.design.kind == "grid":
        points = list(itertools.product(*(p.levels for p in sweep.parameters)))
    else:
        points = [
            tuple(_value(p, float(u)) for p, u in zip(sweep.parameters, row, strict=True))
            for row in unit_sample(sweep)
        ]
    unique: dict[tuple, tuple] = {}
    for point in points:
        unique.setdefault(tuple((type(v).__name__, v) for v in point), point)
    width = max(3, len(str(len(unique) - 1)))
    return [
        Variant(f"v{k:0{width}d}", dict(zip(keys, point, strict=True)))
        for k, point in enumerate(unique.values())
    ]


def _value(parameter: Parameter, u: float) -> Any:
    if parameter.continuous:
        low, high = float(parameter.low), float(parameter.high)
        return float(low + u * (high - low))
    n = len(parameter.levels)
    return parameter.levels[min(int(u * n), n - 1)]


def value_text(value: Any) -> str:
    """A parameter value as a sweep file writes it (``true``, ``0.5``, ``2.0``, ``name``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = f"{value:.6g}"
        return text if any(c in text for c in ".einf") else f"{text}.0"
    return str(value)
