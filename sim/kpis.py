"""The KPI registry: every key performance indicator a run reports, with its meaning.

Each :class:`KPI` has a name (its key in ``kpis.json``), the domain that reports it, a unit,
which direction is better (``"lower"``, ``"higher"`` or ``"neither"``) and a one-line
description in English and Vietnamese. The comparison table, the run catalog and the
leaders' report read the registry; a run reports nothing that is not registered (a test
holds the two together).

A *breakdown* KPI is a table of values by a key (CO2 by vehicle class, incidents by kind);
in the long table (:func:`long_table`) each entry is a row ``name.key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

__all__ = ["DOMAINS", "KPI", "REGISTRY", "kpi", "long_table", "scalar_kpis"]

#: Domains of the model, in the order reports list them.
DOMAINS = ("traffic", "tourists", "emergency")


@dataclass(frozen=True)
class KPI:
    """One indicator.

    Attributes
    ----------
    name
        Key in ``kpis.json``.
    domain
        ``"traffic"``, ``"tourists"`` or ``"emergency"``.
    unit
        Unit of the value (``"km/h"``, ``"s"``, ``"share"``, ``"trips"``…).
    better
        ``"lower"``, ``"higher"`` or ``"neither"`` (a count that describes, not judges).
    en, vi
        One-line descriptions in English and Vietnamese.
    breakdown
        The value is a table by a key (``{"motorbike": …, "car": …}``).
    """

    name: str
    domain: str
    unit: str
    better: str
    en: str
    vi: str
    breakdown: bool = False

    def description(self, lang: str = "en") -> str:
        """The description in ``"en"`` or ``"vi"``."""
        return self.vi if lang == "vi" else self.en


def _k(name, domain, unit, better, en, vi, breakdown=False) -> KPI:
    return KPI(name, domain, unit, better, en, vi, breakdown)


_ALL = (
    # -- traffic -----------------------------------------------------------------------
    _k("trips_total", "traffic", "trips", "neither",
       "Vehicle trips of the day's demand in the window",
       "Số chuyến xe của nhu cầu đi lại trong khung giờ"),
    _k("trips_completed", "traffic", "trips", "higher",
       "Vehicle trips that reached their destination",
       "Số chuyến xe đã đến nơi"),
    _k("trips_unfinished", "traffic", "trips", "lower",
       "Vehicle trips still travelling or waiting when the window ended",
       "Số chuyến xe còn đang đi hoặc đang chờ khi hết khung giờ"),
    _k("trips_unroutable", "traffic", "trips", "lower",
       "Vehicle trips that could not reach their destination (no open road)",
       "Số chuyến xe không thể đến nơi (không còn đường thông)"),
    _k("trips_unroutable_by_zone", "traffic", "trips", "lower",
       "Trips that could not reach their destination, by the zone they started in",
       "Số chuyến xe không thể đến nơi, theo khu vực xuất phát", True),
    _k("trips_waiting", "traffic", "trips", "lower",
       "Vehicle trips still waiting to enter the network at the end",
       "Số chuyến xe còn chờ vào mạng lưới đường khi kết thúc"),
    _k("trips_on_network", "traffic", "trips", "lower",
       "Vehicle trips still on the roads at the end",
       "Số chuyến xe còn trên đường khi kết thúc"),
    _k("injected_total", "traffic", "vehicles", "neither",
       "Vehicles sent by tourists and emergency services (taxis, buses, ambulances)",
       "Số xe do du khách và lực lượng cấp cứu điều động (taxi, xe buýt, xe cứu thương)"),
    _k("injected_completed", "traffic", "vehicles", "higher",
       "Of those, vehicles that arrived",
       "Trong số đó, số xe đã đến nơi"),
    _k("vehicle_km", "traffic", "km", "neither",
       "Kilometres driven by all vehicles",
       "Tổng số km các xe đã chạy"),
    _k("vehicle_hours", "traffic", "h", "lower",
       "Hours spent travelling by all vehicles, waiting to enter included",
       "Tổng số giờ các xe đã đi, kể cả thời gian chờ vào đường"),
    _k("mean_speed_kmh", "traffic", "km/h", "higher",
       "Network mean speed: vehicle-km over vehicle-hours",
       "Tốc độ trung bình của mạng lưới: xe-km chia cho xe-giờ"),
    _k("total_delay_h", "traffic", "h", "lower",
       "Hours lost to congestion: travel time beyond free flow, all vehicles",
       "Số giờ mất do ùn tắc: thời gian đi vượt thời gian đường thông thoáng, mọi xe"),
    _k("co2_kg", "traffic", "kg", "lower",
       "Tailpipe CO2 emitted by all vehicles",
       "Lượng CO2 từ khí thải của mọi xe"),
    _k("co2_kg_by_class", "traffic", "kg", "lower",
       "Tailpipe CO2 by vehicle class",
       "Lượng CO2 khí thải theo loại xe", True),
    _k("co2_g_per_km", "traffic", "g/km", "neither",
       "CO2 factor of each vehicle class used for the CO2 figures",
       "Hệ số CO2 của từng loại xe dùng để tính lượng CO2", True),
    _k("link_traversals", "traffic", "traversals", "neither",
       "Links driven through, all vehicles (the engine's work)",
       "Số lượt xe đi qua các đoạn đường (khối lượng tính toán)"),
    _k("forced_entries", "traffic", "vehicles", "lower",
       "Vehicles let into a full link after waiting too long (gridlock relief)",
       "Số xe được cho vào đoạn đường đã đầy sau khi chờ quá lâu (gỡ kẹt)"),
    _k("simulated_until", "traffic", "s", "neither",
       "Clock time the traffic reached (seconds after midnight)",
       "Thời điểm mô phỏng giao thông đạt tới (giây sau nửa đêm)"),
    # -- tourists ----------------------------------------------------------------------
    _k("tourists_total", "tourists", "persons", "neither",
       "Tourists simulated", "Số du khách được mô phỏng"),
    _k("parties_total", "tourists", "parties", "neither",
       "Tourist parties (tour groups and independent parties)",
       "Số đoàn du khách (đoàn tour và nhóm tự túc)"),
    _k("visits_total", "tourists", "visits", "higher",
       "Visits made to tourist sites", "Số lượt tham quan các điểm du lịch"),
    _k("visits_missed", "tourists", "visits", "lower",
       "Planned visits that did not happen",
       "Số lượt tham quan dự định nhưng không thực hiện được"),
    _k("visits_missed_closed", "tourists", "visits", "lower",
       "Missed visits: the site was closed or could not be reached in time",
       "Lượt bị lỡ vì điểm tham quan đóng cửa hoặc không đến kịp"),
    _k("visits_missed_crowded", "tourists", "visits", "lower",
       "Missed visits: the site stayed full beyond the visitors' patience",
       "Lượt bị lỡ vì điểm tham quan quá đông, vượt sức chờ của khách"),
    _k("gate_wait_mean_s", "tourists", "s", "lower",
       "Mean wait at ticket gates", "Thời gian chờ trung bình tại cổng bán vé"),
    _k("gate_wait_p90_s", "tourists", "s", "lower",
       "90th percentile of the wait at ticket gates",
       "Thời gian chờ tại cổng bán vé, phân vị 90"),
    _k("crowd_wait_mean_s", "tourists", "s", "lower",
       "Mean wait for room at full sites", "Thời gian chờ trung bình để vào điểm tham quan đã đầy"),
    _k("travel_time_share", "tourists", "share", "lower",
       "Share of tourists' time spent travelling between places",
       "Tỷ lệ thời gian du khách dành cho việc di chuyển"),
    _k("travel_time_mean_s", "tourists", "s", "lower",
       "Travel time per tourist over the day", "Thời gian di chuyển của mỗi du khách trong ngày"),
    _k("site_time_mean_s", "tourists", "s", "higher",
       "Time at sites per tourist over the day",
       "Thời gian ở các điểm tham quan của mỗi du khách trong ngày"),
    _k("tourist_vehicle_trips", "tourists", "vehicles", "neither",
       "Taxi, motorbike-taxi and tour-bus trips of tourists on the roads",
       "Số chuyến taxi, xe ôm và xe buýt du lịch của du khách trên đường"),
    _k("peak_occupancy_share_max", "tourists", "share", "lower",
       "Highest occupancy of a site against its capacity",
       "Mức lấp đầy cao nhất của một điểm tham quan so với sức chứa"),
    _k("trip_share_walk", "tourists", "share", "neither",
       "Share of tourists' trips on foot", "Tỷ lệ chuyến đi bộ của du khách"),
    _k("trip_share_taxi", "tourists", "share", "neither",
       "Share of tourists' trips by taxi", "Tỷ lệ chuyến đi taxi của du khách"),
    _k("trip_share_xe_om", "tourists", "share", "neither",
       "Share of tourists' trips by motorbike taxi (xe ôm)",
       "Tỷ lệ chuyến đi xe ôm của du khách"),
    _k("trip_share_tour_bus", "tourists", "share", "neither",
       "Share of tourists' trips by tour bus", "Tỷ lệ chuyến đi xe buýt du lịch của du khách"),
    _k("trip_share_boat", "tourists", "share", "neither",
       "Share of tourists' trips by boat on the Perfume River",
       "Tỷ lệ chuyến đi thuyền trên sông Hương của du khách"),
    # -- emergency ---------------------------------------------------------------------
    _k("incidents_total", "emergency", "incidents", "neither",
       "Emergency incidents (medical calls, fires, road crashes)",
       "Số sự cố khẩn cấp (cấp cứu y tế, cháy, tai nạn giao thông)"),
    _k("incidents_by_kind", "emergency", "incidents", "neither",
       "Emergency incidents by kind", "Số sự cố khẩn cấp theo loại", True),
    _k("incidents_reached", "emergency", "incidents", "higher",
       "Incidents a unit reached before the run ended",
       "Số sự cố đã có xe đến hiện trường trước khi kết thúc mô phỏng"),
    _k("incidents_cut_off", "emergency", "incidents", "lower",
       "Incidents no unit could reach: no open road led to the scene",
       "Số sự cố không xe nào đến được vì không còn đường thông tới hiện trường"),
    _k("response_time_mean_s", "emergency", "s", "lower",
       "Mean response time: call to a unit on scene",
       "Thời gian phản ứng trung bình: từ cuộc gọi đến khi xe có mặt tại hiện trường"),
    _k("response_time_median_s", "emergency", "s", "lower",
       "Median response time", "Thời gian phản ứng trung vị"),
    _k("response_time_p90_s", "emergency", "s", "lower",
       "90th percentile of the response time", "Thời gian phản ứng, phân vị 90"),
    _k("share_within_8min", "emergency", "share", "higher",
       "Share of incidents reached within 8 minutes",
       "Tỷ lệ sự cố có xe đến trong vòng 8 phút"),
    _k("share_within_15min", "emergency", "share", "higher",
       "Share of incidents reached within 15 minutes",
       "Tỷ lệ sự cố có xe đến trong vòng 15 phút"),
    _k("calls_waited", "emergency", "calls", "lower",
       "Calls that waited because no unit was free",
       "Số cuộc gọi phải chờ vì không còn xe rảnh"),
    _k("unit_wait_mean_s", "emergency", "s", "lower",
       "Mean wait for a free unit", "Thời gian chờ trung bình để có xe rảnh"),
    _k("units_total", "emergency", "units", "neither",
       "Units in service by type", "Số xe trực theo loại", True),
    _k("unit_utilisation", "emergency", "share", "neither",
       "Share of the time units of each type were busy",
       "Tỷ lệ thời gian bận của xe theo loại", True),
)  # fmt: skip

#: Every KPI by name.
REGISTRY: dict[str, KPI] = {k.name: k for k in _ALL}


def kpi(name: str) -> KPI:
    """The registered KPI ``name`` (``co2_kg_by_class.car`` gives ``co2_kg_by_class``).

    Raises
    ------
    KeyError
        Not registered; the message lists the closest names.
    """
    base = name.split(".", 1)[0]
    if base in REGISTRY:
        return REGISTRY[base]
    import difflib

    close = difflib.get_close_matches(base, list(REGISTRY), n=3)
    raise KeyError(f"no KPI named {name!r}" + (f"; did you mean {close}?" if close else ""))


def scalar_kpis(kpis: Mapping[str, Any]) -> dict[str, float]:
    """The registered numeric values of a KPI dict, breakdowns flattened to ``name.key``;
    values that are not numbers (``None``, text) are left out."""
    out: dict[str, float] = {}
    for name, value in kpis.items():
        if name not in REGISTRY:
            continue
        if REGISTRY[name].breakdown and isinstance(value, Mapping):
            for key, item in value.items():
                if _number(item):
                    out[f"{name}.{key}"] = float(item)
        elif _number(value):
            out[name] = float(value)
    return out


def long_table(kpis: Mapping[str, Any]) -> pd.DataFrame:
    """KPIs as a long table: ``kpi``, ``domain``, ``unit``, ``value`` (NaN stays NaN)."""
    values = scalar_kpis(kpis)
    names = list(values)
    return pd.DataFrame(
        {
            "kpi": pd.Series(names, dtype="string"),
            "domain": pd.Series([kpi(n).domain for n in names], dtype="string"),
            "unit": pd.Series([kpi(n).unit for n in names], dtype="string"),
            "value": pd.Series([values[n] for n in names], dtype="float64"),
        }
    )


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
