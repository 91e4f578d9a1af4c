"""Errors raised by the city model and the command line.

Every class derives from :class:`TwinError` and from the builtin it means, so a caller may
catch either. Messages say what was wrong and how to fix it.
"""

from __future__ import annotations

from kernels.errors import KernelInputError, TwinError

__all__ = [
    "BundleError",
    "ConfigError",
    "EmptyNetworkError",
    "GMNSError",
    "KernelInputError",
    "OSMReadError",
    "OfflineError",
    "OutputError",
    "RoadNotFoundError",
    "SourceNotFoundError",
    "TripsError",
    "TwinError",
]


class SourceNotFoundError(TwinError, FileNotFoundError):
    """An input file (OSM extract, GMNS folder, trips, bundle) does not exist."""


class OSMReadError(TwinError, ValueError):
    """An OSM file cannot be read: truncated, not OSM, or an unknown format."""


class EmptyNetworkError(TwinError, ValueError):
    """The input holds no usable (drivable or walkable) road network."""


class GMNSError(TwinError, ValueError):
    """A GMNS network is malformed (missing columns, unknown nodes, bad units)."""


class OfflineError(TwinError, ConnectionError):
    """A download was asked for but the network (Overpass, Nominatim) cannot be reached."""


class BundleError(TwinError, ValueError):
    """A ``.twin`` bundle is missing parts, corrupt or from an incompatible version."""


class ConfigError(TwinError, ValueError):
    """A setting, a defaults table or a parameter file holds a bad value."""


class TripsError(TwinError, ValueError):
    """Trips (synthesised or read from CSV) are malformed or do not fit the city."""


class OutputError(TwinError, FileExistsError):
    """An output path is taken by something the command did not write, is one of its
    inputs, or cannot be written."""


class RoadNotFoundError(TwinError, LookupError):
    """A road named by a user (closure, scenario) is not in the network."""
