"""The KPI registry and the records contract hold every run's outputs."""

from __future__ import annotations

import pyarrow as pa
import pytest

from sim.kpis import DOMAINS, REGISTRY, kpi, long_table, scalar_kpis
from sim.records import SCHEMAS, RecordsError, to_arrow
from sim.runner import run
from sim.spec_builder import build_spec
from twin.synthetic import grid_city

#: Keys of kpis.json that are not indicators: text and lists for people to read.
NOT_INDICATORS = {"gridlock", "notes"}


@pytest.fixture(scope="module")
def day():
    city = grid_city()
    settings = ["emergency.demand.medical_per_1000_residents_per_day=20"]
    return run(city, build_spec(city, seed=2, start="06:00", end="12:00", settings=settings))


def test_every_kpi_a_run_reports_is_registered(day):
    assert day.kpis["incidents_total"] > 0 and day.kpis["visits_total"] > 0
    unknown = set(day.kpis) - set(REGISTRY) - NOT_INDICATORS
    assert not unknown, f"KPIs missing from sim/kpis.py: {sorted(unknown)}"
    missing = set(REGISTRY) - set(day.kpis)
    assert not missing, f"registered KPIs no run reports: {sorted(missing)}"


def test_registry_entries_are_complete():
    for entry in REGISTRY.values():
        assert entry.domain in DOMAINS
        assert entry.better in ("lower", "higher", "neither")
        assert entry.unit and entry.en and entry.vi and entry.en != entry.vi
    assert kpi("co2_kg_by_class.car").name == "co2_kg_by_class"
    with pytest.raises(KeyError, match="did you mean"):
        kpi("mean_speed_kph")


def test_long_table_flattens_breakdowns(day):
    table = long_table(day.kpis)
    assert list(table.columns) == ["kpi", "domain", "unit", "value"]
    values = dict(zip(table["kpi"], table["value"], strict=True))
    assert values["trips_total"] == day.kpis["trips_total"]
    assert values["co2_kg_by_class.car"] == day.kpis["co2_kg_by_class"]["car"]
    assert "gridlock" not in values and "notes" not in scalar_kpis(day.kpis)


def test_tables_follow_the_schemas(day):
    for name, table in day.tables.items():
        arrow = to_arrow(name, table)
        assert arrow.schema.equals(SCHEMAS[name]), name
    assert day.links["edge_id"].isin(grid_city().drive.edge_id).all()
    with pytest.raises(RecordsError, match="lacks the columns"):
        to_arrow("trips", day.trips.drop(columns="delay"))
    assert isinstance(to_arrow("incidents", day.incidents), pa.Table)
