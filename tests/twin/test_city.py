"""The column contracts of twin/city.py match the tables its docstring documents."""

from __future__ import annotations

import re

import pytest

import twin.city
from twin.city import (
    BUILDING_CONTRACT_COLUMNS,
    POI_CONTRACT_COLUMNS,
    POI_PLACE_COLUMNS,
    ZONE_CONTRACT_COLUMNS,
)


def _documented_columns(table: str) -> list[str]:
    """The ``column`` names of one table's paragraph in the module docstring, in order
    (quoted values such as ``"osm"`` are not columns)."""
    doc = twin.city.__doc__
    match = re.search(rf"^``{table}``\n((?:    .*\n)+)", doc, flags=re.MULTILINE)
    assert match, f"twin/city.py documents no {table} table"
    return [n for n in re.findall(r"``([^`]+)``", match.group(1)) if not n.startswith('"')]


@pytest.mark.parametrize(
    ("table", "columns"),
    [
        ("pois", POI_CONTRACT_COLUMNS),
        ("buildings", BUILDING_CONTRACT_COLUMNS),
        ("zones", ZONE_CONTRACT_COLUMNS),
    ],
)
def test_contract_columns_are_the_documented_ones(table, columns):
    assert list(columns) == _documented_columns(table)


def test_the_place_columns_lead_the_poi_contract():
    assert POI_CONTRACT_COLUMNS[: len(POI_PLACE_COLUMNS)] == POI_PLACE_COLUMNS
    assert len(POI_CONTRACT_COLUMNS) == 12 and len(set(POI_CONTRACT_COLUMNS)) == 12
