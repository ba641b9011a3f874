"""The sweep's plots: units on both axes, legends off the data; the report's charts."""

from __future__ import annotations

import pytest

from sustain.report.model import Kind
from sustain.report.plots import pyplot
from sustain.report.sweep import quantile_chart, quantile_figure, tornado_chart, tornado_figure
from sustain.scenario import scenario_from_dict
from sustain.sweep import propagate, sensitivity
from tests.cli.test_plot_conventions import legends_beside_the_data
from tests.sweep.cases import small

pytest.importorskip("matplotlib")


def test_tornado() -> None:
    res = sensitivity(scenario_from_dict(small()), ["mtbf=0.8:1.2", "tempo=1:2"])
    fig = tornado_figure(res)
    try:
        (ax,) = fig.get_axes()
        assert ax.get_xlabel() == "share of all systems up (%)"
        # the largest swing on top (matplotlib's last tick)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["mtbf ×0.8–1.2", "tempo ×1–2"]
        legends_beside_the_data(fig)
    finally:
        pyplot().close(fig)
    chart = tornado_chart(res)
    assert chart.x_labels == ("tempo ×1–2", "mtbf ×0.8–1.2")
    assert chart.y_kind is Kind.PERCENT
    base, low, high = res.totals()
    assert chart.levels == ((base, "as given"),)
    assert chart.series[0].y == (low[1], low[0])
    assert chart.series[1].y == (high[1], high[0])


def test_quantiles() -> None:
    sc = scenario_from_dict({**small(), "uncertainty": {
        "mtbf_hours": {"dist": "lognormal", "cv": 0.3}}})
    res = propagate(sc, samples=20, seed=2, target=0.8)
    fig = quantile_figure(res)
    try:
        (ax,) = fig.get_axes()
        assert ax.get_xlabel() == "availability (%)"
        legends_beside_the_data(fig)
    finally:
        pyplot().close(fig)
    chart = quantile_chart(res)
    assert chart.x_labels == ("S@B1", "S@B2", "T@B1")
    q = res.quantiles()
    assert chart.series[0].low == tuple(q[0]) and chart.series[0].high == tuple(q[2])
