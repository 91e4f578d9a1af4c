"""What a run records about itself: ``manifest.json`` and the checksums in it.

:func:`build_manifest` describes a run of :func:`sim.runner.run_day` well enough to reproduce
or identify it: the city and a checksum of its drive network, the seed, the window, the
parameters, the closures, the trips (with a checksum) and the code version.
"""

from __future__ import annotations

import hashlib
import math
import subprocess
from collections.abc import Mapping
from dataclasses import asdict, is_dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.city import City

__all__ = [
    "build_manifest",
    "clock_text",
    "code_version",
    "network_checksum",
    "param_record",
    "plain",
    "trips_checksum",
]


def param_record(value: Any) -> Any:
    """Overrides as the manifest records them (JSON-friendly)."""
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return plain(dict(value))
    if is_dataclass(value) and not isinstance(value, type):
        return plain(asdict(value))
    return str(value)


def plain(value: Any) -> Any:
    """numpy scalars and containers → built-in types (for JSON)."""
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value


def clock_text(seconds: float) -> str:
    """Seconds after midnight as ``HH:MM:SS`` (hours past 24 for the next day)."""
    seconds = float(seconds)
    if not math.isfinite(seconds):
        return str(seconds)
    h, rem = divmod(round(seconds), 3600)
    return f"{h:02d}:{rem // 60:02d}:{rem % 60:02d}"


def network_checksum(city: City) -> str:
    """sha256 of the drive network's topology and link attributes (hex)."""
    net = city.drive
    digest = hashlib.sha256()
    for name in ("node_id", "indptr", "indices", "length", "speed", "lanes", "capacity"):
        array = np.ascontiguousarray(getattr(net, name))
        digest.update(name.encode())
        digest.update(array.dtype.str.encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def trips_checksum(trips: pd.DataFrame) -> str:
    """sha256 of a trips table's departures, ends and classes (hex), to identify demand."""
    digest = hashlib.sha256()
    for column in ("origin", "destination", "depart"):
        digest.update(np.ascontiguousarray(trips[column].to_numpy(dtype=np.float64)).tobytes())
    digest.update("\n".join(trips["vehicle_class"].astype(str)).encode())
    return digest.hexdigest()


def code_version() -> dict[str, Any]:
    """Package version and, when run from a git checkout, the commit and whether it is dirty."""
    try:
        version = metadata.version("hue-twin")
    except metadata.PackageNotFoundError:
        version = "unknown"
    info: dict[str, Any] = {"package": "hue-twin", "version": version}
    repo = Path(__file__).resolve().parents[1]
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=5
        )
        if commit.returncode == 0:
            info["git_commit"] = commit.stdout.strip()
            status = subprocess.run(
                ["git", "status", "--porcelain", "--untracked-files=no"],
                cwd=repo,
                capture_output=True,
                text=True,
                timeout=10,
            )
            if status.returncode == 0:
                info["git_dirty"] = bool(status.stdout.strip())
    except (OSError, subprocess.SubprocessError):
        pass
    return info


def build_manifest(
    city: City,
    trips: pd.DataFrame,
    *,
    seed: int,
    start: float,
    end: float,
    scale: float,
    tourists: bool,
    emergency: bool,
    params: dict,
    closures: list,
    trips_source: str,
    vehicles: pd.DataFrame,
) -> dict[str, Any]:
    """The run's ``manifest.json``: city and network checksums, seed, window, parts run,
    parameters, closures, the trips' source and checksum, vehicle classes and code version.

    Times are seconds after midnight; ``params`` maps each part to its recorded overrides
    (:func:`param_record`).
    """
    meta = city.meta or {}
    return {
        "format": "hue-twin-run/1",
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "city": {
            "name": city.name,
            "source": str(meta.get("source", "")),
            "source_sha256": meta.get("source_sha256"),
            "bundle_sha256": meta.get("bundle_sha256", meta.get("checksum")),
            "network_sha256": network_checksum(city),
            "drive_nodes": int(city.drive.n_nodes),
            "drive_edges": int(city.drive.n_edges),
        },
        "seed": plain(seed),
        "window": {
            "start": start,
            "end": end,
            "start_clock": clock_text(start),
            "end_clock": clock_text(end),
        },
        "parts": {"traffic": True, "tourists": bool(tourists), "emergency": bool(emergency)},
        "parameters": plain({**params, "scale": scale}),
        "closures": [{"edges": [int(e) for e in edges], "at": at} for edges, at in closures],
        "trips": {
            "source": trips_source,
            "count": len(trips),
            "sha256": trips_checksum(trips),
        },
        "vehicles": plain(vehicles.reset_index().to_dict(orient="list")),
        "code": code_version(),
    }
