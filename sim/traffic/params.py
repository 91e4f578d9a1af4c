"""Parameters of the mesoscopic traffic engine (:class:`sim.traffic.engine.Traffic`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from twin.errors import ConfigError

__all__ = ["TrafficParams"]


@dataclass(frozen=True)
class TrafficParams:
    """How the traffic engine steps, routes, records and gives up.

    Attributes
    ----------
    step_s
        Seconds of simulated time per SimPy step. Movement inside the kernel is event
        driven in continuous time, so the step does not change the traffic; it sets how
        often other processes see it (a vehicle injected with ``drive`` departs at the
        exact ``env.now``; its arrival event fires at the end of the step it arrives in,
        at most ``step_s`` late, while ``Journey.arrive`` holds the exact time).
    refresh_s
        Seconds between refreshes of the next-hop routing tables from current travel
        times (closures refresh at once).
    refresh_max_rows
        At most this many destination rows in use are brought up to date per scheduled
        refresh (the busiest and stalest first; ``0``: all that fell behind). A row a few
        refreshes behind is repaired where the changed links alter its tree
        (:mod:`sim.traffic.routing`), an older one grown in full; rows left over keep
        their last tree (a valid, slightly dated route) until a later refresh. Rows never
        grown, and every row after a closure, are always brought up.
    route_smoothing
        Every other vehicle (by release order; emergency vehicles never) follows the tree
        each destination row had before its latest refresh, the others the latest: a
        refresh moves half the traffic onto the new shortest paths instead of all of it,
        which damps the swing of everyone between two routes in congestion. UXsim's
        dynamic user optimum smooths its route preferences with weight 0.5 at each update
        the same way (Seo, UXsim documentation, ``duo_update_weight``). ``false``: everyone
        follows the latest tree.
    refresh_abs_change_s, refresh_rel_change
        A scheduled refresh is skipped when no link's travel time moved, since the last
        refresh, by more than both this many seconds and this fraction of its time then
        (quiet hours cost no routing).
    stats_interval_s
        Length of the per-link reporting interval, seconds (15 minutes).
    gridlock_s
        Seconds with vehicles on the network (or waiting to enter it) and not one
        vehicle moving before the run is declared gridlocked and stopped.
    depart_jitter_s
        Half-width of a uniform random shift added to each trip's departure time, seconds
        (0: departures exactly as given). Ties between equal departure times are always
        broken in a random order drawn from the run's generator.
    emergency_congestion
        Emergency vehicles pass queues but take ``free-flow time × (1 + this × occupancy /
        storage)`` on each link (occupancy capped at storage): 1.0 doubles the free-flow
        time on a jammed link.
    block_relief_s
        Gridlock relief: a vehicle held this many seconds at the head of its link by a
        full next link enters that link anyway, over its storage (SUMO's
        time-to-teleport is 300 s too, but here the vehicle stays on the road). Blocked
        vehicles check it every ``block_relief_s / 5`` seconds (and at route refreshes),
        so relief comes up to a fifth late. ``0`` turns relief off (a circular jam then
        stays locked and is reported as gridlock). Forced entries are counted in the
        KPIs (``forced_entries``).
    min_storage_pcu
        Every link stores at least this many PCU (very short OSM links would otherwise
        hold a fraction of a car).
    route_chunk
        Destinations routed per call of the next-hop kernel (bounds scratch memory:
        ``16 × route_chunk × nodes`` bytes).
    kinematic_waves
        Kinematic waves on every link (see :mod:`kernels.traffic`): space freed at a
        link's exit reaches its entrance after length / backward wave speed, the speed
        following from the link's triangular fundamental diagram (free-flow speed,
        mid-block capacity and jam density per lane: ``w = q / (k_j - q / v)``), and a
        link takes in at most its mid-block capacity. The mid-block capacity is the
        saturation flow of the link's class (``twin/defaults/junctions.csv``) times its
        lanes, or the link's own capacity if higher: the road table's capacity is what the
        link lets out at its exit, junction losses included. ``false``: the plain link
        queue (freed space usable at once, entrance unlimited).
    junctions
        Junction control: fixed-time signals where OSM has them (or ``signal_timings``
        puts them) and give-way at priority junctions by road class
        (:mod:`sim.traffic.junctions`). The exit of a signalised approach discharges at
        the saturation flow during green, that of a priority junction's approach at the
        road's mid-block capacity (minor ones less what the major flow takes), where the
        road table's capacity, which counts an average junction's losses, applies
        elsewhere. ``false``: every exit discharges at its link's capacity.
    motorbike_filtering
        Motorbikes filter past larger vehicles at the end of a queue and take less space
        beside them (``filter_gain``; see :mod:`kernels.traffic`).
    filter_gain
        In ``[0, 1)``: a motorbike takes ``pcu × (1 - filter_gain × s)`` PCU of a link's
        storage and exit capacity where larger vehicles hold a share ``s`` of the link's
        PCU (0: plain PCU arithmetic). Default 0.5: a motorbike among cars counts about
        0.15 PCU instead of 0.3.
    node_lookahead_per_lane
        Vehicles per lane behind the head of a queue that may leave before it, ``>= 0``
        (filtering motorbikes, and turns whose exit has room while the head waits for a
        full one); 0 gives strict FIFO queues.
    conflict_window_s
        Time constant of the conflicting-flow estimate at priority junctions, seconds
        ``> 0``.
    junction_defaults
        A CSV overriding rows of ``twin/defaults/junctions.csv`` (signal cycles and
        splits, saturation flows and gap acceptance by road class); ``""``: the shipped
        table.
    signal_timings
        A CSV of timings of single junctions: ``node_id`` (the OSM node id) and any of
        ``cycle_s``, ``major_share`` and ``offset_s`` (seconds, a share in ``(0, 1)``); a
        node listed there gets a signal even where OSM has none. ``""``: the defaults
        everywhere.
    """

    step_s: float = 2.0
    refresh_s: float = 300.0
    refresh_max_rows: int = 128
    route_lag_s: float = 120.0
    route_smoothing: bool = True
    refresh_abs_change_s: float = 5.0
    refresh_rel_change: float = 0.2
    stats_interval_s: float = 900.0
    gridlock_s: float = 1200.0
    depart_jitter_s: float = 0.0
    emergency_congestion: float = 1.0
    block_relief_s: float = 300.0
    min_storage_pcu: float = 1.0
    route_chunk: int = 256
    kinematic_waves: bool = True
    junctions: bool = True
    motorbike_filtering: bool = True
    filter_gain: float = 0.5
    node_lookahead_per_lane: float = 4.0
    conflict_window_s: float = 60.0
    junction_defaults: str = ""
    signal_timings: str = ""

    def __post_init__(self) -> None:
        for name in ("step_s", "refresh_s", "stats_interval_s", "gridlock_s"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value > 0):
                raise ConfigError(
                    f"traffic parameter {name} = {value!r}; expected a number of seconds > 0"
                )
        for name in (
            "depart_jitter_s",
            "emergency_congestion",
            "min_storage_pcu",
            "refresh_abs_change_s",
            "refresh_rel_change",
        ):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and value >= 0):
                raise ConfigError(f"traffic parameter {name} = {value!r}; expected a number >= 0")
        relief = self.block_relief_s
        if not (isinstance(relief, int | float) and relief >= 0):
            raise ConfigError(
                f"traffic parameter block_relief_s = {relief!r}; expected seconds >= 0 (0: off)"
            )
        rows = self.refresh_max_rows
        if not (isinstance(rows, int) and rows >= 0):
            raise ConfigError(
                f"traffic parameter refresh_max_rows = {rows!r}; expected an integer >= 0 "
                "(0: no limit)"
            )
        lag = self.route_lag_s
        if not (isinstance(lag, int | float) and lag >= 0):
            raise ConfigError(
                f"traffic parameter route_lag_s = {lag!r}; expected seconds >= 0 "
                "(0: routes take effect at once)"
            )
        if not (isinstance(self.route_chunk, int) and self.route_chunk >= 1):
            raise ConfigError(
                f"traffic parameter route_chunk = {self.route_chunk!r}; expected an integer >= 1"
            )
        for name in ("kinematic_waves", "junctions", "motorbike_filtering", "route_smoothing"):
            if not isinstance(getattr(self, name), bool | np.bool_):
                raise ConfigError(
                    f"traffic parameter {name} = {getattr(self, name)!r}; expected true or false"
                )
        gain = self.filter_gain
        if not (isinstance(gain, int | float) and 0.0 <= gain < 1.0):
            raise ConfigError(
                f"traffic parameter filter_gain = {gain!r}; expected a number in [0, 1)"
            )
        lookahead = self.node_lookahead_per_lane
        if not (isinstance(lookahead, int | float) and lookahead >= 0):
            raise ConfigError(
                f"traffic parameter node_lookahead_per_lane = {lookahead!r}; expected a "
                "number of vehicles >= 0"
            )
        window = self.conflict_window_s
        if not (isinstance(window, int | float) and window > 0):
            raise ConfigError(
                f"traffic parameter conflict_window_s = {window!r}; expected seconds > 0"
            )
        for name in ("junction_defaults", "signal_timings"):
            if not isinstance(getattr(self, name), str):
                raise ConfigError(
                    f"traffic parameter {name} = {getattr(self, name)!r}; expected the path "
                    'of a CSV file, or "" for none'
                )

    @classmethod
    def from_mapping(cls, values: TrafficParams | Mapping[str, Any] | None) -> TrafficParams:
        """Parameters from a mapping (unknown keys are an error), an instance or ``None``."""
        if values is None:
            return cls()
        if isinstance(values, cls):
            return values
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ConfigError(
                f"unknown traffic parameters {unknown}; expected some of {sorted(known)}"
            )
        return cls(**dict(values))

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (for manifests)."""
        return asdict(self)
