"""``twin render``, ``twin view`` and ``twin report`` from the command line."""

from __future__ import annotations

from PIL import Image

from twin.cli import main


def test_render_a_png_of_the_comparison_at_a_time(comparison, tmp_path, capsys):
    out = tmp_path / "diff.png"
    args = ["--diff", "--color", "entries", "--at", "07:20", "--camera", "crossings"]
    args += ["--lang", "vi", "--size", "800x500", "-o", str(out)]
    code = main(["render", str(comparison), *args])
    assert code == 0 and f"wrote {out}" in capsys.readouterr().out
    assert Image.open(out).size == (800, 500)


def test_render_says_what_was_wrong(comparison, tmp_path, capsys):
    assert main(["render", str(comparison), "--color", "sped", "-o", str(tmp_path / "x.png")]) == 1
    err = capsys.readouterr().err
    assert "no road measure named 'sped'" in err and "speed_kmh" in err
    assert main(["render", str(tmp_path), "-o", str(tmp_path / "x.png")]) == 1
    assert "neither a run folder" in capsys.readouterr().err


def test_view_without_a_display_says_what_to_do(comparison, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    assert main(["view", str(comparison)]) == 1
    err = capsys.readouterr().err
    assert "no display" in err and f"twin render {comparison} -o view.html" in err


def test_report_of_a_comparison_in_vietnamese(comparison, tmp_path, capsys):
    out = tmp_path / "report.html"
    assert main(["report", str(comparison), "--lang", "vi", "-o", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    # the KPI registry's Vietnamese descriptions, passed in by the command
    assert "Số giờ mất do ùn tắc" in text and "Tốc độ trung bình của mạng lưới" in text


def test_report_compares_two_scenarios_first(comparison, tmp_path):
    folder = comparison.parent
    out = tmp_path / "report.html"
    code = main(["report", str(folder / "base.toml"), str(folder / "closed.toml"),
                 "--replications", "2", "--workers", "0", "-o", str(out)])  # fmt: skip
    assert code == 0 and out.is_file()
    assert (tmp_path / "report-comparison" / "comparison.json").is_file()
