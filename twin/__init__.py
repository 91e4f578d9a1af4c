"""The city model: OSM to graph, defaults by road class, POIs, buildings, population,
travel demand, network arrays, the compiled ``.twin`` bundle, settings and errors."""

from __future__ import annotations

from twin.city import City
from twin.errors import TwinError
from twin.network import Network

__all__ = ["City", "Network", "TwinError", "build_city", "default_city", "load_city"]

#: Functions imported on first use, so ``import twin`` stays light (no osmnx, no scipy).
_LAZY = {
    "build_city": "twin.build.pipeline",
    "default_city": "twin.build.pipeline",
    "load_city": "twin.build.pipeline",
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'twin' has no attribute {name!r}")
