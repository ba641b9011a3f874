"""The optimiser on mission-capable availability with redundancy: brute force.

One site, three items in one fleet: a redundant one (2 installed, 1 needed), an ordinary
one and an inessential one.  Every allocation of 0..MAX spares per item is evaluated by
the readiness engine (the k-out-of-n sum, checked against enumeration in
tests/readiness/test_redundancy.py); the optimiser's result must be the best allocation
of its cost (Fox 1966: marginal analysis on concave terms), and buy nothing for the
inessential item.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.testing import assert_allclose

from sustain.optimize.api import optimize_arrays
from sustain.readiness.evaluate import evaluate_arrays
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario

MAX = 5


def doc(holes: str) -> dict[str, object]:
    return {
        "sites": [{"id": "D"}],
        "systems": [{"id": "S"}],
        "fleets": [{"system": "S", "site": "D", "count": 3, "hours_per_day": 12}],
        "items": [
            {"id": "RED", "unit_cost": 3, "mtbf_hours": 600, "depot_repair_days": 10,
             "installed_in": [{"system": "S", "qty": 2, "needed": 1}]},
            {"id": "ONE", "unit_cost": 2, "mtbf_hours": 400, "depot_repair_days": 10,
             "installed_in": [{"system": "S", "qty": 1}]},
            {"id": "OPT", "unit_cost": 1, "mtbf_hours": 100, "depot_repair_days": 20,
             "installed_in": [{"system": "S", "qty": 1, "essential": False}]},
        ],
        "holes": holes,
    }


@pytest.mark.parametrize("holes", ["spread", "consolidated"])
@pytest.mark.parametrize("target", [0.8, 0.95])
def test_target_reached_at_the_least_cost_of_the_efficient_points(holes: str,
                                                                  target: float) -> None:
    a = compile_scenario(scenario_from_dict(doc(holes)))
    best: dict[float, float] = {}
    for stock in itertools.product(range(MAX + 1), repeat=3):
        st = np.array(stock, dtype=float)[:, None]
        av = float(evaluate_arrays(a.with_stock(st)).availability[0])
        cost = float(st[:, 0] @ a.unit_cost)
        best[cost] = max(best.get(cost, 0.0), av)
    res = optimize_arrays(a, target=target, max_stock=np.full_like(a.stock, MAX))
    got = res.evaluation
    assert got.availability[0] >= target - 1e-9
    assert got.arrays.stock[a.item_ids.index("OPT"), 0] == 0  # grounds nothing
    cost = float(got.arrays.stock[:, 0] @ a.unit_cost)
    # Nothing of the same cost does better; the least cost reaching the target is at most
    # the optimiser's (the greedy may overshoot it by one step).
    assert got.availability[0] >= best[cost] - 1e-12
    cheapest = min(c for c, v in best.items() if v >= target)
    assert cheapest <= cost
    # Along the curve, each point is the best of its cost.
    for c, av in zip(res.curve_cost.tolist(), res.curve_availability[:, 0].tolist(),
                     strict=True):
        if c in best:
            assert_allclose(av, best[c], rtol=1e-9)
