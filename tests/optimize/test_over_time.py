"""Sparing over time (``sustain.optimize_over_time``, ``sustain optimize --over-time``).

* Against brute force (``benchmarks/over_time_cases.py``: every purchase vector of
  0..4 units per (item, site), small random scenarios with a delivery and a tempo
  surge): the plan's cost within 2 % of the optimum on at least 95 % of 50 cases and
  never above 10 %; every plan, with its units on the shelf on their need-by days,
  meets the target on every reported day.
* Without time-phased keys the timeline is flat: the plan costs what the steady
  optimiser's does.
* Lead times: days before an item can arrive are unreachable and reported with the
  availability of the stock held (nothing bought can be there); need-by days are never
  before the lead time and order-by = need-by − lead time.
* ``--average`` and the command line: exit codes, messages, outputs.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from benchmarks.over_time_cases import METHOD, TARGET_TOL, brute_force, small_case
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from sustain.errors import SustainError
from sustain.scenario import scenario_from_dict
from tests.conftest import EXAMPLES

RUNNER = CliRunner()
RAIL = EXAMPLES / "rail-two-echelon.yaml"


def test_brute_force_small_cases() -> None:
    gaps = []
    seed = 0
    while len(gaps) < 50:
        case = small_case(seed)
        seed += 1
        best, _ = brute_force(case)
        if not np.isfinite(best):
            continue  # nothing in the box meets the target: not a usable case
        plan = sustain.optimize_over_time(case.scenario, target=case.target, days=case.days,
                                          step=case.step, method=METHOD, lead_days=0.0)
        assert not plan.unreachable.any()
        av = plan.after.availability
        assert np.all(np.isnan(av) | (av >= case.target - TARGET_TOL)), case.seed
        gaps.append(plan.purchase_cost / best - 1.0 if best > 0 else plan.purchase_cost)
    g = np.array(gaps)
    assert np.mean(g <= 0.02) >= 0.95, g
    assert g.max() <= 0.10, g


@pytest.mark.parametrize("target", [0.9, 0.95])
def test_flat_timeline_costs_what_the_steady_plan_costs(target: float) -> None:
    sc = sustain.load_scenario(RAIL)
    assert not (sc.deliveries or sc.tempo or sc.attrition or sc.battle_damage)
    plan = sustain.optimize_over_time(sc, target=target, days=28, step=14, lead_days=0.0)
    steady = sustain.optimize(sc, target=target)
    assert plan.purchase_cost == pytest.approx(steady.purchase_cost, rel=1e-12)
    assert steady.purchase_cost > 0
    assert np.nanmin(plan.after.availability) >= target - 1e-9


def one_site(procurement: float | None = 10.0, **extra: Any) -> dict[str, Any]:
    item_b: dict[str, Any] = {"id": "B", "mtbf_hours": 300, "unit_cost": 2000,
                              "installed_in": [{"system": "S", "qty": 1}],
                              "depot_repair_days": 15}
    if procurement is not None:
        item_b["procurement_days"] = procurement
    doc: dict[str, Any] = {
        "sites": [{"id": "BASE"}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "BASE", "count": 6, "hours_per_day": 10}],
        "items": [
            {"id": "A", "mtbf_hours": 800, "unit_cost": 5000, "procurement_days": 3,
             "installed_in": [{"system": "S", "qty": 2}], "depot_repair_days": 20},
            item_b,
        ],
        "stock": [{"item": "A", "site": "BASE", "qty": 1}],
        "deliveries": [{"day": 14, "system": "S", "site": "BASE", "count": 4}],
    }
    doc.update(extra)
    return doc


def test_lead_times_make_early_days_unreachable() -> None:
    sc = scenario_from_dict(one_site())
    plan = sustain.optimize_over_time(sc, target=0.9, days=21, step=7)
    # B takes 10 days: days 0 and 7 see only the stock held, and miss the target.
    assert plan.unreachable[0].tolist() == [True, True, False, False]
    (short,) = plan.shortfalls()
    assert short["days"] == [0, 7]
    before = plan.before.availability[0, :2]
    # Best reachable there: A can arrive by day 3 (stock held of B is none), so day 7's
    # best lies above what the stock held gives, day 0's equals it.
    assert short["best"][0] == pytest.approx(before[0], rel=1e-12)
    assert short["best"][1] > before[1]
    assert np.all(plan.after.availability[0, 2:] >= 0.9 - 1e-9)
    lead = {"A": 3.0, "B": 10.0}
    for line in plan.purchases():
        assert line["need_by"] >= lead[line["item"]]
        assert line["order_by"] == pytest.approx(line["need_by"] - lead[line["item"]])
    doc = plan.to_dict()
    assert set(doc) >= {"method", "days", "targets", "purchases", "purchase_cost", "fleets",
                        "shortfalls"}
    assert doc["purchase_cost"] == pytest.approx(sum(p["cost"] for p in doc["purchases"]))


def test_default_lead_time_is_the_longest_procurement_time() -> None:
    sc = scenario_from_dict(one_site(procurement=None))
    plan = sustain.optimize_over_time(sc, target=0.9, days=21, step=7)
    assert plan.lead_days.tolist() == [3.0, 3.0]
    plan = sustain.optimize_over_time(sc, target=0.9, days=21, step=7, lead_days=12.0)
    assert plan.lead_days.tolist() == [3.0, 12.0]


def test_need_by_follows_the_delivery() -> None:
    # A delivery on day 14 raises demand: units needed only for it wait until then.
    sc = scenario_from_dict(one_site(procurement=1.0, stock=[]))
    plan = sustain.optimize_over_time(sc, target=0.85, days=28, step=7)
    # Nothing held and nothing can arrive by day 0: only day 0 is out of reach.
    assert plan.unreachable[0].tolist() == [True, False, False, False, False]
    need = {p["need_by"] for p in plan.purchases()}
    assert min(need) <= 7 and max(need) >= 14
    # Without the units due on the last need-by day, that day falls short.
    last = max(need)
    keep = [(q, d) for q, d in _arrivals(plan) if d < last]
    ot = sustain.evaluate_over_time(sc, days=28, step=7, arrivals=keep)
    n = int(np.searchsorted(plan.before.days, last))
    assert ot.availability[0, n] < 0.85


def _arrivals(plan: sustain.OverTimePlan) -> list[tuple[np.ndarray, float]]:
    a = plan.before.arrays
    out = []
    for i, s, q, day in plan.lines:
        x = np.zeros((a.n_items, a.n_sites))
        x[i, s] = q
        out.append((x, day))
    return [(x, d) for x, d in out]


def test_average_is_never_dearer_and_meets_the_mean() -> None:
    sc = scenario_from_dict(one_site(procurement=1.0, stock=[]))
    every = sustain.optimize_over_time(sc, target=0.9, days=28, step=7)
    mean = sustain.optimize_over_time(sc, target=0.9, days=28, step=7, average=True)
    assert mean.purchase_cost <= every.purchase_cost
    # Day 0 is out of reach (nothing held, nothing arrives by then): the mean is over
    # the other days.
    assert mean.unreachable[0].tolist() == [True, False, False, False, False]
    assert np.mean(mean.after.availability[0, 1:]) >= 0.9 - 1e-9
    assert np.min(mean.after.availability[0, 1:]) < 0.9  # not every day: the mean
    assert mean.to_dict()["average"] is True


def test_bad_options() -> None:
    sc = scenario_from_dict(one_site())
    with pytest.raises(SustainError, match="exact"):
        sustain.optimize_over_time(sc, target=0.9, method="exact")
    with pytest.raises(SustainError, match="lead_days"):
        sustain.optimize_over_time(sc, target=0.9, lead_days=-1.0)
    with pytest.raises(SustainError, match="step"):
        sustain.optimize_over_time(sc, target=0.9, step=0)


# ------------------------------------------------------------------- command line


def _doc_file(tmp_path: Path, doc: dict[str, Any]) -> Path:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--over-time", "--budget", "1000"], "--budget is not available with --over-time"),
        (["--over-time", "--method", "exact"], "not exact"),
        (["--over-time", "--step", "0"], "--step 0: must be a whole number >= 1"),
        (["--over-time", "--days", "-5"], "--days -5: must be a whole number from 1"),
        (["--average"], "--average needs --over-time"),
        (["--allow-shortfall"], "--allow-shortfall needs --over-time"),
    ],
)
def test_usage_errors_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    path = _doc_file(tmp_path, one_site())
    out = tmp_path / "plan.csv"
    r = RUNNER.invoke(app, ["optimize", str(path), "-t", "0.9", *args, "-o", str(out)])
    assert r.exit_code == 2, r.output
    assert message in r.stderr
    assert r.stderr.count("error:") == 1
    assert not out.exists()


def test_unreachable_days_exit_3_unless_allowed(tmp_path: Path) -> None:
    path = _doc_file(tmp_path, one_site())
    out = tmp_path / "plan.csv"
    base = ["optimize", str(path), "-t", "0.9", "--over-time", "--days", "21", "--step", "7"]
    r = RUNNER.invoke(app, [*base, "-o", str(out)])
    assert r.exit_code == 3, r.output
    assert "fleet S at BASE: target 0.9 cannot be reached in time on days 0, 7" in r.stderr
    assert not out.exists()
    r = RUNNER.invoke(app, [*base, "--allow-shortfall", "-o", str(out), "-q"])
    assert r.exit_code == 0, r.output
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert list(rows[0]) == ["item", "site", "qty", "need_by", "order_by", "unit_cost", "cost"]
    r = RUNNER.invoke(app, [*base, "--allow-shortfall", "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert doc["shortfalls"][0]["days"] == [0, 7]
    assert sum(int(x["qty"]) for x in rows) == sum(p["qty"] for p in doc["purchases"])
    md = tmp_path / "plan.md"
    r = RUNNER.invoke(app, [*base, "--allow-shortfall", "-o", str(md), "-q"])
    assert r.exit_code == 0, r.output
    assert "## Days no purchase can reach in time" in md.read_text()


def test_a_long_shortfall_is_one_line_per_fleet() -> None:
    """Many unreachable days are given as a range with the range of best values."""
    from sustain.cli.main import _best_text, _days_text

    assert _days_text([0]) == "day 0"
    assert _days_text([0, 7, 14]) == "days 0, 7, 14"
    days = list(range(0, 300, 7))
    assert _days_text(days) == f"{len(days)} days from day 0 to day 294"
    assert _best_text([0.5, 0.8, 0.7] * 3) == "0.5 to 0.8"
