"""``optimize --redistribute``: moves of stock held weighed against purchases.

- brute force on 50 random small cases (moves and purchases together, every stock in a
  box priced by the cheapest transport from the stock held: ``benchmarks/
  redistribute_cases.py``): the acceptance bar is ≥ 95 % within 2 %;
- the transportation problem's shortcuts against the LP;
- the rail example, where engines sit at a depot without locomotives: moving them beats
  buying, and the plan is re-checked by an independent evaluation;
- a budget pays for moves and purchases together;
- without ``redistribute`` (and with a ``moves`` table present) the result is the same
  to the last bit.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml
from benchmarks.redistribute_cases import compare, transport_cost
from typer.testing import CliRunner

import sustain
from sustain.cli.main import app
from sustain.optimize.redistribute import DEFAULT_MOVE_FRACTION, scenario_routes, transport
from sustain.report.documents import plan_csv
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario
from tests.conftest import EXAMPLES

RAIL = EXAMPLES / "rail-redistribute.yaml"
RUNNER = CliRunner()

SEEDS = range(3000, 3050)


def test_cost_is_near_the_brute_force_optimum() -> None:
    rows = [compare(seed, box=3, without=False) for seed in SEEDS]
    ratios = np.array([c.ratio for c in rows])
    # The box holds the optimiser's plan: brute force is never dearer.
    assert np.all(ratios >= 1 - 1e-9), [c.seed for c in rows if c.ratio < 1 - 1e-9]
    assert np.mean(ratios <= 1.02) >= 0.95, [(c.seed, c.ratio) for c in rows if c.ratio > 1.02]
    # Moves matter in these cases (they are not all decided by purchases alone).
    assert sum(c.moves > 0 for c in rows) >= 25


@pytest.mark.parametrize("seed", range(40))
def test_transport_matches_the_lp(seed: int) -> None:
    """The greedy shortcuts (one cost, one giver, one taker) and the LP path give the
    LP's optimum."""
    rng = np.random.default_rng(seed)
    n_s = int(rng.integers(2, 6))
    held = rng.integers(0, 4, n_s).astype(float)
    stock = rng.integers(0, 5, n_s).astype(float)
    if rng.random() < 0.3:
        cost = np.full((n_s, n_s), float(rng.uniform(1, 12)))
    else:
        cost = rng.uniform(1, 15, (n_s, n_s))
        cost[rng.random((n_s, n_s)) < 0.2] = np.inf
    np.fill_diagonal(cost, np.inf)
    unit = 10.0
    money, flows = transport(held, stock, cost, unit)
    assert money == pytest.approx(transport_cost(held, stock, cost, unit), rel=1e-9, abs=1e-9)
    out = np.zeros(n_s)
    for g, r, n in flows:
        assert held[g] - n >= 0 and math.isfinite(cost[g, r])
        out[g] += n
    assert np.all(out <= np.maximum(held - stock, 0))


def _rail() -> sustain.Scenario:
    return sustain.load_scenario(RAIL)


def test_moving_idle_engines_beats_buying() -> None:
    sc = _rail()
    plain = sustain.optimize(sc, target=0.95)
    moved = sustain.optimize(sc, target=0.95, redistribute=True)
    a = compile_scenario(sc)
    engine, east = a.item_ids.index("ENGINE"), a.site_ids.index("EAST")
    # Without moves the plan buys an engine (1 M); with them it costs a tenth as much.
    assert plain.purchase_cost >= 1_000_000
    total = moved.purchase_cost + moved.move_cost
    assert total < 0.2 * plain.purchase_cost
    lines = moved.move_lines()
    assert any(r["item"] == "ENGINE" and r["from"] == "EAST" for r in lines)
    # Units are moved, not made: each item's total is held + bought.
    assert np.allclose(moved.moved.sum(axis=1), 0.0)
    assert moved.moved[engine, east] < 0
    assert np.array_equal(moved.stock, a.stock + moved.moved + moved.buy)
    # Each move at the default cost: 5 % of the unit cost; transit along the tree
    # (EAST → WORKS: EAST's order-and-ship time, 5 days).
    for r in lines:
        unit = a.unit_cost[a.item_ids.index(r["item"])]
        assert r["cost_per_unit"] == pytest.approx(DEFAULT_MOVE_FRACTION * unit)
        if (r["from"], r["to"]) == ("EAST", "WORKS"):
            assert r["days"] == 5.0
    # An independent evaluation of the plan's stock meets every target.
    stock = [{"item": a.item_ids[i], "site": a.site_ids[s], "qty": int(moved.stock[i, s])}
             for i, s in zip(*np.nonzero(moved.stock), strict=True)]
    doc = yaml.safe_load(RAIL.read_text())
    doc["stock"] = stock
    ev = sustain.evaluate(scenario_from_dict(doc))
    assert np.all(ev.availability >= 0.95 - 1e-9)
    # "now" is the stock held before any move.
    assert moved.before is not None
    assert np.allclose(moved.before.availability, plain.before.availability)  # type: ignore[union-attr]


def test_a_budget_pays_for_moves_and_purchases() -> None:
    sc = _rail()
    plain = sustain.optimize(sc, budget=500_000)
    moved = sustain.optimize(sc, budget=500_000, redistribute=True)
    assert moved.purchase_cost + moved.move_cost <= 500_000
    weights = compile_scenario(sc).fleet_count

    def phi(opt: sustain.Optimization) -> float:
        return float(np.sum(weights * np.log(opt.evaluation.availability)))

    assert phi(moved) > phi(plain)
    # A site that gives an item away does not also buy it.
    gives = moved.moved < 0
    assert not np.any(gives & (moved.buy > 0))


def test_routes_from_the_moves_table() -> None:
    doc = yaml.safe_load(RAIL.read_text())
    doc["moves"] = [
        {"from": "EAST", "to": "NORTH", "cost_per_unit": 8000, "days": 2},
        {"from": "EAST", "to": "SOUTH", "cost_fraction": 0.02, "both_ways": True},
        {"from": "EAST", "to": "NORTH", "item": "ENGINE", "cost_per_unit": 40000},
    ]
    sc = scenario_from_dict(doc)
    a = compile_scenario(sc)
    r = scenario_routes(sc, a)
    i = {x: n for n, x in enumerate(a.item_ids)}
    s = {x: n for n, x in enumerate(a.site_ids)}
    assert r.cost[i["TURBO"], s["EAST"], s["NORTH"]] == 8000
    assert r.days[i["TURBO"], s["EAST"], s["NORTH"]] == 2
    assert r.cost[i["ENGINE"], s["EAST"], s["NORTH"]] == 40000
    assert r.days[i["ENGINE"], s["EAST"], s["NORTH"]] == 8  # up 5, down 3
    assert r.cost[i["TURBO"], s["SOUTH"], s["EAST"]] == pytest.approx(0.02 * 45000)
    assert r.days[i["TURBO"], s["SOUTH"], s["EAST"]] == 9
    assert np.isinf(r.cost[i["TURBO"], s["NORTH"], s["EAST"]])  # one way only
    assert np.isinf(r.cost[:, s["WORKS"]]).all()  # no route from the works
    opt = sustain.optimize(sc, target=0.95, redistribute=True)
    for line in opt.move_lines():
        assert line["from"] == "EAST" or (line["from"], line["to"]) == ("SOUTH", "EAST")


def test_without_redistribute_nothing_changes() -> None:
    """A ``moves`` table is read by --redistribute alone: without it the plan, its JSON
    document and its plan.csv are what they are without the table."""
    doc = yaml.safe_load(RAIL.read_text())
    base = sustain.optimize(scenario_from_dict(doc), target=0.95)
    doc["moves"] = [{"from": "EAST", "to": "NORTH"}]
    other = sustain.optimize(scenario_from_dict(doc), target=0.95)
    assert json.dumps(base.to_dict()) == json.dumps(other.to_dict())
    assert plan_csv(base) == plan_csv(other)
    assert "moves" not in base.to_dict() and "move_cost" not in base.to_dict()
    assert plan_csv(base).splitlines()[0] == "item,site,held,buy,qty,unit_cost,cost"


def test_cli_lists_the_moves(tmp_path: Path) -> None:
    md, csv_, js = tmp_path / "r.md", tmp_path / "plan.csv", tmp_path / "r.json"
    res = RUNNER.invoke(app, ["optimize", str(RAIL), "-t", "0.95", "--redistribute",
                              "-o", str(md), "-o", str(csv_), "-o", str(js)])
    assert res.exit_code == 0, res.output
    assert "Moves of stock held" in res.stdout
    # What the plan leaves at the closed depot is still flagged.
    assert "ENGINE at EAST (1 unit, 1,000,000 EUR)" in res.stderr
    assert "the plan does not need them elsewhere" in res.stderr
    doc = json.loads(js.read_text())
    assert doc["move_cost"] == pytest.approx(sum(r["cost"] for r in doc["moves"]))
    assert {"item", "from", "to", "qty", "cost_per_unit", "cost", "days"} <= set(doc["moves"][0])
    text = md.read_text()
    assert "## Moves of stock held" in text and "| ENGINE | EAST | WORKS |" in text
    rows = csv_.read_text().splitlines()
    assert rows[0] == "item,site,held,buy,qty,unit_cost,cost,moved"
    east = next(r for r in rows if r.startswith("ENGINE,EAST,"))
    held, buy, qty, moved = (int(x) for x in np.array(east.split(","))[[2, 3, 4, 7]])
    assert held == 3 and moved < 0 and qty == held + moved + buy
    # The plan file gives the plan's stock back (overlay mode).
    res = RUNNER.invoke(app, ["evaluate", str(RAIL), "--stock", str(csv_), "--json"])
    assert res.exit_code == 0, res.output
    after = json.loads(res.stdout)["plans"][0]["fleets"]
    assert all(f["availability"] >= 0.95 - 1e-9 for f in after)


def test_cli_refuses_redistribute_over_time() -> None:
    res = RUNNER.invoke(app, ["optimize", str(RAIL), "-t", "0.9", "--over-time",
                              "--redistribute"])
    assert res.exit_code == 2
    assert "--redistribute is not available with --over-time" in res.output
