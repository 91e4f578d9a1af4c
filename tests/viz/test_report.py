"""The leaders' report: one offline page, fully in each language, every name escaped, and
rendered by headless Chromium."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.viz.conftest import browse
from tests.viz.town import MARKUP_ROAD, SCRIPT_NAME
from viz.errors import VizError
from viz.html import check_offline
from viz.report import KPIText, write_report
from viz.results import load_results


@pytest.fixture(scope="module")
def results(comparison):
    return load_results([comparison])


def _kpi_text():
    text = KPIText(
        "total_delay_h", "traffic", "h", "lower", "Hours lost to congestion", "Số giờ mất do ùn tắc"
    )
    return {"total_delay_h": text}


@pytest.mark.parametrize("lang", ["en", "vi"])
def test_the_report_is_one_escaped_page_a_browser_renders(river_town, results, tmp_path, lang):
    path = write_report(river_town, results, tmp_path / f"report-{lang}.html", lang=lang,
                        kpi_text=_kpi_text())  # fmt: skip
    text = path.read_text(encoding="utf-8")
    check_offline(text)
    assert SCRIPT_NAME not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert MARKUP_ROAD not in text
    assert "© OpenStreetMap" in text or "© những người đóng góp OpenStreetMap" in text
    words = {
        "en": ["What was compared", "Hours lost to congestion", "Through the day"],
        "vi": ["Những gì được so sánh", "Số giờ mất do ùn tắc", "Diễn biến trong ngày"],
    }
    for word in words[lang]:
        assert word in text
    if lang == "vi":
        assert "What was compared" not in text and "Indicators" not in text
    dom = browse(path, tmp_path / "dom.png", dump_dom=True)
    assert "<script>alert(1)</script>" not in dom and "alert(1)" in dom
    shot = tmp_path / f"report-{lang}.png"
    browse(path, shot, size=(1280, 2400))
    pixels = np.asarray(Image.open(shot).convert("RGB")).reshape(-1, 3).astype(int)
    assert len({tuple(p) for p in pixels[::89]}) > 100  # text, tables, charts, images


def test_a_report_needs_a_comparison(river_town, run_dirs, tmp_path):
    with pytest.raises(VizError, match="made from a comparison"):
        write_report(river_town, load_results([run_dirs[0]]), tmp_path / "r.html")
