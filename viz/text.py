"""The words of the view and the report, in English and Vietnamese."""

from __future__ import annotations

from viz.errors import VizError

__all__ = ["LANGUAGES", "check_lang", "say"]

#: Languages of the view and the report.
LANGUAGES = ("en", "vi")

_TEXT: dict[str, tuple[str, str]] = {
    # key: (English, Vietnamese)
    "attribution": ("© OpenStreetMap contributors (ODbL)",
                    "© Những người đóng góp OpenStreetMap (ODbL)"),
    "difference": ("{option} − {base}", "{option} − {base}"),
    "difference_of": ("Difference (option − base): {what}",
                      "Chênh lệch (phương án − cơ sở): {what}"),
    "better_worse": ("blue: better · red: worse", "xanh: tốt hơn · đỏ: kém hơn"),
    "more_less": ("blue: more · red: fewer", "xanh: nhiều hơn · đỏ: ít hơn"),
    "no_traffic": ("grey: no vehicle measured", "xám: không có xe để đo"),
    "crowding": ("columns: tourists at a site, {m:g} m = {n:g} persons",
                 "cột: du khách tại điểm tham quan, {m:g} m = {n:g} người"),
    "emergency": ("red: incidents open · orange: units on the way (route and place estimated)",
                  "đỏ: sự cố đang xử lý · cam: xe đang đến (lộ trình và vị trí ước tính)"),
    "new_roads": ("outlined in black: roads the scenario adds",
                  "viền đen: đường mới của kịch bản"),
    "new_road": ("new: {name}", "mới: {name}"),
    "new_road_open": ("new: {name}, open {start}–{end}", "mới: {name}, thông xe {start}–{end}"),
    "closed": ("black: road closed to all · black stripe: closed to some vehicles (flood)",
               "đen: đường cấm mọi xe · sọc đen: cấm một số loại xe (ngập)"),
    "stations": ("blue columns: ambulance stations, red: fire stations (height: units)",
                 "cột xanh: trạm cấp cứu, đỏ: trạm cứu hỏa (chiều cao: số xe)"),
    "pois": ("dots: purple sights · red hospitals, fire, police · blue lodging",
             "chấm: tím điểm tham quan · đỏ bệnh viện, cứu hỏa, công an · xanh nơi lưu trú"),
    "zones_of": ("Wards: {what}", "Phường, xã: {what}"),
    "clock": ("{clock}", "{clock}"),
    "window": ("whole window {start}–{end}", "cả khung giờ {start}–{end}"),
    "replications": ("mean of {n} runs", "trung bình {n} lần chạy"),
    "km": ("{n:g} km", "{n:g} km"),
    "m": ("{n:g} m", "{n:g} m"),
}  # fmt: skip


def check_lang(lang: str) -> str:
    """``lang`` if it is one of :data:`LANGUAGES`.

    Raises
    ------
    VizError
        Another language.
    """
    if lang not in LANGUAGES:
        raise VizError(f"language {lang!r} is not available; use one of {', '.join(LANGUAGES)}")
    return lang


def say(key: str, lang: str, **values) -> str:
    """The text ``key`` in ``lang``, formatted with ``values``."""
    en, vi = _TEXT[key]
    return (vi if lang == "vi" else en).format(**values)
