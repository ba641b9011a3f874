"""Uncertainty propagation: a case with a closed form, checked by numerical integration;
the sampling design; the same draws whatever the number of workers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, optimize, stats

import sustain
from sustain.scenario import scenario_from_dict
from sustain.scenario.uncertainty import DistKind, Distribution
from sustain.sweep import SweepError, propagate
from sustain.sweep.sample import multipliers
from tests.sweep.cases import small

N, HOURS, MTBF, REPAIR, STOCK, CV = 10, 12.0, 500.0, 30.0, 7, 0.4


def one_item() -> sustain.Scenario:
    """One site, one item, Poisson pipeline of mean N·h/MTBF·T; MTBF lognormal."""
    return scenario_from_dict({
        "sites": [{"id": "S"}], "systems": [{"id": "K"}],
        "fleets": [{"system": "K", "site": "S", "count": N, "hours_per_day": HOURS}],
        "items": [{"id": "I", "mtbf_hours": MTBF, "installed_in": [{"system": "K"}],
                   "depot_repair_days": REPAIR}],
        "stock": [{"item": "I", "site": "S", "qty": STOCK}],
        "uncertainty": {"mtbf_hours": {"dist": "lognormal", "cv": CV}},
    })


def availability(x: float) -> float:
    """A = max(0, 1 − EBO(s)/N) for a Poisson pipeline of mean μ = N·h·T/(MTBF·x)
    (Z = 1; Sherbrooke 2004, ch. 2), EBO(s) = μ − s + Σ_{k<s} (s − k) P(k)."""
    mu = N * HOURS * REPAIR / (MTBF * x)
    k = np.arange(STOCK)
    ebo = mu - STOCK + float(np.sum((STOCK - k) * stats.poisson.pmf(k, mu)))
    return max(0.0, 1.0 - ebo / N)


SIGMA = math.sqrt(math.log1p(CV**2))


def density(x: float) -> float:
    """The lognormal density of the multiplier (mean 1, coefficient of variation CV)."""
    z = (math.log(x) + SIGMA**2 / 2) / SIGMA
    return math.exp(-z * z / 2) / (x * SIGMA * math.sqrt(2 * math.pi))


def cdf(x: float) -> float:
    return integrate.quad(density, 0, x, limit=200)[0]


def quantile(q: float) -> float:
    return float(optimize.brentq(lambda x: cdf(x) - q, 1e-3, 20.0, xtol=1e-12))


def test_one_item_lognormal_mtbf_against_numerical_integration() -> None:
    samples = 1000
    res = propagate(one_item(), samples=samples, seed=3, target=0.9, method="metric")
    doc = res.to_dict()["fleets"][0]
    assert doc["base"] == pytest.approx(availability(1.0), rel=1e-9)
    # A rises with the multiplier, so its q-quantile is A at the multiplier's; a Latin
    # hypercube puts one draw in each 1/n of probability: within two strata of it.
    for key, q in (("q05", 0.05), ("q50", 0.5), ("q95", 0.95)):
        lo, hi = availability(quantile(q - 2 / samples)), availability(quantile(q + 2 / samples))
        assert lo <= doc[key] <= hi, key
    mean = integrate.quad(lambda x: availability(x) * density(x), 1e-6, 30, limit=400,
                          points=[0.5, 1.0, 2.0], epsabs=1e-12)[0]
    assert doc["mean"] == pytest.approx(mean, rel=2e-4)
    # P(A >= 0.9) = P(X >= x*) with A(x*) = 0.9.
    x_star = optimize.brentq(lambda x: availability(x) - 0.9, 0.05, 20.0, xtol=1e-12)
    p = 1.0 - cdf(x_star)
    assert abs(doc["p_meet"] - p) <= 2 / samples
    assert res.to_dict()["p_all_meet"] == doc["p_meet"]


def test_the_design_is_a_latin_hypercube_of_the_distributions() -> None:
    """Each input's draws fall one in each stratum of probability; the transforms are
    the distributions' inverse CDFs (SciPy's, computed independently)."""
    sc = scenario_from_dict({**small(), "uncertainty": {
        "mtbf_hours": {"dist": "lognormal", "cv": 0.3},
        "repair_days": {"dist": "triangular", "low": 0.8, "mode": 1.0, "high": 1.5},
        "order_ship_days": {"dist": "uniform", "low": 1, "high": 2},
        "items": [{"item": "C", "mtbf_hours": {"dist": "uniform", "low": 0.5, "high": 1}}]}})
    res = propagate(sc, samples=50, seed=11)
    assert [i.name for i in res.inputs] == ["mtbf_hours", "repair_days", "order_ship_days",
                                            "mtbf_hours of C"]
    s2 = math.log1p(0.09)
    dists = [stats.lognorm(s=math.sqrt(s2), scale=math.exp(-s2 / 2)),
             stats.triang(c=0.2 / 0.7, loc=0.8, scale=0.7), stats.uniform(1, 1),
             stats.uniform(0.5, 0.5)]
    for j, d in enumerate(dists):
        strata = np.floor(d.cdf(res.multipliers[:, j]) * 50).astype(int)
        assert sorted(strata.tolist()) == list(range(50))
    u = np.linspace(0.001, 0.999, 101)
    for dist, ref in ((Distribution(kind=DistKind.TRIANGULAR, low=0.8, mode=1.0, high=1.5),
                       dists[1]),
                      (Distribution(kind=DistKind.LOGNORMAL, cv=0.3), dists[0])):
        np.testing.assert_allclose(multipliers(dist, u), ref.ppf(u), rtol=1e-12)
    assert np.mean(multipliers(Distribution(kind=DistKind.LOGNORMAL, cv=0.3),
                               (np.arange(20000) + 0.5) / 20000)) == pytest.approx(1, abs=1e-3)


def test_same_draws_and_results_on_worker_processes() -> None:
    sc = scenario_from_dict({**small(), "uncertainty": {
        "mtbf_hours": {"dist": "lognormal", "cv": 0.3}}})
    one = propagate(sc, samples=40, seed=5, target=0.8).to_dict()
    assert propagate(sc, samples=40, seed=5, target=0.8, workers=2).to_dict() == one
    assert propagate(sc, samples=40, seed=6, target=0.8).to_dict() != one


def test_a_scenario_without_the_section_is_refused() -> None:
    with pytest.raises(SweepError, match="no uncertainty section"):
        propagate(scenario_from_dict(small()), samples=10, seed=1)
    with pytest.raises(SweepError, match="--samples 0"):
        propagate(one_item(), samples=0, seed=1)
