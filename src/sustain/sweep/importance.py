"""Variance-based importance: Sobol' indices of the ``uncertainty:`` section's inputs.

For an output ``Y = f(X₁, …, X_d)`` of independent inputs, the first-order index of
input ``i`` is the share of the variance of ``Y`` that ``Xᵢ`` explains alone,
``Sᵢ = V(E[Y | Xᵢ]) / V(Y)``, and its total index the share it takes part in, with
every interaction, ``S_Tᵢ = E[V(Y | X₋ᵢ)] / V(Y)`` (Sobol' 1993; Homma and Saltelli
1996).  ``S_Tᵢ ≈ 0`` means the input can be fixed at any value without changing the
output; ``Σ Sᵢ = 1`` for an additive output.

Design (Saltelli 2002; Saltelli et al. 2010): two independent samples ``A`` and ``B``
of ``N`` points of the inputs, and for each input ``i`` the matrix ``A_B⁽ⁱ⁾``: ``A``
with its column ``i`` taken from ``B``; the output at the ``N (d + 2)`` points.
Here ``A`` is the propagation's own Latin hypercube (its draws are measured once and
serve both), ``B`` a second Latin hypercube drawn from an independent stream of the
same seed, so ``N (d + 1)`` points are added to the propagation's ``N``.  A Latin
hypercube's points are each uniform on the cube, so the estimators below keep their
expectations; they are consistent as ``N`` grows.

Estimators, after centring the outputs on their mean over ``A`` and ``B`` (Sobol' and
Levitan 1999), with ``V`` the variance over ``A`` and ``B`` together:

* first order, Saltelli et al. (2010), Table 2 (b):
  ``Sᵢ = mean(f(B) · (f(A_B⁽ⁱ⁾) − f(A))) / V``;
* total, Jansen (1999), Saltelli et al. (2010), Table 2 (f):
  ``S_Tᵢ = mean((f(A) − f(A_B⁽ⁱ⁾))²) / (2 V)``.

These are the formulas of SciPy's ``scipy.stats.sobol_indices`` (which the tests run
against these): that function is not called itself because it wants ``N`` a power of
two and its bootstrap cannot be seeded.  An output that does not vary has indices 0
(nothing matters to it), as in SciPy; an output with a missing value (a fleet of no
systems, a cost whose target some draw cannot reach) has none (NaN).

Confidence intervals: the percentile bootstrap over the ``N`` rows (Archer, Saltelli
and Sobol' 1997; SciPy's ``scipy.stats.bootstrap``), :data:`RESAMPLES` resamples,
seeded from the sweep's seed.  They treat the rows as independent draws; the rows of
a Latin hypercube are not quite, and its estimates vary less than independent draws'
(Stein 1987), so the intervals err on the wide side.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sustain._types import FloatArray

#: Bootstrap resamples for the confidence intervals.
RESAMPLES = 999
#: Confidence level of the intervals.
CONFIDENCE = 0.95
#: The bootstrap draws its resamples' row numbers in batches of about this many rows
#: in all (8 bytes each), not all at once.
BOOTSTRAP_ROWS = 4_000_000
#: Fewest base samples the estimators are given (below this the bootstrap has too few
#: rows to resample).
MIN_SAMPLES = 2


def sobol_estimates(f_a: FloatArray, f_b: FloatArray,
                    f_ab: FloatArray) -> tuple[FloatArray, FloatArray]:
    """First-order and total Sobol' indices, each (inputs × outputs).

    Parameters
    ----------
    f_a, f_b : FloatArray
        (outputs × N) the outputs at the points of ``A`` and of ``B``.
    f_ab : FloatArray
        (inputs × outputs × N) the outputs at ``A_B⁽ⁱ⁾`` for each input ``i``.

    Returns
    -------
    first, total : FloatArray
        Saltelli et al. (2010) Table 2 (b) and Jansen (1999); 0 for an output that does
        not vary, NaN for an output with a value that is not finite.
    """
    mean = np.mean([f_a, f_b], axis=(0, -1))[:, None]
    a, b, ab = f_a - mean, f_b - mean, f_ab - mean
    var = np.var([a, b], axis=(0, -1))
    with np.errstate(divide="ignore", invalid="ignore"):
        first = np.mean(b * (ab - a), axis=-1) / var
        total = 0.5 * np.mean((a - ab) ** 2, axis=-1) / var
    flat = var == 0
    first = np.where(flat, 0.0, first)
    total = np.where(flat, 0.0, total)
    bad = ~(np.all(np.isfinite(f_a), axis=-1) & np.all(np.isfinite(f_b), axis=-1)
            & np.all(np.isfinite(f_ab), axis=(0, -1)))
    first = np.where(bad, np.nan, first)
    total = np.where(bad, np.nan, total)
    return np.asarray(first, dtype=np.float64), np.asarray(total, dtype=np.float64)


@dataclass(frozen=True, slots=True, kw_only=True)
class Indices:
    """Sobol' indices with their confidence intervals, each (inputs × outputs).

    Attributes
    ----------
    first, first_low, first_high : FloatArray
        First-order index and its interval.
    total, total_low, total_high : FloatArray
        Total index and its interval.
    samples : int
        Base samples ``N`` (the output was measured at ``N (d + 2)`` points).
    confidence : float
        Level of the intervals.
    resamples : int
        Bootstrap resamples.
    """

    first: FloatArray
    first_low: FloatArray
    first_high: FloatArray
    total: FloatArray
    total_low: FloatArray
    total_high: FloatArray
    samples: int
    confidence: float
    resamples: int


def sobol_indices(f_a: FloatArray, f_b: FloatArray, f_ab: FloatArray, *,
                  rng: np.random.Generator, confidence: float = CONFIDENCE,
                  resamples: int = RESAMPLES) -> Indices:
    """:func:`sobol_estimates` with percentile-bootstrap intervals over the rows.

    Parameters
    ----------
    f_a, f_b, f_ab : FloatArray
        As for :func:`sobol_estimates` (``N`` at least :data:`MIN_SAMPLES`).
    rng : numpy.random.Generator
        Draws the resamples.
    confidence : float
        Level of the intervals.
    resamples : int
        Bootstrap resamples.
    """
    # Imported here, not at the top: scipy.stats (about 1 s to import) only for this.
    from scipy.stats import bootstrap

    f_a, f_b, f_ab = (np.asarray(x, dtype=np.float64) for x in (f_a, f_b, f_ab))
    n = f_a.shape[-1]
    if n < MIN_SAMPLES:
        raise ValueError(f"Sobol' indices need at least {MIN_SAMPLES} base samples: got {n}")
    first, total = sobol_estimates(f_a, f_b, f_ab)
    # Outputs with a value that is not finite have no indices: only the others are
    # resampled (a NaN would spoil every interval).
    ok = np.isfinite(first[0]) if first.size else np.zeros(0, dtype=bool)
    lo = np.full((2, *first.shape), np.nan)
    hi = np.full((2, *first.shape), np.nan)
    if np.any(ok):
        a, b, ab = f_a[ok], f_b[ok], f_ab[:, ok]

        def statistic(idx: Any) -> FloatArray:
            rows = np.asarray(idx, dtype=np.intp)
            s, t = sobol_estimates(a[:, rows], b[:, rows], ab[..., rows])
            return np.stack([s, t])

        res = bootstrap((np.arange(n),), statistic, vectorized=False,
                        n_resamples=resamples, confidence_level=confidence,
                        method="percentile", rng=rng,
                        batch=max(1, min(resamples, BOOTSTRAP_ROWS // n)))
        lo[:, :, ok] = res.confidence_interval.low
        hi[:, :, ok] = res.confidence_interval.high
    return Indices(
        first=first, total=total, first_low=lo[0], first_high=hi[0], total_low=lo[1],
        total_high=hi[1], samples=n, confidence=confidence, resamples=resamples,
    )


def _value(x: float) -> float | None:
    return float(x) if math.isfinite(x) else None


def index_rows(indices: Indices, names: list[str], column: int) -> list[dict[str, Any]]:
    """Per input, the JSON row of output ``column``: ``input``, ``first``,
    ``first_low``, ``first_high``, ``total``, ``total_low``, ``total_high``."""
    return [
        {"input": name,
         "first": _value(float(indices.first[i, column])),
         "first_low": _value(float(indices.first_low[i, column])),
         "first_high": _value(float(indices.first_high[i, column])),
         "total": _value(float(indices.total[i, column])),
         "total_low": _value(float(indices.total_low[i, column])),
         "total_high": _value(float(indices.total_high[i, column]))}
        for i, name in enumerate(names)
    ]
