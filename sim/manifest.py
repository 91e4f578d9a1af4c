"""What a run records about itself: ``manifest.json``, the specification plus checksums.

The manifest of a run is its :class:`~sim.spec.RunSpec` (and its digest), with what
identifies the inputs and the code: the city's content checksum and source, a checksum of
the trips that ran, the package version and a checksum of the installed code (read once per
process from the package files: no subprocess, no git). :func:`sim.outputs.write_run` adds
every file's size and checksum and the wall-clock timers.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import UTC, datetime
from importlib import metadata, resources
from typing import Any

import numpy as np
import pandas as pd

from sim.spec import RunSpec
from twin.city import City, city_checksum

__all__ = ["FORMAT", "build_manifest", "code_version", "network_checksum", "trips_checksum"]

#: Identifies a run manifest and the version of its layout.
FORMAT = "hue-twin-run/2"
#: The packages whose source makes up the code version.
_PACKAGES = ("kernels", "twin", "sim", "scenarios", "viz")


def network_checksum(city: City) -> str:
    """SHA-256 (hex) of the drive network's topology and link attributes."""
    net = city.drive
    digest = hashlib.sha256()
    for name in ("node_id", "indptr", "indices", "length", "speed", "lanes", "capacity", "edge_id"):
        array = np.ascontiguousarray(getattr(net, name))
        digest.update(name.encode())
        digest.update(array.dtype.str.encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def trips_checksum(trips: pd.DataFrame) -> str:
    """SHA-256 (hex) of a trips table: ids, ends (drive node positions), departures and
    classes, in table order."""
    digest = hashlib.sha256()
    for column in ("trip_id", "origin", "destination"):
        digest.update(np.ascontiguousarray(trips[column].to_numpy(dtype=np.int64)).tobytes())
    digest.update(np.ascontiguousarray(trips["depart"].to_numpy(dtype=np.float64)).tobytes())
    # the few class names repeated through their codes: iterating an Arrow-backed column
    # value by value costs microseconds each
    codes, names = pd.factorize(trips["vehicle_class"].astype(str), use_na_sentinel=False)
    digest.update("\n".join(np.asarray(names, dtype=object)[codes].tolist()).encode())
    return digest.hexdigest()


@functools.cache
def code_version() -> dict[str, str]:
    """The package version and the SHA-256 of the installed code (every ``.py``, ``.pyx``
    and defaults table of the packages), computed once per process."""
    try:
        version = metadata.version("hue-twin")
    except metadata.PackageNotFoundError:
        version = "unknown"
    digest = hashlib.sha256()
    for package in _PACKAGES:
        try:
            root = resources.files(package)
        except ModuleNotFoundError:
            continue
        for path in sorted(_code_files(root), key=lambda p: str(p)):
            digest.update(str(path.relative_to(root.parent)).encode() + b"\0")
            digest.update(path.read_bytes())
    return {"package": "hue-twin", "version": version, "code_sha256": digest.hexdigest()}


def _code_files(root) -> list:
    out = []
    for item in root.iterdir():
        if item.is_dir() and item.name != "__pycache__":
            out.extend(_code_files(item))
        elif item.suffix in (".py", ".pyx", ".pxd", ".csv", ".toml"):
            out.append(item)
    return out


def build_manifest(spec: RunSpec, city: City, trips: pd.DataFrame | None) -> dict[str, Any]:
    """The run's ``manifest.json``: the specification and its digest, the city's checksums
    and source, the trips' count and checksum, the code version and the creation time."""
    meta = city.meta or {}
    return {
        "format": FORMAT,
        "digest": spec.digest,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "spec": spec.to_dict(),
        "city": {
            "name": city.name,
            "checksum": city_checksum(city),
            "network_sha256": network_checksum(city),
            "source": str(meta.get("source", "")),
            "source_sha256": meta.get("source_sha256"),
            "drive_nodes": int(city.drive.n_nodes),
            "drive_edges": int(city.drive.n_edges),
        },
        "trips": {
            "count": 0 if trips is None else len(trips),
            "sha256": None if trips is None else trips_checksum(trips),
        },
        "code": code_version(),
    }
