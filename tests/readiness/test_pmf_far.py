"""Pipeline probabilities of large means, carried from exact anchors by the ratio
recurrence, against the exact log pmf of every cell (Loader's decomposition)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from sustain.readiness import backorders as b


@pytest.mark.parametrize("seed", range(6))
def test_anchored_recurrence_matches_the_exact_pmf(seed: int) -> None:
    rng = np.random.default_rng(seed)
    m = float(10 ** rng.uniform(2.8, 5.0))
    v = m * (1.0 if seed % 2 else float(10 ** rng.uniform(0.0, 2.0)))
    width = int(m + 8 * np.sqrt(v)) + 300
    fit = b._fit(np.array([m]), np.array([v]))
    got = b._pmf_far(fit, width)[0]
    exact = np.exp(b._log_pmf(fit.take(np.zeros(width, dtype=np.intp)),
                              np.arange(width, dtype=np.float64)))
    shown = exact > 1e-290
    assert np.all(np.abs(got[shown] - exact[shown]) <= 1e-10 * exact[shown])
    assert np.all(np.abs(got[~shown]) <= 1e-280)
    assert abs(got.sum() - 1.0) < 1e-9


@pytest.mark.parametrize("mean", [2.28309149e-310, 5e-324, 1e-300])
def test_a_subnormal_mean_gives_probability_zero_far_above_it(mean: float) -> None:
    """A pipeline mean below the smallest normal float (an upper site with zero
    transit days can give one): P(X = 116) is 0, and P(X = 0) is 1, without a
    floating-point overflow on the way (a / b beyond the largest float)."""
    fit = b._fit(np.array([mean]), np.array([mean]))
    at = fit.take(np.zeros(2, dtype=np.intp))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # NumPy's default: overflow warns, underflow not
        got = np.exp(b._log_pmf(at, np.array([0.0, 116.0])))
    assert got[0] == pytest.approx(1.0) and got[1] == 0.0
    bo = b.backorder_moments(np.array([mean, mean]), np.array([mean, mean]),
                             np.array([0.0, 1.0]))
    assert bo.ebo[0] == pytest.approx(mean, rel=1e-9, abs=1e-320)  # no stock: EBO = mean
    assert 0.0 <= bo.ebo[1] <= mean and bo.fill_rate[1] == pytest.approx(1.0, abs=1e-12)
