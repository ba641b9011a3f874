"""The optimiser with lateral links: brute force on small cases (the cases and the
brute force are in ``benchmarks/laterals_optimize.py``), and a budget run."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.laterals_optimize import brute_min_cost, plan_cost, small_case

from sustain.optimize.api import optimize_arrays
from sustain.readiness.evaluate import evaluate_arrays


@pytest.mark.parametrize("seed", [1000, 1003, 1005, 1007, 1011])
def test_one_item_plan_is_the_cheapest(seed: int) -> None:
    a, target = small_case(seed)
    assert a.n_items == 1
    best = brute_min_cost(a, target, max_units=4)
    assert np.isfinite(best)
    assert plan_cost(a, target) == pytest.approx(best, rel=1e-12)


def test_two_items_plan_is_the_cheapest() -> None:
    a, target = small_case(1002)
    assert a.n_items == 2
    best = brute_min_cost(a, target, max_units=2)
    assert np.isfinite(best)
    assert plan_cost(a, target) == pytest.approx(best, rel=1e-12)


def test_budget_run_spends_within_budget_and_beats_every_single_unit() -> None:
    a, _ = small_case(1000)
    opt = optimize_arrays(a, budget=100.0)
    assert 0 < opt.purchase_cost <= 100.0
    # Every one-unit plan is worth less (Σ N log A) than the plan bought.
    def value(stock: np.ndarray) -> float:
        av = evaluate_arrays(a.with_stock(stock)).availability
        return float(np.sum(a.fleet_count * np.log(av)))
    got = value(opt.stock)
    for s in range(a.n_sites):
        one = np.zeros_like(a.stock)
        one[0, s] = 1
        assert value(one) < got
