"""Vehicle classes: passenger-car units, speed factors, CO2 factors and default shares."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from twin.errors import ConfigError
from twin.tables import read_defaults_csv

COLUMNS = ("vehicle_class", "share", "pcu", "speed_factor", "co2_g_per_km")


def load_vehicle_classes(path: str | Path | None = None) -> pd.DataFrame:
    """The vehicle class table, indexed by ``vehicle_class``.

    Parameters
    ----------
    path
        A CSV with the columns of ``twin/defaults/vehicles.csv``; ``None`` for the defaults.

    Returns
    -------
    DataFrame with ``share`` (fraction of trips), ``pcu`` (passenger-car units),
    ``speed_factor`` (over the road's free-flow speed) and ``co2_g_per_km``.
    """
    table, where = read_defaults_csv(
        path, default="vehicles.csv", what="vehicle class table", columns=COLUMNS
    )
    return _checked(table.set_index("vehicle_class"), where)


def vehicle_table(rows: list[Mapping[str, Any]], *, where: str) -> pd.DataFrame:
    """The vehicle class table from rows (one mapping per class with the keys of
    :data:`COLUMNS`), checked as :func:`load_vehicle_classes` checks a file."""
    table = pd.DataFrame(list(rows))
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing or table.empty:
        raise ConfigError(
            f"{where}: vehicle classes need the keys {list(COLUMNS)}; missing {missing}"
        )
    if table["vehicle_class"].duplicated().any():
        raise ConfigError(f"{where}: vehicle classes are named twice; give each name once")
    return _checked(table.loc[:, list(COLUMNS)].set_index("vehicle_class"), where)


def _checked(table: pd.DataFrame, where: str) -> pd.DataFrame:
    for column in ("pcu", "speed_factor"):
        bad = table.index[~(table[column] > 0)].tolist()
        if bad:
            raise ConfigError(
                f"{where}: {column} must be a positive number; classes {bad} have "
                f"{table.loc[bad, column].tolist()}. Give every class a {column} above 0"
            )
    if (table["share"] < 0).any() or not np.isclose(table["share"].sum(), 1.0):
        raise ConfigError(
            f"{where}: shares must be non-negative and sum to 1 (they sum to "
            f"{table['share'].sum():.3f}); rescale the share column"
        )
    return table
