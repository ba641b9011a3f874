"""Every plot carries units on both axes and keeps its legends off the data: the
efficient curve, the simulated availability and the stockpiles (the over-time plot is
tested in ``test_over_time_plot.py``)."""

from __future__ import annotations

from typing import Any

import pytest

import sustain
from sustain.report.plots import (
    availability_figure,
    curve_figure,
    pyplot,
    stockpile_figure,
)
from sustain.scenario import scenario_from_dict
from tests.cli.test_over_time_plot import small
from tests.conftest import EXAMPLES


def legends_beside_the_data(fig: Any) -> None:
    fig.canvas.draw()
    boxes = [ax.get_window_extent() for ax in fig.get_axes()]
    for ax in fig.get_axes():
        legend = ax.get_legend()
        assert legend is not None, ax.get_title()
        for box in boxes:  # off its own panel and off every other one
            assert not legend.get_window_extent().overlaps(box), ax.get_title()


@pytest.fixture(scope="module")
def scenario() -> sustain.Scenario:
    return scenario_from_dict(small(deliveries=[], tempo=[], currency="EUR"))


def test_curve(scenario: sustain.Scenario) -> None:
    opt = sustain.optimize(scenario, target=0.9, refine_seconds=0)
    fig = curve_figure(opt, currency="EUR")
    try:
        (ax,) = fig.get_axes()
        assert ax.get_xlabel() == "purchases (millions of EUR)"
        assert ax.get_ylabel() == "availability (%)"
        targets = [ln for ln in ax.get_lines() if ln.get_label() == "target"]
        assert [float(ln.get_ydata()[0]) for ln in targets] == [90.0]
        legends_beside_the_data(fig)
    finally:
        pyplot().close(fig)


def test_simulated_availability(scenario: sustain.Scenario) -> None:
    res = sustain.simulate(scenario, days=60, replications=3, seed=1, warmup_days=10)
    fig = availability_figure(res)
    try:
        (ax,) = fig.get_axes()
        assert ax.get_xlabel() == "day"
        assert ax.get_ylabel() == "systems up (% of those present)"
        assert ax.get_ylim()[1] > 100
        legends_beside_the_data(fig)
    finally:
        pyplot().close(fig)


def test_stockpile() -> None:
    result = sustain.plan_stockpile(sustain.load_scenario(EXAMPLES / "coalition-munitions.yaml"))
    fig = stockpile_figure(result)
    try:
        axes = fig.get_axes()
        assert len(axes) == 2 * len(result.data.consumable_ids)
        for ax in axes:
            assert ax.get_xlabel() == "month"
            assert "units" in ax.get_ylabel()
        legends_beside_the_data(fig)
    finally:
        pyplot().close(fig)
