"""Congestion for coverage and siting: a simulated day's link times by hour, from where asked.

:func:`day_link_times` gives emergency vehicles' link times for each hour of the day from a
recorded run folder (checked to be of the same city; hours outside the run's window are free
flow and said so), from free flow, or from a day simulated now through the one run function
(:func:`sim.run_day.run_day`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sim.emergency.coverage import hourly_link_times
from sim.emergency.params import EmergencyParams
from sim.result import RunResult
from twin.city import City, city_checksum
from twin.clock import format_clock
from twin.errors import ConfigError

__all__ = ["Congestion", "day_link_times"]


@dataclass(frozen=True, eq=False)
class Congestion:
    """Emergency vehicles' link times by hour, and the day they come from.

    Attributes
    ----------
    hourly
        ``float64[24, n_edges]``, seconds.
    description
        Where they came from, for people (``"free flow"``, ``"run runs/day"`` …).
    recorded
        The run whose links table they come from (``None`` for free flow): a siting check
        replays it through the run function.
    run_dir
        That run's folder, when it has one.
    """

    hourly: np.ndarray
    description: str
    recorded: RunResult | None = None
    run_dir: Path | None = None

    @property
    def free_flow(self) -> bool:
        """No congestion at all."""
        return self.recorded is None


def day_link_times(
    city: City,
    params: EmergencyParams,
    *,
    run_dir: str | Path | None = None,
    free_flow: bool = False,
    seed: int = 0,
    scale: float = 1.0,
    tourists: bool = True,
    progress: Callable[[float], None] | None = None,
    save_run: str | Path | None = None,
) -> Congestion:
    """Emergency link times by hour of a simulated day, and where they came from.

    Parameters
    ----------
    city
        The city.
    params
        Emergency parameters (the emergency-vehicle advantage).
    run_dir
        A run folder (``twin run -o RUN_DIR``) whose links table to use.
    free_flow
        No congestion at all (free-flow times all day).
    seed, scale, tourists
        When neither ``run_dir`` nor ``free_flow`` is given, a day is simulated with
        :func:`sim.run_day.run_day` (traffic and, unless ``tourists`` is false, tourists; no
        emergency services) with this seed and demand scale.
    progress
        Called with the simulated clock during that run.
    save_run
        Write that simulated day to this run folder (reuse it later as ``run_dir``).

    Returns
    -------
    The hourly times, their description and the run behind them.
    """
    if free_flow:
        return Congestion(hourly_link_times(city.drive, None, params), "free flow")
    if run_dir is not None:
        from sim.outputs import read_run

        recorded = read_run(run_dir)
        _check_run_city(recorded, city, run_dir)
        window = recorded.spec.window
        hourly = hourly_link_times(city.drive, recorded.links, params)
        outside = [h for h in range(24) if not _hour_in(h, window.start, window.end)]
        hourly[outside] = hourly_link_times(city.drive, None, params)[outside]
        description = f"run {run_dir}"
        if outside:
            description += (
                f" (its window {format_clock(window.start)}-{format_clock(window.end)}; "
                "free flow in the other hours)"
            )
        return Congestion(hourly, description, recorded, Path(run_dir))
    from sim.run_day import run_day

    result = run_day(
        city, seed=seed, scale=scale, tourists=tourists, emergency=False, progress=progress
    )
    description = f"simulated day (seed {seed}, demand scale {scale:g})"
    saved = None
    if save_run is not None:
        from sim.outputs import write_run

        saved = write_run(result, save_run)
        description += f", saved to {save_run}"
    return Congestion(
        hourly_link_times(city.drive, result.links, params), description, result, saved
    )


def _check_run_city(recorded, city: City, run_dir) -> None:
    if recorded.spec.city.checksum != city_checksum(city):
        raise ConfigError(
            f"the run {run_dir} belongs to the city {recorded.spec.city.name!r} (checksum "
            f"{recorded.spec.city.checksum[:12]}…), not to {city.name!r}; give a run of this "
            "city, or the city of that run with --city"
        )


def _hour_in(hour: int, start: float, end: float) -> bool:
    """Whether the hour of day ``hour`` overlaps the window ``[start, end)`` (a window may
    pass midnight)."""
    for day in (0.0, 86_400.0):
        lo = day + hour * 3600.0
        if lo < end and lo + 3600.0 > start:
            return True
    return False
