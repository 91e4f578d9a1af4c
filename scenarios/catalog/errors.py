"""Errors of the run catalog; each also derives from the builtin it means."""

from __future__ import annotations

from twin.errors import TwinError

__all__ = [
    "CatalogError",
    "LabelError",
    "QueryError",
    "QueryRefusedError",
    "RunFolderError",
    "UnknownKPIError",
]


class CatalogError(TwinError):
    """Something about the run catalog is wrong (the root of the errors below)."""


class RunFolderError(CatalogError, ValueError):
    """A folder is not a complete run folder: no manifest, or a file it lists is missing or
    of another size."""


class LabelError(CatalogError, ValueError):
    """A label given with a run has a name that cannot be a column, or a value that is not
    a number, text, a boolean or null."""


class QueryError(CatalogError, ValueError):
    """A query is not valid SQL, or names a view or column that does not exist."""


class QueryRefusedError(CatalogError, PermissionError):
    """A query would change something or reach outside the catalog's files."""


class UnknownKPIError(CatalogError, KeyError):
    """A KPI asked for by name is not in the registry (:data:`sim.kpis.REGISTRY`)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
