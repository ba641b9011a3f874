"""The simulator with lateral links: a closed form, and the analytic approximation on
random cases (``benchmarks/laterals.py`` measures the error over many)."""

from __future__ import annotations

import numpy as np
import pytest
from benchmarks.laterals import compare, random_doc
from scipy import stats

from sustain.scenario import scenario_from_dict
from sustain.simulate.replicate import simulate
from tests.laterals.test_analytic import doc


def _ci99(x: np.ndarray) -> tuple[float, float]:
    half = stats.t.ppf(0.995, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size)
    return float(x.mean() - half), float(x.mean() + half)


def test_a_base_without_stock_beside_a_full_one_is_a_renewal_process() -> None:
    # Every failure at A is met from B's shelf after `days`: each of A's systems
    # alternates up (exponential, rate r = 10 h / 500 h a day) and down (`days`
    # exactly), so its availability is 1 / (1 + r · days).
    days = 1.5
    sim = simulate(scenario_from_dict(doc(0, 40, days=days)), days=20_000, replications=8,
                   seed=5, warmup_days=200)
    a = sim.arrays
    fa = next(f for f in range(2) if a.site_ids[a.fleet_site[f]] == "A")
    lo, hi = _ci99(sim.availability[:, fa])
    assert lo <= 1 / (1 + 0.02 * days) <= hi
    fb = 1 - fa  # B meets its own demands from its shelf: always up
    assert sim.availability[:, fb].min() == 1.0


def test_without_the_link_the_same_base_waits_for_resupply() -> None:
    sim = simulate(scenario_from_dict(doc(0, 40, laterals=False)), days=5_000,
                   replications=2, seed=5)
    a = sim.arrays
    fa = next(f for f in range(2) if a.site_ids[a.fleet_site[f]] == "A")
    # Down for the 4-day resupply instead: 1 / (1 + 0.02 · 4) ≈ 0.926.
    assert sim.availability[:, fa].max() < 0.95


@pytest.mark.parametrize("seed", [100_000, 100_001, 100_002])
def test_analytic_approximation_within_the_measured_error(seed: int) -> None:
    # benchmarks/laterals.py: |analytic − simulated| has a 90th percentile near 0.017
    # and a maximum near 0.066 over 300 fleets; these cases are well inside that.
    analytic, simulated, half = compare(random_doc(seed), reps=6, days=10_000, seed=seed)
    assert np.all(np.abs(analytic - simulated) <= 0.02 + 2 * half)
