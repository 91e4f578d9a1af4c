"""``twin render``, ``twin view`` and ``twin report`` from the command line."""

from __future__ import annotations

from PIL import Image

from twin.cli import main
from viz.files import written_by


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


def test_render_and_report_replace_their_own_earlier_output_only(comparison, tmp_path, capsys):
    """Again to the same path: an earlier output of the command is replaced; the other
    command's file, or the user's, is kept."""
    scene, report = tmp_path / "scene.html", tmp_path / "report.html"
    for _ in range(2):
        assert main(["render", str(comparison), "--size", "320x200", "-o", str(scene)]) == 0
        assert main(["report", str(comparison), "-o", str(report)]) == 0
    assert written_by(scene, "render") and written_by(report, "report")
    assert not written_by(scene, "report") and not written_by(report, "render")
    capsys.readouterr()
    before = scene.read_bytes(), report.read_bytes()
    assert main(["render", str(comparison), "-o", str(report)]) == 1
    assert "is not an image, animation or scene written by twin render" in _error(capsys)
    assert main(["report", str(comparison), "-o", str(scene)]) == 1
    assert "is not a report written by twin report" in _error(capsys)
    assert (scene.read_bytes(), report.read_bytes()) == before


def test_report_refuses_a_comparison_of_another_city(comparison, tmp_path, capsys):
    from twin.bundle import write_bundle
    from twin.synthetic import grid_city

    write_bundle(grid_city(), tmp_path / "grid.twin")
    out = tmp_path / "report.html"
    assert (
        main(["report", str(comparison), "--city", str(tmp_path / "grid.twin"), "-o", str(out)])
        == 1
    )
    assert "the results were made on another city than 'grid 5x5'" in _error(capsys)
    assert not out.exists()


def _error(capsys) -> str:
    return capsys.readouterr().err.splitlines()[0]
