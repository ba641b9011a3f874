"""Pipeline probabilities of large means, carried from exact anchors by the ratio
recurrence, against the exact log pmf of every cell (Loader's decomposition)."""

from __future__ import annotations

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
