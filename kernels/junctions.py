"""Junction arithmetic of the traffic kernel: fixed-time signals and gap acceptance.

These small functions are the readable specification of what the compiled movement loop
(``kernels/_traffic_cy.pyx``, which has the same arithmetic inline) does at a link's exit;
the pure-Python reference engine calls them. They take and return seconds.

Fixed-time signal
-----------------
An approach's green starts at ``start + k × cycle`` (any integer ``k``) and lasts
``green`` seconds of the ``cycle``. A vehicle may leave only during green
(:func:`green_from`), and during green the exit serves one PCU per saturation headway; the
service of a vehicle is counted in green time only (:func:`green_after`): a service that
does not end by the end of the green resumes at the next green. Over many cycles the
approach therefore discharges exactly ``green / cycle × saturation flow``, and vehicles
that arrive in red wait for the green (the uniform delay of a fixed cycle).

Gap acceptance at a priority junction
-------------------------------------
A minor approach (give way) can discharge

``c(q) = q exp(-q t_c) / (1 - exp(-q t_f))``  (PCU/s)

against a conflicting major flow ``q`` (PCU/s), with critical gap ``t_c`` and follow-up
time ``t_f`` (seconds): Harders' formula for random (exponential) major-stream headways,
the one the Highway Capacity Manual uses for two-way stop-controlled junctions (HCM 2010,
equation 19-30 in vehicles per hour). At ``q = 0`` it is ``1 / t_f``.
"""

from __future__ import annotations

import math

__all__ = ["gap_capacity", "green_after", "green_from", "in_green"]


def _phase(t: float, cycle: float, start: float) -> float:
    """Seconds since the last start of green, in ``[0, cycle)``."""
    x = t - start
    return x - cycle * math.floor(x / cycle)


def in_green(t: float, cycle: float, start: float, green: float) -> bool:
    """Whether ``t`` lies in a green interval ``[start + k cycle, start + k cycle + green)``."""
    return _phase(t, cycle, start) < green


def green_from(t: float, cycle: float, start: float, green: float) -> float:
    """The earliest time at or after ``t`` that lies in green."""
    k = _phase(t, cycle, start)
    if k < green:
        return t
    return t + (cycle - k)


def green_after(t: float, duration: float, cycle: float, start: float, green: float) -> float:
    """The time at which ``duration`` seconds of green have passed from ``t`` (in green).

    A ``t`` that lies in red counts from the next green.
    """
    k = _phase(t, cycle, start)
    if k >= green:
        t = t + (cycle - k)
        k = 0.0
    left = green - k
    if duration <= left:
        return t + duration
    rest = duration - left
    cycles = math.floor(rest / green)
    return t + left + (cycle - green) + cycles * cycle + (rest - cycles * green)


def gap_capacity(q: float, tc: float, tf: float) -> float:
    """Capacity of a minor approach, PCU/s, against a conflicting flow ``q`` PCU/s
    (Harders; HCM 2010 eq. 19-30); ``tc`` critical gap and ``tf`` follow-up time, seconds."""
    if q <= 1e-12:
        return 1.0 / tf
    return q * math.exp(-q * tc) / (1.0 - math.exp(-q * tf))
