"""Clock times: seconds after midnight from and to ``H:MM[:SS[.s]]`` text.

Used by the trips reader (:mod:`twin.demand.trips`) and the demand parameters
(:mod:`twin.demand.params`). Hours may pass 24 for a day that runs on past midnight.
"""

from __future__ import annotations

import re

import numpy as np

from twin.errors import TripsError, TwinError

__all__ = ["CLOCK_PATTERN", "format_clock", "parse_clock"]

#: ``H:MM``, ``HH:MM:SS`` or ``HH:MM:SS.s`` (groups: hours, minutes, seconds or ``None``).
CLOCK_PATTERN = re.compile(r"^(\d{1,3}):([0-5]\d)(?::([0-5]\d(?:\.\d*)?))?$")


def parse_clock(
    value: float | int | str,
    *,
    what: str = "time",
    error: type[TwinError] = TripsError,
    latest: float | None = None,
) -> float:
    """Seconds after midnight from a number of seconds or ``"H:MM[:SS[.s]]"``.

    Parameters
    ----------
    value
        Seconds, or clock text.
    what
        How the message names the value (``"time"``, ``"--start"``…).
    error
        The error class to raise.
    latest
        The latest time allowed, seconds after midnight (``86_400`` for a time of day,
        ``172_800`` for a run that may pass midnight); ``None`` for no limit.

    Raises
    ------
    TripsError
        (or ``error``) The value is neither, or lies past ``latest``.
    """
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        seconds = float(value)
    else:
        text = str(value).strip()
        try:
            seconds = float(text)
        except ValueError:
            match = CLOCK_PATTERN.match(text)
            seconds = float("nan")
            if match:
                h, m, s = match.groups()
                seconds = int(h) * 3600.0 + int(m) * 60.0 + float(s or 0.0)
    if not np.isfinite(seconds) or seconds < 0:
        raise error(
            f"{what} {value!r} is not a time: give seconds after midnight (>= 0) or "
            "HH:MM[:SS], e.g. 27000 or 07:30:00"
        )
    if latest is not None and seconds > latest:
        raise error(
            f"{what} {value!r} is later than {format_clock(latest)}; give a time between "
            f"00:00 and {format_clock(latest)}"
        )
    return seconds


def format_clock(seconds: float) -> str:
    """``"HH:MM:SS"`` of seconds after midnight (hours may pass 24)."""
    s = int(np.floor(float(seconds)))
    return f"{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}"
