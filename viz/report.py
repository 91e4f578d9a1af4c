"""The leaders' report: one self-contained HTML file that reads in five minutes, offline.

From a comparison folder it writes what was compared (the scenarios' titles, descriptions
and assumptions, in Vietnamese or English), the KPI table with 95 % intervals and whether
each difference is clear, charts through the day, 3D images (the options side by side, the
difference, the places that change most), the interactive 3D scene and the OpenStreetMap
attribution. Every text that comes from the data (names of places, titles, descriptions) is
escaped by jinja2's autoescape; images are embedded as ``data:`` URIs, so the file needs no
network and no other file.

The KPI descriptions come from the registry of the simulation (``sim.kpis``); this module
does not import it: the caller passes them in as :class:`KPIText` (``twin report`` does).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from twin.city import City
from twin.clock import format_clock
from viz import charts
from viz.errors import ResultsError
from viz.files import atomic_write_text, mark
from viz.html import check_offline, scene_html
from viz.measures import measure, window_mean
from viz.render import Renderer
from viz.results import Results
from viz.scene import Camera
from viz.text import check_lang, say
from viz.views import View, ViewOptions

__all__ = ["KPIText", "report_html", "write_report"]

#: Domains in the order the report lists them.
DOMAINS = ("traffic", "tourists", "emergency")


@dataclass(frozen=True)
class KPIText:
    """What the report says of a KPI: its unit, which way is better, and its description in
    English and Vietnamese (from the KPI registry)."""

    name: str
    domain: str
    unit: str
    better: str
    en: str
    vi: str

    def text(self, lang: str) -> str:
        return self.vi if lang == "vi" else self.en


_WORDS: dict[str, tuple[str, str]] = {
    "title": ("What changes if: {option}", "Điều gì thay đổi nếu: {option}"),
    "subtitle": ("{city}, {window}; {n} paired runs of each scenario, compared with {base}",
                 "{city}, {window}; {n} lần chạy ghép cặp mỗi kịch bản, so với {base}"),
    "compared": ("What was compared", "Những gì được so sánh"),
    "base": ("Base", "Cơ sở"),
    "option": ("Option", "Phương án"),
    "assumptions": ("Assumptions", "Giả định"),
    "findings": ("In short", "Tóm tắt"),
    "no_clear": ("No indicator differs clearly between the option and the base with these runs.",
                 "Với các lần chạy này, không chỉ số nào khác biệt rõ giữa phương án và cơ sở."),
    "better": ("better", "tốt hơn"), "worse": ("worse", "kém hơn"),
    "changed": ("changed", "thay đổi"),
    "finding": ("{kpi}: {base} → {option} {unit} ({diff}), {verdict}",
                "{kpi}: {base} → {option} {unit} ({diff}), {verdict}"),
    "kpis": ("Indicators", "Các chỉ số"),
    "kpis_note": ("Means over the paired runs. The 95 % interval is that of the difference "
                  "(option − base); a difference is clear when its interval leaves out zero.",
                  "Giá trị trung bình của các lần chạy ghép cặp. Khoảng tin cậy 95 % là của "
                  "chênh lệch (phương án − cơ sở); chênh lệch là rõ ràng khi khoảng không chứa 0."),
    "col_kpi": ("Indicator", "Chỉ số"), "col_unit": ("Unit", "Đơn vị"),
    "col_diff": ("Difference", "Chênh lệch"), "col_ci": ("95 % interval", "Khoảng tin cậy 95 %"),
    "col_verdict": ("Verdict", "Đánh giá"),
    "clear_better": ("clearly better", "tốt hơn rõ rệt"),
    "clear_worse": ("clearly worse", "kém hơn rõ rệt"),
    "clear_changed": ("clearly changed", "thay đổi rõ rệt"),
    "unclear": ("unclear", "chưa rõ"),
    "domain_traffic": ("Traffic", "Giao thông"), "domain_tourists": ("Tourists", "Du khách"),
    "domain_emergency": ("Emergency response", "Cấp cứu, cứu hỏa"),
    "day": ("Through the day", "Diễn biến trong ngày"),
    "speed": ("Network mean speed", "Tốc độ trung bình của mạng lưới"),
    "delay": ("Mean delay per trip, by departure time",
              "Thời gian chậm trễ trung bình mỗi chuyến, theo giờ khởi hành"),
    "gate": ("Mean wait at ticket gates, by arrival time",
             "Thời gian chờ trung bình tại cổng bán vé, theo giờ đến"),
    "response": ("Mean emergency response time, by call time",
                 "Thời gian phản ứng cấp cứu trung bình, theo giờ gọi"),
    "kmh": ("km/h", "km/h"), "minutes": ("minutes", "phút"),
    "hour": ("time of day", "giờ trong ngày"),
    "nodata": ("nothing recorded", "không có dữ liệu"),
    "sites": ("Tourist sites", "Các điểm tham quan"),
    "col_site": ("Site", "Điểm tham quan"),
    "col_visits": ("Visits per run", "Lượt tham quan mỗi lần chạy"),
    "col_wait": ("Mean gate wait (min)", "Chờ tại cổng trung bình (phút)"),
    "views": ("The city in 3D", "Thành phố trong không gian 3D"),
    "side_by_side": ("Side by side at {clock}: roads coloured by {what}",
                     "Đặt cạnh nhau lúc {clock}: đường tô màu theo {what}"),
    "difference_view": ("Where it changes, over the whole window: {what}",
                        "Nơi thay đổi, trong cả khung giờ: {what}"),
    "places": ("The places that change most", "Những nơi thay đổi nhiều nhất"),
    "place": ("{name}: {diff:+,.0f} vehicles per 15 minutes on the road here (option − base)",
              "{name}: {diff:+,.0f} xe mỗi 15 phút trên đoạn đường này (phương án − cơ sở)"),
    "unnamed": ("an unnamed road", "một con đường không tên"),
    "scene": ("Turn the city yourself", "Tự xoay, phóng to thành phố"),
    "scene_note": ("Drag to turn, scroll to zoom. The difference over the whole window; works "
                   "offline in this file.",
                   "Kéo để xoay, cuộn để phóng to. Chênh lệch trong cả khung giờ; hoạt động "
                   "không cần mạng, ngay trong tệp này."),
    "method": ("How to read this", "Cách đọc báo cáo"),
    "method_text": ("Each scenario was simulated {n} times with the same random numbers on both "
                    "sides (common random numbers), so that the differences come from the option, "
                    "not from chance. The runs record when ambulances leave and arrive, not the "
                    "roads they take: the views draw each on the fastest road at the speeds the "
                    "run measured when it left, where the share of its travel time gone puts it. "
                    "Roads a scenario builds are drawn straight between their ends, outlined "
                    "in black and named; a closed road is black, and has a black stripe when "
                    "closed to some vehicles only (a flood). Tourists are shown at the sites, "
                    "not between them.",
                    "Mỗi kịch bản được mô phỏng {n} lần với cùng các số ngẫu nhiên ở cả hai bên "
                    "(số ngẫu nhiên chung), để chênh lệch đến từ phương án chứ không do may rủi. "
                    "Lượt chạy ghi lúc xe cứu thương xuất phát và đến nơi, không ghi đường đi: "
                    "hình ảnh vẽ mỗi xe trên đường nhanh nhất theo tốc độ đo được lúc xe xuất "
                    "phát, tại vị trí ứng với phần thời gian đã đi. Đường mới của kịch bản được "
                    "vẽ thẳng giữa hai đầu, viền đen và ghi tên; đường bị cấm tô đen, có sọc "
                    "đen khi chỉ cấm một số loại xe (ngập). Du khách được thể hiện tại "
                    "các điểm tham quan, không phải trên đường đi."),
    "made": ("Made by Huế Twin on {date}.", "Được tạo bởi Huế Twin ngày {date}."),
    "osm": ("Map data © OpenStreetMap contributors, under the Open Database License (ODbL 1.0).",
            "Dữ liệu bản đồ © những người đóng góp OpenStreetMap, theo Giấy phép Cơ sở dữ liệu "
            "Mở (ODbL 1.0)."),
    "lang_name": ("en", "vi"),
}  # fmt: skip


#: Units of the KPI registry in Vietnamese.
UNITS_VI = {
    "trips": "chuyến", "vehicles": "xe", "h": "giờ", "s": "giây", "share": "tỷ lệ",
    "persons": "người", "parties": "đoàn", "visits": "lượt", "incidents": "sự cố",
    "calls": "cuộc gọi", "units": "xe", "traversals": "lượt",
}  # fmt: skip


def _unit(unit: str, lang: str) -> str:
    return UNITS_VI.get(unit, unit) if lang == "vi" else unit


def _w(key: str, lang: str, **values) -> str:
    en, vi = _WORDS[key]
    return (vi if lang == "vi" else en).format(**values)


def _number(value: float, *, sign: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    magnitude = abs(value)
    digits = 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2 if magnitude >= 0.1 else 3
    return f"{value:{'+' if sign else ''},.{digits}f}"


def _png_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def _verdict(row, better: str, lang: str) -> tuple[str, str]:
    """Text and CSS class of a KPI row's verdict."""
    if not bool(row["clear"]):
        return _w("unclear", lang), "unclear"
    up = float(row["diff_mean"]) > 0
    if better == "neither":
        return _w("clear_changed", lang), "changed"
    good = up == (better == "higher")
    return (_w("clear_better", lang), "better") if good else (_w("clear_worse", lang), "worse")


def _kpi_rows(table: pd.DataFrame, texts: Mapping[str, KPIText], option: str, lang: str):
    """The judged, non-breakdown KPIs of one option, by domain."""
    rows = table[(table["scenario"] == option) & ~table["kpi"].str.contains(".", regex=False)]
    out: dict[str, list[dict]] = {d: [] for d in DOMAINS}
    for _, row in rows.iterrows():
        info = texts.get(row["kpi"])
        better = info.better if info else str(row.get("better", "neither"))
        if better == "neither" or row["domain"] not in out:
            continue
        verdict, css = _verdict(row, better, lang)
        out[row["domain"]].append(
            {
                "name": row["kpi"],
                "text": info.text(lang) if info else row["kpi"],
                "unit": _unit(str(row["unit"]), lang),
                "base": _number(row["base_mean"]),
                "option": _number(row["option_mean"]),
                "diff": _number(row["diff_mean"], sign=True),
                "ci": f"{_number(row['ci_low'], sign=True)} … {_number(row['ci_high'], sign=True)}",
                "verdict": verdict,
                "css": css,
            }
        )
    return [(_w(f"domain_{d}", lang), out[d]) for d in DOMAINS if out[d]]


def _findings(domains, lang: str) -> list[str]:
    found = []
    for _, rows in domains:
        for row in rows:
            if row["css"] in ("better", "worse"):
                verdict = _w("better" if row["css"] == "better" else "worse", lang)
                found.append((row["css"] == "worse", _w(
                    "finding", lang, kpi=row["text"], base=row["base"], option=row["option"],
                    unit=row["unit"], diff=row["diff"], verdict=verdict)))  # fmt: skip
    found.sort(key=lambda item: not item[0])  # what gets worse first
    return [text for _, text in found[:8]]


def _sites(city: City, sides, n: int = 8) -> list[dict]:
    """The ``n`` most visited sites: visits per run and mean gate wait, base and option.
    A site is named by its POI's name in the city (OSM's, in Vietnamese for Huế), else by
    the attraction table's name."""
    base, option = sides[0], sides[1]
    poi_names = city.pois.drop_duplicates("poi_id").set_index("poi_id")["name"].astype(str)

    def stats(side):
        visits = side.visits
        if not len(visits) or "site" not in visits.columns:
            return pd.DataFrame(columns=["visits", "wait"])
        done = visits[~visits["missed"].astype(bool)]
        names = done["poi_id"].map(poi_names) if "poi_id" in done else done["site"]
        done = done.assign(place=names.fillna(done["site"]).replace("", np.nan))
        done = done.assign(place=done["place"].fillna(done["site"]))
        grouped = done.groupby("place")
        return pd.DataFrame(
            {
                "visits": grouped.size() / max(side.replications, 1),
                "wait": grouped["gate_wait"].mean() / 60.0,
            }
        )

    b, o = stats(base), stats(option)
    both = pd.merge(b, o, how="outer", left_index=True, right_index=True,
                    suffixes=("_base", "_option"))  # fmt: skip
    both = both.sort_values("visits_base", ascending=False).head(n)
    return [
        {
            "name": str(name),
            "visits_base": _number(row["visits_base"]),
            "visits_option": _number(row["visits_option"]),
            "wait_base": _number(row["wait_base"]),
            "wait_option": _number(row["wait_option"]),
        }
        for name, row in both.iterrows()
    ]


def _places(view: View, city: City, lang: str, n: int = 3) -> list[tuple[str, Camera, float]]:
    """The ``n`` places where the most vehicles change roads (option − base, window mean of
    vehicles entering), at least 1.5 km apart: a name, a camera and the change."""
    entries = measure("entries")
    roads = view.roads
    base = view.road_series(entries, view.sides[0])
    option = view.road_series(entries, view.sides[1])
    change = window_mean(entries, option) - window_mean(entries, base)
    order = np.argsort(-np.abs(np.nan_to_num(change)))
    city_lines = view.meshes.shapes.drive
    added_lines = roads.lines(np.arange(roads.n_city, len(roads.edge_ids)))
    chosen: list[tuple[str, Camera, float]] = []
    spots: list[np.ndarray] = []
    for e in order[:2000]:
        if not np.isfinite(change[e]) or change[e] == 0:
            break
        e = int(e)
        if e < roads.n_city:
            middle, name = city_lines.line(e).mean(axis=0), str(city.drive.name[e])
        else:
            k = e - roads.n_city
            middle, name = added_lines.line(k).mean(axis=0), roads.added[k].name
        if any(np.hypot(*(middle - s)) < 1500.0 for s in spots):
            continue
        spots.append(middle)
        name = name or _w("unnamed", lang)
        place = Camera("place", (float(middle[0]), float(middle[1])), 1800.0, elevation=60.0)
        chosen.append((name, place, change[e]))
        if len(chosen) == n:
            break
    return chosen


def _render(view: View, scenes, camera: Camera, size: tuple[int, int], *, key=True) -> bytes:
    import io

    from PIL import Image

    with Renderer(scenes, camera, lang=view.lang, window_size=size, key=key) as renderer:
        image = renderer.image()
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _window_scenes(view: View):
    """The difference view's scenes with each road's mean over the whole window."""
    scenes = view.scenes(view.index_at(view.options.at))
    m = view.measure
    panel = np.vstack([window_mean(m, p)[None, :] for p in view.panels])
    for scene, values in zip(scenes, panel, strict=True):
        for name in ("roads", "new_roads"):
            roads = scene.layer(name)
            if roads is not None:
                roads.mesh.cell_data["value"] = values[roads.mesh.cell_data["edge"]]
        scene.clock = say("window", view.lang, start=format_clock(view.window[0])[:5],
                          end=format_clock(view.window[1])[:5])  # fmt: skip
    return scenes


def report_html(
    city: City,
    results: Results,
    *,
    lang: str = "en",
    kpi_text: Mapping[str, KPIText] | None = None,
    color: str = "speed_ratio",
    progress: Callable[[str], None] | None = None,
) -> str:
    """The report of a comparison as one HTML page (see the module docstring).

    Parameters
    ----------
    city
        The city the comparison ran on.
    results
        A comparison (:func:`viz.results.load_results` of its folder).
    lang
        ``"en"`` or ``"vi"``: every word of the report.
    kpi_text
        Descriptions of the KPIs by name (from the KPI registry); a KPI without one is
        named by its key.
    color
        Road measure of the side-by-side images.
    progress
        Called with a short description as each part starts.

    Raises
    ------
    ResultsError
        ``results`` is not a comparison.
    """
    import jinja2

    lang = check_lang(lang)
    say_ = progress or (lambda _stage: None)
    if results.comparison is None or results.kpis is None:
        raise ResultsError(
            "a report is made from a comparison: give a comparison folder (twin compare -o DIR), "
            "or two scenarios (twin report BASE OPTION -o report.html)"
        )
    texts = dict(kpi_text or {})
    summary = results.comparison
    base_side, options = results.sides[0], results.sides[1:]
    first = options[0]
    say_("tables")
    table = results.kpis
    per_option = [
        {"title": o.text("title", lang), "domains": _kpi_rows(table, texts, o.name, lang)}
        for o in options
    ]
    findings = _findings(per_option[0]["domains"], lang)

    say_("charts")
    n = int(summary.get("replications", base_side.replications))
    folder = results.folder
    run_folders = {
        item["name"]: [folder / r for r in item.get("runs", [])]
        for item in [summary["base"], *summary["options"]]
    }
    chart_list = []
    sides = results.sides
    label = {s.name: s.text("title", lang) for s in sides}

    def series(fn) -> list[charts.Series]:
        return [charts.Series(label[s.name], *fn(s)) for s in sides]

    width = charts.bin_seconds(base_side.window)
    for key, fn, unit in (
        ("speed", lambda s: charts.speed_by_interval(s, city.drive), "kmh"),
        ("delay", lambda s: charts.delay_by_time(run_folders.get(s.name, []), width), "minutes"),
        ("gate", lambda s: charts.gate_wait_by_time(s, width), "minutes"),
        ("response", lambda s: charts.response_by_time(s, width), "minutes"),
    ):
        png = charts.chart_png(
            series(fn), title=_w(key, lang), ylabel=_w(unit, lang), xlabel=_w("hour", lang),
            empty=_w("nodata", lang),
        )  # fmt: skip
        chart_list.append({"title": _w(key, lang), "src": _png_uri(png)})

    say_("3D views")
    sides_view = View(city, results, ViewOptions(color=color, lang=lang), check_city=False)
    at = sides_view.busiest()
    scenes = sides_view.scenes(at)
    side_png = _render(sides_view, scenes, sides_view.camera, (900 * min(len(scenes), 2), 760))
    diff_options = ViewOptions(color="entries", diff=True, lang=lang, zones=None)
    diff_view = View(city, results, diff_options, check_city=False)
    diff_scenes = _window_scenes(diff_view)
    diff_png = _render(diff_view, diff_scenes[:1], diff_view.camera, (1400, 900))
    places = []
    for name, cam, change in _places(diff_view, city, lang):
        near = View(city, results, replace(diff_options, camera=cam), check_city=False)
        png = _render(near, _window_scenes(near)[:1], cam, (900, 620), key=False)
        places.append({"text": _w("place", lang, name=name, diff=change), "src": _png_uri(png)})

    say_("interactive scene")
    with Renderer(diff_scenes[:1], diff_view.camera, lang=lang, window_size=(1200, 800)) as ren:
        scene_page = scene_html(ren, diff_scenes[:1], lang=lang)

    say_("page")
    window = f"{format_clock(base_side.window[0])[:5]}–{format_clock(base_side.window[1])[:5]}"
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("viz", "templates"),
        autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
        undefined=jinja2.StrictUndefined,
    )
    page = env.get_template("report.html.j2").render(
        lang=lang,
        w=lambda key, **values: _w(key, lang, **values),
        title=_w("title", lang, option=first.text("title", lang)),
        subtitle=_w(
            "subtitle", lang, city=city.name, window=window, n=n, base=base_side.text("title", lang)
        ),
        scenarios=[
            {
                "role": _w("base" if k == 0 else "option", lang),
                "title": s.text("title", lang),
                "description": s.text("description", lang),
                "assumptions": s.text("assumptions", lang),
            }
            for k, s in enumerate(sides)
        ],
        findings=findings,
        options=per_option,
        sites=_sites(city, sides),
        charts=chart_list,
        side_src=_png_uri(side_png),
        side_caption=_w(
            "side_by_side", lang, clock=scenes[0].clock, what=sides_view.measure.label(lang)
        ),
        diff_src=_png_uri(diff_png),
        diff_caption=_w("difference_view", lang, what=diff_view.legend),
        key=diff_scenes[0].key,
        places=places,
        scene=scene_page,
        method=_w("method_text", lang, n=n),
        made=_w("made", lang, date=datetime.now(UTC).date().isoformat()),
        generator=mark("report"),
    )
    check_offline(page)  # the scene is in an escaped srcdoc; it was checked on its own
    return page


def write_report(
    city: City,
    results: Results,
    path: str | Path,
    *,
    lang: str = "en",
    kpi_text: Mapping[str, KPIText] | None = None,
    color: str = "speed_ratio",
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write :func:`report_html` to ``path``, atomically."""
    page = report_html(city, results, lang=lang, kpi_text=kpi_text, color=color, progress=progress)
    return atomic_write_text(Path(path), page)


def kpi_text_of(registry: Mapping[str, object]) -> dict[str, KPIText]:
    """:class:`KPIText` of every entry of a KPI registry (objects with ``name``, ``domain``,
    ``unit``, ``better``, ``en`` and ``vi``)."""
    return {
        name: KPIText(k.name, k.domain, k.unit, k.better, k.en, k.vi)  # type: ignore[attr-defined]
        for name, k in registry.items()
    }
