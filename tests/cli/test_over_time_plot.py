"""``sustain evaluate --over-time --plot``: the figure's lines, markers, units and legends,
the files written, and the options refused before any work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from sustain.report.plots import over_time_figure, pyplot
from sustain.scenario import scenario_from_dict

RUNNER = CliRunner()


def small(**extra: Any) -> dict[str, Any]:
    """Two system types, three fleets; a delivery with spares on day 30 and a tempo
    surge at B1 on days [40, 60)."""
    doc: dict[str, Any] = {
        "name": "small",
        "sites": [{"id": "DEPOT"}, {"id": "B1", "parent": "DEPOT", "order_ship_days": 3},
                  {"id": "B2", "parent": "DEPOT", "order_ship_days": 4}],
        "systems": [{"id": "S", "name": "sensor"}, {"id": "T"}],
        "fleets": [{"system": "S", "site": "B1", "count": 6, "hours_per_day": 10},
                   {"system": "S", "site": "B2", "count": 4, "hours_per_day": 10},
                   {"system": "T", "site": "B1", "count": 5, "hours_per_day": 8}],
        "items": [
            {"id": "A", "mtbf_hours": 400, "installed_in": [{"system": "S", "qty": 1}],
             "depot_repair_days": 20},
            {"id": "B", "mtbf_hours": 600, "installed_in": [{"system": "T", "qty": 2}],
             "depot_repair_days": 15},
        ],
        "stock": [{"item": "A", "site": "B1", "qty": 2}, {"item": "B", "site": "B1", "qty": 1}],
        "deliveries": [{"day": 30, "system": "S", "site": "B2", "count": 2,
                        "stock": [{"item": "A", "qty": 1}]}],
        "tempo": [{"from_day": 40, "to_day": 60, "factor": 2.0, "site": "B1"}],
    }
    doc.update(extra)
    return doc


def test_figure_lines_markers_units_and_legends() -> None:
    sc = scenario_from_dict(small())
    doc = sustain.evaluate_over_time(sc, days=90, step=5).to_dict()
    fig = over_time_figure(doc, sc, targets=np.array([0.9, 0.9, 0.8]))
    try:
        fig.canvas.draw()
        axes = fig.get_axes()
        assert len(axes) == 2  # one panel per system type
        lines = [ln for ax in axes for ln in ax.get_lines()]
        fleets = sorted(str(ln.get_gid()) for ln in lines
                        if str(ln.get_gid()).startswith("fleet:"))
        assert fleets == ["fleet:S@B1", "fleet:S@B2", "fleet:T@B1"]
        for ax in axes:
            assert ax.get_ylabel() == "availability (%)"
            # Target lines in percent: 90 % for S, 80 % for T.
            targets = {float(ln.get_ydata()[0]) for ln in ax.get_lines()
                       if ln.get_gid() == "target"}
            assert targets == ({90.0} if ax is axes[0] else {80.0})
            # The legend lies beside the data area, never on it.
            legend = ax.get_legend()
            assert legend is not None
            assert not legend.get_window_extent().overlaps(ax.get_window_extent())
        assert axes[-1].get_xlabel() == "day"
        # The delivery of S on day 30 in the S panel only, labelled with what arrives.
        at = [float(ln.get_xdata()[0]) for ln in axes[0].get_lines()
              if ln.get_gid() == "delivery"]
        assert at == [30.0]
        assert [t.get_text() for t in axes[0].texts] == ["+2 B2 + spares"]
        assert not [ln for ln in axes[1].get_lines() if ln.get_gid() == "delivery"]
        # The surge at B1 is shaded in both panels (both have a fleet at B1).
        for ax in axes:
            spans = [p for p in ax.patches if p.get_gid() == "tempo"]
            assert len(spans) == 1
            assert "×2" in spans[0].get_label()
        # Fleet values are in percent: the line is 100 × the document's availability.
        s_b1 = next(ln for ln in lines if ln.get_gid() == "fleet:S@B1")
        want = [100 * p["availability"] for p in doc["fleets"][0]["series"]]
        np.testing.assert_allclose(s_b1.get_ydata(), want, rtol=1e-12)
    finally:
        pyplot().close(fig)


def test_many_fleets_stay_readable() -> None:
    """Twelve sites of one system: the eight lowest in colour, the rest grey."""
    sites = [{"id": "DEPOT"}] + [{"id": f"B{k:02d}", "parent": "DEPOT"} for k in range(12)]
    doc_in = small(
        sites=sites,
        fleets=[{"system": "S", "site": f"B{k:02d}", "count": 2 + k, "hours_per_day": 10}
                for k in range(12)],
        stock=[{"item": "A", "site": "B00", "qty": 3}], deliveries=[], tempo=[])
    doc_in["items"] = doc_in["items"][:1]
    doc_in["systems"] = doc_in["systems"][:1]
    sc = scenario_from_dict(doc_in)
    doc = sustain.evaluate_over_time(sc, days=30, step=10).to_dict()
    fig = over_time_figure(doc, sc)
    try:
        lines = [ln for ln in fig.get_axes()[0].get_lines()
                 if str(ln.get_gid()).startswith("fleet:")]
        assert len(lines) == 12
        grey = [ln for ln in lines if ln.get_color() == "0.6"]
        assert len(grey) == 4
        lowest = {ln.get_gid(): np.nanmin(ln.get_ydata()) for ln in lines}
        assert max(lowest[ln.get_gid()] for ln in lines if ln not in grey) <= min(
            lowest[ln.get_gid()] for ln in grey)
    finally:
        pyplot().close(fig)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    (tmp_path / "small.json").write_text(json.dumps(small()))
    return tmp_path


def test_cli_writes_png_svg_and_a_report_that_shows_the_picture(work: Path) -> None:
    (work / "pics").mkdir()
    result = RUNNER.invoke(app, ["evaluate", str(work / "small.json"), "--over-time",
                                 "--days", "60", "--step", "10", "--plot",
                                 str(work / "pics" / "a.png"), "-t", "0.9", "-t", "T=0.8",
                                 "-o", str(work / "report.md")])
    assert result.exit_code == 0, result.output
    assert (work / "pics" / "a.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![Availability over time per fleet](pics/a.png)" in (work / "report.md").read_text()
    result = RUNNER.invoke(app, ["evaluate", str(work / "small.json"), "--over-time",
                                 "--days", "60", "--plot", str(work / "b.svg"), "-q"])
    assert result.exit_code == 0, result.output
    svg = (work / "b.svg").read_text()
    assert svg.startswith("<?xml") and "<svg" in svg


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--plot", "x.png"], "--plot needs --over-time"),
        (["--over-time", "--plot", "x.gif"],
         "--plot x.gif: unknown plot type '.gif' (use .png, .svg or .pdf)"),
        (["--over-time", "-t", "0.9"], "--target needs --plot (it draws the target line)"),
        (["--over-time", "--plot", "x.png", "-t", "90"],
         "--target '90': give a fraction (0.9), not a percentage"),
        (["--over-time", "--plot", "x.png", "-t", "Q=0.9"], "target Q: no such fleet"),
        (["--compare"], "--compare needs --over-time"),
        (["--over-time", "--seed", "3"], "--seed needs --compare"),
        (["--over-time", "--compare", "--replications", "1"],
         "--replications 1: must be a whole number from 2 to 1,000,000"),
    ],
)
def test_bad_options_exit_2_and_write_nothing(
    work: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(work)
    result = RUNNER.invoke(app, ["evaluate", "small.json", *args, "-o", "r.md"])
    assert result.exit_code == 2, result.output
    assert result.stderr == f"error: {message}\n"
    assert sorted(p.name for p in work.iterdir()) == ["small.json"]
