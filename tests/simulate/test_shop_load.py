"""The analytic offered load against the simulator: with unlimited channels, ample stock
and the analytic assumption (every position keeps failing), the mean number of units
in repair at each site is λ·T (Palm's theorem), whatever the repair-time law."""

from __future__ import annotations

import numpy as np

import sustain
from sustain.readiness.shops import offered_load
from sustain.scenario.compile import compile_scenario
from sustain.simulate import simulate
from tests.conftest import EXAMPLES
from tests.simulate.helpers import ci


def test_offered_load_is_the_simulated_units_in_repair() -> None:
    """The worked example (three echelons, base repair, condemnation, sub-items): ample
    stock keeps every position filled, so demand is Poisson and each site's jobs average
    its offered load, inside the 99 % interval across replications."""
    a = compile_scenario(sustain.load_scenario(EXAMPLES / "coalition-air-defence.yaml"))
    a = a.with_stock(np.full(a.stock.shape, 500.0))
    _, load = offered_load(a)
    assert load.max() > 10  # the depot's load is a real test of the flows
    res = simulate(a, days=1500, replications=10, seed=5, warmup_days=200,
                   failures_while_down=True)
    assert res.busy is not None
    np.testing.assert_array_equal(res.busy, res.in_repair)  # unlimited: no queue
    for s in range(a.n_sites):
        m, h = ci(res.in_repair[:, s], 0.99)
        assert abs(m - load[s]) <= h, (a.site_ids[s], m, h, load[s])
