"""Reading the small CSV tables of ``twin/defaults`` or a user's replacement for one.

The tables (vehicle classes, extra POIs, attractions…) share one format: UTF-8 CSV, ``#``
starts a comment, blanks after a comma are ignored. :func:`read_defaults_csv` reads the
shipped table or a user's file and checks its required columns, with the project's messages;
each caller then checks its own values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from importlib import resources
from pathlib import Path

import pandas as pd

from twin.errors import ConfigError, SourceNotFoundError

__all__ = ["read_defaults_csv"]


def read_defaults_csv(
    path: str | Path | None,
    *,
    default: str,
    what: str,
    hint: str = "",
    columns: Sequence[str] = (),
    dtype: type | str | Mapping[str, type | str] | None = None,
) -> tuple[pd.DataFrame, str]:
    """Read a commented CSV table: the shipped default or a user's file.

    Parameters
    ----------
    path
        The user's CSV; ``None`` for ``twin/defaults/<default>``.
    default
        File name of the shipped table in ``twin/defaults`` (``"vehicles.csv"``).
    what
        What the table is, for the error when ``path`` does not exist
        (``"vehicle class table"``).
    hint
        Appended to that error to say how to fix it (``"; pass a CSV with columns …"``).
    columns
        Columns the table must have.
    dtype
        Passed to :func:`pandas.read_csv` (``str`` keeps every cell as text).

    Returns
    -------
    ``(table, where)``: the table as read, and the name of its file for later messages
    (``"twin/defaults/vehicles.csv"`` or the path given).

    Raises
    ------
    SourceNotFoundError
        ``path`` does not exist.
    ConfigError
        A column of ``columns`` is missing.
    """
    if path is None:
        source = resources.files("twin") / "defaults" / default
        where = f"twin/defaults/{default}"
    else:
        source = Path(path)
        where = str(source)
        if not source.is_file():
            raise SourceNotFoundError(f"{what} {where} does not exist{hint}")
    with source.open("r", encoding="utf-8") as fh:
        table = pd.read_csv(fh, comment="#", skipinitialspace=True, dtype=dtype)
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ConfigError(f"{where}: missing columns {missing}; expected {list(columns)}")
    return table, where
