"""The city model: OSM to graph, defaults by road class, POIs, buildings, population,
travel demand, network arrays, the compiled ``.twin`` bundle, settings and errors."""

from __future__ import annotations

from twin.city import City
from twin.errors import TwinError
from twin.network import Network

__all__ = ["City", "Network", "TwinError"]
