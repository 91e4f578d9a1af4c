"""Charts through the day for the report: base and option by hour, as PNG bytes.

Each series is computed from the run tables of every replication (means over them) or, for
road speeds, from the comparison's per-link means:

- **speed**: network mean speed per 15 minutes, distance-weighted over the links vehicles
  entered (km/h);
- **delay**: mean delay over free flow of the vehicle trips departing in each hour (min);
- **gate wait**: mean wait at ticket gates of the visits arriving in each hour (min);
- **response**: mean response time of the incidents called in each hour (min).

A window of six hours or less is charted by 15 minutes instead of hours.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from twin.network import Network
from viz.render import font_file
from viz.results import INTERVAL_S, Side

__all__ = [
    "Series",
    "bin_seconds",
    "chart_png",
    "delay_by_time",
    "gate_wait_by_time",
    "response_by_time",
    "speed_by_interval",
]


@dataclass(frozen=True)
class Series:
    """Values through the day: ``x`` (hours after midnight) and ``y``, with a label."""

    label: str
    x: np.ndarray
    y: np.ndarray


def speed_by_interval(side: Side, network: Network) -> tuple[np.ndarray, np.ndarray]:
    """Hours and network mean speed (km/h) per 15-minute interval."""
    links = side.links
    edge = pd.Index(network.edge_id).get_indexer(links["edge_id"].to_numpy())
    ok = (edge >= 0) & np.isfinite(links["mean_speed_kmh"].to_numpy(float))
    ok &= links["mean_speed_kmh"].to_numpy(float) > 0
    frame = links.loc[ok]
    km = frame["entries"].to_numpy(float) * network.length[edge[ok]] / 1000.0
    hours = km / frame["mean_speed_kmh"].to_numpy(float)
    sums = pd.DataFrame({"t": frame["interval_start"].to_numpy(float), "km": km, "h": hours})
    sums = sums.groupby("t").sum()
    speed = (sums["km"] / sums["h"].where(sums["h"] > 0)).sort_index()
    return (speed.index.to_numpy(float) + INTERVAL_S / 2) / 3600.0, speed.to_numpy(float)


def bin_seconds(window: tuple[float, float]) -> float:
    """Width of a chart's time bins: an hour, or 15 minutes for a window of 6 hours or less."""
    return INTERVAL_S if window[1] - window[0] <= 6 * 3600 else 3600.0


def _binned(times: np.ndarray, values: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Mean of ``values`` per bin of ``times`` (bins ``width`` seconds): bin middles in hours."""
    ok = np.isfinite(times) & np.isfinite(values)
    if not ok.any():
        return np.zeros(0), np.zeros(0)
    frame = pd.DataFrame({"b": np.floor(times[ok] / width), "v": values[ok]})
    means = frame.groupby("b")["v"].mean()
    return (means.index.to_numpy(float) + 0.5) * width / 3600.0, means.to_numpy(float)


def delay_by_time(
    run_folders: Sequence[Path], width: float = 3600.0
) -> tuple[np.ndarray, np.ndarray]:
    """Hours and mean trip delay (minutes) by departure time (bins of ``width`` seconds),
    over the runs' trips."""
    parts = []
    for folder in run_folders:
        path = Path(folder) / "trips.parquet"
        if path.is_file():
            parts.append(pd.read_parquet(path, columns=["depart", "delay"]))
    if not parts:
        return np.zeros(0), np.zeros(0)
    trips = pd.concat(parts, ignore_index=True)
    delay = trips["delay"].to_numpy(float) / 60.0
    return _binned(trips["depart"].to_numpy(float), delay, width)


def gate_wait_by_time(side: Side, width: float = 3600.0) -> tuple[np.ndarray, np.ndarray]:
    """Hours and mean ticket-gate wait (minutes) by arrival time (bins of ``width`` s)."""
    visits = side.visits
    if not len(visits):
        return np.zeros(0), np.zeros(0)
    done = visits[~visits["missed"].astype(bool)]
    wait = done["gate_wait"].to_numpy(float) / 60.0
    return _binned(done["arrive"].to_numpy(float), wait, width)


def response_by_time(side: Side, width: float = 3600.0) -> tuple[np.ndarray, np.ndarray]:
    """Hours and mean response time (minutes) by call time (bins of ``width`` seconds)."""
    incidents = side.incidents
    if not len(incidents):
        return np.zeros(0), np.zeros(0)
    response = incidents["response_time"].to_numpy(float) / 60.0
    return _binned(incidents["call"].to_numpy(float), response, width)


def chart_png(
    series: Sequence[Series], *, title: str, ylabel: str, xlabel: str, empty: str
) -> bytes:
    """A line chart of ``series`` (hours on x) as PNG bytes; ``empty`` is written on it when
    no series has a value."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib import font_manager
    from matplotlib.figure import Figure

    font_manager.fontManager.addfont(font_file())
    figure = Figure(figsize=(6.4, 3.4), dpi=110)
    ax = figure.add_subplot()
    styles = ["-", "--", ":", "-."]
    colours = ["#1f5fbf", "#d95f02", "#1b9e77", "#7570b3"]
    drawn = False
    for k, s in enumerate(series):
        if len(s.x):
            ax.plot(s.x, s.y, styles[k % 4], color=colours[k % 4], marker="o", markersize=3,
                    linewidth=1.8, label=s.label)  # fmt: skip
            drawn = True
    if drawn:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.28), ncol=2, fontsize=8,
                  frameon=False)  # fmt: skip
        lo = math.floor(min(float(s.x.min()) for s in series if len(s.x)))
        hi = math.ceil(max(float(s.x.max()) for s in series if len(s.x)))
        step = 0.25 if hi - lo <= 2 else 1 if hi - lo <= 8 else max(1, (hi - lo) // 8)
        ticks = np.arange(lo, hi + step / 2, step)
        ax.set_xticks(ticks, [f"{int(h) % 48:02d}:{round(h % 1 * 60):02d}" for h in ticks])
        ax.set_ylim(bottom=0)
    else:
        ax.text(0.5, 0.5, empty, ha="center", va="center", transform=ax.transAxes, fontsize=10)
        ax.set_xticks([])
    ax.set_title(title, fontsize=11, family="DejaVu Sans")
    ax.set_ylabel(ylabel, fontsize=9, family="DejaVu Sans")
    ax.set_xlabel(xlabel, fontsize=9, family="DejaVu Sans")
    ax.grid(alpha=0.3)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
