"""The report of ``sustain next``: the frontier chart with the picks by kind, and the
one-line summary per kind."""

from __future__ import annotations

import bisect
from typing import Any

import pytest

from sustain.deliver import Measure, choose
from sustain.report.next import kind_summary, next_report
from tests.deliver.cases import scenario


def _doc() -> dict[str, Any]:
    return {
        "sites": [{"id": "HUB"}, {"id": "EAST", "parent": "HUB", "order_ship_days": 3}],
        "systems": [{"id": "A"}],
        "fleets": [{"system": "A", "site": "EAST", "count": 4, "hours_per_day": 10}],
        "items": [{"id": "X", "mtbf_hours": 500, "installed_in": [{"system": "A"}],
                   "depot_repair_days": 30}],
        "offers": [{"id": "SYS", "kind": "systems", "system": "A", "site": "EAST", "max": 2,
                    "unit_cost": 10.0},
                   {"id": "SP", "kind": "spares", "item": "X", "site": "EAST", "max": 3,
                    "unit_cost": 1.0}],
    }


def test_the_frontier_chart_marks_each_kinds_picks_on_their_running_totals() -> None:
    plan = choose(Measure(scenario(_doc()), days=100, step=25), budget=25.0)
    kinds = {p.offer.kind for p in plan.picks}
    assert kinds == {"systems", "spares"}, plan.picks
    (chart,) = next_report("t", "t.yaml", plan, "EUR").charts()
    series = {s.name: s for s in chart.series}
    assert set(series) == {"frontier", "systems picked", "spares picked"}
    front = series["frontier"]
    spent, value = 0.0, plan.value_before
    seen = {"systems": 0, "spares": 0}
    for p in plan.picks:
        spent += p.cost
        value += p.value_gain
        s = series[f"{p.offer.kind} picked"]
        n = seen[p.offer.kind]
        assert (s.x[n], s.y[n]) == pytest.approx((spent, value))
        seen[p.offer.kind] += 1
        # never above the frontier: the best measure found for that money or less
        at = bisect.bisect_right(list(front.x), spent + 1e-9) - 1
        assert value <= front.y[at] + 1e-9
    assert seen == {k: len(series[f"{k} picked"].x) for k in seen}
    assert value == pytest.approx(plan.value_after)


def test_one_line_per_kind_adds_up_to_the_picks() -> None:
    plan = choose(Measure(scenario(_doc()), days=100, step=25), budget=25.0)
    lines = kind_summary(plan, "EUR")
    assert [line.split(":")[0] for line in lines] == ["systems", "spares"]
    for line in lines:
        kind = line.split(":")[0]
        picks = [p for p in plan.picks if p.offer.kind == kind]
        assert f"{sum(p.qty for p in picks)} unit" in line
        assert f"{sum(p.cost for p in picks):,.0f} EUR" in line
