"""Backorder moments of a pipeline: expected backorders, their variance, fill rate.

The pipeline of an item at a site (units in repair or resupply) is a random
variable ``X`` with mean ``m`` and variance ``v``.  METRIC takes it to be Poisson;
VARI-METRIC fits a negative binomial when ``v > m`` (Graves 1985, *Management
Science* 31(10); Sherbrooke 1986, *Operations Research* 34(2)), in SciPy's
parametrisation ``n = m² / (v − m)``, ``p = m / v``, ``q = 1 − p = (v − m) / v``.
With ``s`` units of stock the backorders are ``B = (X − s)⁺`` and (Sherbrooke
2004, *Optimal Inventory Modeling of Systems*, 2nd ed., ch. 2–3)::

    EBO(s)  = E[B]   = Σ_{x>s} (x − s) p(x)
    VBO(s)  = Var[B] = Σ_{x>s} (x − s)² p(x) − EBO(s)²
    fill(s) = P(X < s)          (share of demands met from stock, by PASTA)

Both distributions satisfy ``p(x + 1) / p(x) = α + β / (x + 1)`` (``α = 0, β = m``
for the Poisson; ``α = q, β = q (n − 1)`` for the negative binomial).  Every row is
evaluated at once on arrays, with care for cancellation:

* ``s ≤ m``: ``EBO = (m − s) + L1`` and ``VBO = v − L2 − 2 (m − s) L1 − L1²`` with
  the lower sums ``Lj = Σ_{x<s} (s − x)^j p(x)`` (both terms of EBO are ≥ 0; VBO
  never forms ``E[B²]`` and ``EBO²`` separately).
* ``s > m``: the tail series ``EBO = Σ_{k≥1} k p(s + k)`` and
  ``E[B²] = Σ_{k≥1} k² p(s + k)``, taken from ``p(s + 1)`` and
  ``U = Σ_{j≥0} p(s + 1 + j) / p(s + 1)`` through two exact identities that follow
  from the ratio recurrence (see :func:`_upper_moments`); ``U`` is summed from 1
  upwards for as many terms as a geometric bound on the rest needs to fall below
  ``SERIES_RTOL`` of the sum (counted in advance, so rows with equal counts run
  together), or, where that would take many terms, is ``P(X > s) / p(s + 1)``
  from the regularised incomplete gamma or beta function.  ``EBO(s) = m − s + L1`` is never
  used there: for ``s ≫ m`` it is the difference of two nearly equal numbers.
* The lower sums, ``P(X < s)`` and ``p(s)`` are accumulated term by term from
  ``p(0)`` for stocks up to ``LOOP_STOCK_MAX`` and means up to ``LOOP_MEAN_MAX``
  (the common case), otherwise taken from the regularised incomplete gamma and
  beta functions with the size-biasing identities ``x p_m(x) = m p_m(x − 1)``
  (Poisson) and ``x p_n(x) = m p_{n+1}(x − 1)`` (negative binomial), and likewise
  for ``x (x − 1) p(x)``; ``p(s + 1)`` then comes from log-gamma functions.

Rows are processed ``CHUNK_ROWS`` at a time, sorted (radix sorts of small integer
keys) so that each loop, over stock values or series terms, runs on a contiguous
run of the rows still active, never over rows; every row gets the same
operations in the same order whatever the other rows of the batch.  Accuracy against mpmath
sums of the definitions (see the tests), for means 1e-9 to 1e4, stocks 0 to 1e4
and variance-to-mean ratios 1 to 300: relative errors below about 1e-12 (EBO),
5e-11 (VBO) and 1e-13 (fill rate) for stocks up to 100 and means up to 500, and
below about 5e-11 (EBO) and 2e-10 (VBO) beyond, where ``p(s + 1)`` comes from
log-gamma functions (absolute error of its log a few ulps of ``s log s``).

Pure array code: no I/O, no printing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from sustain._types import BoolArray, FloatArray

__all__ = [
    "CHUNK_ROWS",
    "LOOP_MEAN_MAX",
    "LOOP_STOCK_MAX",
    "POISSON_VARIANCE_RTOL",
    "SERIES_BLOCK_TERMS",
    "SERIES_MAX_TERMS",
    "SERIES_NORMAL_SPAN",
    "SERIES_RTOL",
    "SERIES_STEP_TERMS",
    "BackorderMoments",
    "backorder_moments",
    "ebo_table",
    "is_poisson",
    "pipeline_pmf",
]

#: A pipeline is Poisson when ``var <= mean * (1 + POISSON_VARIANCE_RTOL)`` (or the
#: mean is 0); otherwise negative binomial.
POISSON_VARIANCE_RTOL = 1e-9
#: A tail series stops once a bound on the terms left out is below this share of
#: the sum.
SERIES_RTOL = 1e-17
#: Largest stock for which the lower sums are accumulated term by term from p(0).
LOOP_STOCK_MAX = 100
#: Largest mean for which the lower sums and pmf tables use the ratio recurrence
#: from p(0) (``p(0) ≥ e^{-500}`` keeps it far from underflow).
LOOP_MEAN_MAX = 500.0
#: Most terms of a tail series summed without a convergence test, each row getting
#: what the geometric bound asks for.  Rows whose ``p(s + 1)`` comes from the
#: recurrence and that need more use the incomplete gamma / beta function
#: instead; the others go on in blocks.
SERIES_STEP_TERMS = 64
#: Terms per block for the slow rows of a tail series.
SERIES_BLOCK_TERMS = 256
#: Most terms of a tail series; rows needing more use the closed forms.
SERIES_MAX_TERMS = 4_096
#: Terms a tail series is expected to need, from the normal approximation
#: ``(d + k)² − d² ≥ SERIES_NORMAL_SPAN · v`` with ``d = s − m``.
SERIES_NORMAL_SPAN = 90.0
#: Rows evaluated together (the working arrays of a chunk stay in cache).
CHUNK_ROWS = 32_768
#: A tail series goes on term by term while more rows than this are running, then
#: finishes them in one two-dimensional block.
_SERIES_BLOCK_ROWS = 256
#: Smallest negative binomial size ``n`` (only reached for means below ~1e-150).
_SIZE_MIN = 1e-300
#: From this size on, ``log Γ(n + x) − log Γ(n)`` is taken from Stirling's series.
_STIRLING_MIN = 100.0


def _ratio_for_terms(terms: int) -> float:
    """The ratio bound ``r`` at which ``r^k ≤ SERIES_RTOL (1 − r) / r`` needs ``terms`` terms."""
    lo, hi = 0.0, 1.0
    for _ in range(100):
        r = 0.5 * (lo + hi)
        need = np.log(SERIES_RTOL * (1.0 - r) / r) / np.log(r)
        lo, hi = (r, hi) if need <= terms else (lo, r)
    return lo


#: Rows whose ratio bound exceeds this may need more than ``SERIES_MAX_TERMS`` terms.
_RATIO_FOR_MAX_TERMS = _ratio_for_terms(SERIES_MAX_TERMS)
#: Ratio bounds clipped to this range before the number of terms is computed in
#: single precision: bounds below 1e-30 need 1 term, above the top more than
#: ``SERIES_STEP_TERMS`` (and never reach 1 in single precision).
_F32_RATIO_MIN = np.float32(1e-30)
_F32_RATIO_MAX = np.float32(_ratio_for_terms(SERIES_STEP_TERMS + 1))
_F32_LOG_SERIES_RTOL = np.float32(np.log(SERIES_RTOL))
#: Added to the single-precision number of terms (error below 1e-4) before truncation.
_F32_TERMS_MARGIN = np.float32(0.01)


@dataclass(frozen=True, slots=True)
class BackorderMoments:
    """Backorder moments per row.

    Attributes
    ----------
    ebo : FloatArray
        Expected backorders ``E[(X − s)⁺]``.
    vbo : FloatArray
        Variance of backorders ``Var[(X − s)⁺]``.
    fill_rate : FloatArray
        ``P(X ≤ s − 1) = P(X < s)``: the share of demands met from stock on arrival
        (PASTA); 1.0 where the mean is 0.
    """

    ebo: FloatArray
    vbo: FloatArray
    fill_rate: FloatArray


@dataclass(frozen=True, slots=True)
class _Fit:
    """The fitted distribution of rows with a positive mean.

    ``p(x + 1) / p(x) = alpha + beta / (x + 1)``, and ``delta = p(1) / p(0)``
    (``alpha + beta`` would cancel when ``n`` is tiny).  On Poisson rows ``n``
    holds a placeholder that is never used, and ``p`` is 1; on negative
    binomial rows ``alpha`` is ``q`` itself (so ``log q = log alpha``).  The
    arrays may share memory with the inputs and with each other: never write to
    them.
    """

    mean: FloatArray
    var: FloatArray
    poisson: BoolArray
    alpha: FloatArray  # 0 (Poisson) or q
    beta: FloatArray  # m (Poisson) or q (n − 1)
    delta: FloatArray  # m (Poisson) or q n = m p
    log_p0: FloatArray  # log P(X = 0): −m or n log p
    n: FloatArray
    p: FloatArray  # 1 (Poisson) or m / v

    def part(self, lo: int, hi: int) -> _Fit:
        """The fit of the rows ``lo .. hi − 1`` (views, not copies)."""
        return _Fit(
            mean=self.mean[lo:hi],
            var=self.var[lo:hi],
            poisson=self.poisson[lo:hi],
            alpha=self.alpha[lo:hi],
            beta=self.beta[lo:hi],
            delta=self.delta[lo:hi],
            log_p0=self.log_p0[lo:hi],
            n=self.n[lo:hi],
            p=self.p[lo:hi],
        )

    def take(self, rows: npt.NDArray[np.intp]) -> _Fit:
        """The fit of a subset of rows."""
        return _Fit(
            mean=self.mean[rows],
            var=self.var[rows],
            poisson=self.poisson[rows],
            alpha=self.alpha[rows],
            beta=self.beta[rows],
            delta=self.delta[rows],
            log_p0=self.log_p0[rows],
            n=self.n[rows],
            p=self.p[rows],
        )


def is_poisson(mean: npt.ArrayLike, var: npt.ArrayLike) -> BoolArray:
    """Whether each pipeline is fitted by a Poisson (else a negative binomial).

    The one place that picks the distribution from the moments: Poisson when the
    mean is 0 or ``var <= mean * (1 + POISSON_VARIANCE_RTOL)`` (METRIC; a variance
    below the mean is treated as Poisson too), negative binomial otherwise
    (VARI-METRIC: Graves 1985; Sherbrooke 1986).

    Parameters
    ----------
    mean, var : array_like
        Pipeline mean and variance (broadcast together).

    Returns
    -------
    BoolArray
        True where Poisson.
    """
    m = np.asarray(mean, dtype=np.float64)
    v = np.asarray(var, dtype=np.float64)
    return np.asarray((m == 0.0) | (v <= m * (1.0 + POISSON_VARIANCE_RTOL)), dtype=np.bool_)


def _fit(mean: FloatArray, var: FloatArray) -> _Fit:
    """Fit Poisson or negative binomial rows (all means > 0).

    The negative binomial formulas run on every row at once, then the Poisson rows
    are overwritten.
    """
    m = mean
    poisson = var <= m * (1.0 + POISSON_VARIANCE_RTOL)  # is_poisson() when m > 0
    k = m.size
    if poisson.all():
        return _Fit(
            mean=m,
            var=var,
            poisson=poisson,
            alpha=np.zeros(k),
            beta=m,
            delta=m,
            log_p0=-m,
            n=np.ones(k),
            p=np.ones(k),
        )
    # Negative binomial formulas on every row; on Poisson rows (v ≤ m, maybe 0) they
    # may divide by zero, and their values are overwritten below.
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = var - m  # > 0 on negative binomial rows, and exact when v ≤ 2 m
        q = d / var
        p = m / var
        # n = m² / (v − m), kept away from 0 for means so tiny that it underflows
        # (the moments are then below ~1e-290 anyway).
        size = m / d
        size *= m
        np.maximum(size, _SIZE_MIN, out=size)
        beta = size - 1.0
        beta *= q
        delta = m * p
        log_p0 = np.divide(d, m, out=d)
        np.log1p(log_p0, out=log_p0)
        log_p0 *= size
        np.negative(log_p0, out=log_p0)  # n log p with p = m / v
    pois = np.flatnonzero(poisson)
    if pois.size:  # (n keeps a meaningless value on Poisson rows: never used there)
        mp = m[pois]
        q[pois] = 0.0
        beta[pois] = mp
        delta[pois] = mp
        log_p0[pois] = -mp
        p[pois] = 1.0
    return _Fit(
        mean=m,
        var=var,
        poisson=poisson,
        alpha=q,
        beta=beta,
        delta=delta,
        log_p0=log_p0,
        n=size,
        p=p,
    )


def _stirling_tail(z: FloatArray) -> FloatArray:
    """``log Γ(z) − ((z − ½) log z − z + ½ log 2π)`` for ``z ≥ 100`` (error < 1e-21)."""
    w = 1.0 / (z * z)
    return (1.0 / 12.0 - w * (1.0 / 360.0 - w * (1.0 / 1260.0 - w / 1680.0))) / z


def _log_rising(n: FloatArray, x: FloatArray) -> FloatArray:
    """``log Γ(n + x) − log Γ(n)`` without the cancellation of two huge log-gammas.

    For ``n ≥ 100`` Stirling's series gives ``(n − ½) log1p(x / n) + x log(n + x) − x``
    plus the difference of the corrections, accurate to rounding in terms of the
    size of ``x log(n + x)``; smaller ``n`` use ``gammaln`` directly.
    """
    big = n >= _STIRLING_MIN
    nb = np.where(big, n, _STIRLING_MIN)
    stirling = (
        (nb - 0.5) * np.log1p(x / nb)
        + x * np.log(nb + x)
        - x
        + (_stirling_tail(nb + x) - _stirling_tail(nb))
    )
    ns = np.where(big, 1.0, n)
    direct = special.gammaln(ns + x) - special.gammaln(ns)
    return np.where(big, stirling, direct)


def _log_pmf(fit: _Fit, x: FloatArray) -> FloatArray:
    """``log P(X = x)`` from log-gamma functions, one ``x`` per row.

    The negative binomial uses ``log Γ(x + n) − log Γ(n)`` from :func:`_log_rising`
    (stable for the huge ``n`` of nearly Poisson pipelines), ``n log p`` from
    ``log1p`` and ``log q`` from ``(v − m) / v``: the absolute error is a few ulps
    of ``x |log n| + m``, i.e. about 1e-11 relative for ``x`` near 1e4.
    """
    out = np.empty(x.shape)
    pois = fit.poisson
    if pois.any():
        mp, xp = fit.mean[pois], x[pois]
        out[pois] = special.xlogy(xp, mp) - mp - special.gammaln(xp + 1.0)
    nb = ~pois
    if nb.any():
        xn = x[nb]
        comb = _log_rising(fit.n[nb], xn) - special.gammaln(xn + 1.0)
        out[nb] = comb + fit.log_p0[nb] + xn * np.log(fit.alpha[nb])
    return out


def _lower_loop(stock: FloatArray, fit: _Fit) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``P(X < s)``, ``L1`` and ``L2``, term by term from ``p(0)``.

    A loop over ``x = 0 .. max(s) − 1``; the rows must come sorted by stock, so
    that those with ``s > x`` are a contiguous tail.  Stocks must be at most
    ``LOOP_STOCK_MAX``.
    """
    size = stock.size
    p = np.exp(fit.log_p0)
    f = np.zeros(size)
    l1 = np.zeros(size)
    l2 = np.zeros(size)
    top = int(stock[-1]) if size else 0
    starts = np.searchsorted(stock, np.arange(top, dtype=np.float64), side="right")
    for x in range(top):
        lo = int(starts[x])  # rows with s > x
        pp = p[lo:]
        f[lo:] += pp
        w = stock[lo:] - x
        wp = w * pp
        l1[lo:] += wp
        wp *= w
        l2[lo:] += wp
        if x:
            r = fit.beta[lo:] / (x + 1)
            r += fit.alpha[lo:]
            pp *= r
        else:
            pp *= fit.delta[lo:]
    return f, l1, l2


def _upper_loop(stock: FloatArray, fit: _Fit) -> tuple[FloatArray, FloatArray]:
    """``P(X < s)`` and ``p(s + 1)``, term by term from ``p(0)``.

    As :func:`_lower_loop` (rows sorted by stock), with ``p`` carried one step
    further on each row instead of the sums ``L1`` and ``L2``.
    """
    size = stock.size
    p = np.exp(fit.log_p0)
    f = np.zeros(size)
    top = int(stock[-1]) if size else 0
    xs = np.arange(top + 1, dtype=np.float64)
    above = np.searchsorted(stock, xs, side="right")  # rows with s > x
    start = np.searchsorted(stock, xs, side="left")  # rows with s ≥ x
    for x in range(top + 1):
        f[above[x] :] += p[above[x] :]
        lo = int(start[x])
        pp = p[lo:]
        if x:
            r = fit.beta[lo:] / (x + 1)
            r += fit.alpha[lo:]
            pp *= r
        else:
            pp *= fit.delta[lo:]
    return f, p


def _tail_ratio_sum(
    start: FloatArray,
    alpha: FloatArray,
    beta: FloatArray,
    max_terms: int = SERIES_MAX_TERMS,
) -> tuple[FloatArray, BoolArray]:
    """``U = Σ_{j≥0} p(y + j) / p(y)`` per row, with ``y = start``.

    Terms follow ``p(x + 1) / p(x) = α + β / (x + 1)``, which for ``x ≥ y > m``
    is below 1 and never above ``r = max(α + β / (y + 1), α)`` (it decreases
    towards ``α`` when ``β ≥ 0`` and increases towards it otherwise).  So the
    ``k``-th term is at most ``r^k``, and once ``r^k ≤ SERIES_RTOL (1 − r) / r``
    the terms left out sum to at most ``SERIES_RTOL`` of ``U`` (which is ≥ 1).

    Every row gets the number of terms this bound asks for, up to
    ``SERIES_STEP_TERMS``, with no test: the rows are sorted by it (a radix sort
    of small integers), so that the rows still running are a contiguous tail,
    and the terms are added one at a time for all of them while that tail is
    long, then in one two-dimensional block for the few rows left.  Rows whose
    bound asks for more are flagged in the second result if ``max_terms`` is at
    most ``SERIES_STEP_TERMS``; otherwise they go on, in blocks of
    ``SERIES_BLOCK_TERMS``, until the terms left out, at most ``t R / (1 − R)``
    with ``R = max(α + β / (x + 1), α)`` at the current ``x``, are below
    ``SERIES_RTOL`` of the sum, and those still running after ``max_terms`` terms
    are flagged.
    """
    size = start.size
    if not size:
        return np.ones(0), np.zeros(0, dtype=np.bool_)
    rho = start + 1.0
    np.divide(beta, rho, out=rho)
    rho += alpha  # the first ratio p(y + 1) / p(y), i.e. the first term
    # Terms needed: k ≥ x − 1 with x = log(SERIES_RTOL (1 − r)) / log r, in single
    # precision (x to ~1e-5) plus a margin, the cast truncating: ⌊x + ε⌋ ≥ ⌈x − 1⌉.
    # At least 1; SERIES_STEP_TERMS + 1 stands for "more".
    r32 = np.empty(size, dtype=np.float32)
    np.maximum(rho, alpha, out=r32)
    np.clip(r32, _F32_RATIO_MIN, _F32_RATIO_MAX, out=r32)
    need = np.negative(r32)
    np.log1p(need, out=need)
    need += _F32_LOG_SERIES_RTOL
    need /= np.log(r32, out=r32)
    need += _F32_TERMS_MARGIN
    np.clip(need, 1.0, SERIES_STEP_TERMS + 1.0, out=need)
    key = need.astype(np.uint8)
    order = np.argsort(key, kind="stable")
    key = np.take(key, order)
    z = np.take(start, order)
    z += 1.0  # y + k in the loop, after the first term
    a = np.take(alpha, order)
    b = np.take(beta, order)
    t = np.take(rho, order)
    u = np.add(t, 1.0, out=rho)
    poisson = not a.max()  # α = 0 on every row (α ≥ 0)
    w = np.empty(size)
    # Rows asking for more than SERIES_STEP_TERMS terms (a contiguous tail) are
    # summed too only when max_terms allows more.
    more = int(np.searchsorted(key, np.uint8(SERIES_STEP_TERMS + 1), side="left"))
    end = size if max_terms > SERIES_STEP_TERMS else more
    top = min(int(key[end - 1]), SERIES_STEP_TERMS) if end else 0
    starts = np.searchsorted(key[:end], np.arange(1, top + 1, dtype=np.uint8), side="left")
    k = 1
    while k < top and end - starts[k] > _SERIES_BLOCK_ROWS:
        lo = int(starts[k])  # rows needing more than k terms
        zk = z[lo:end]
        zk += 1.0
        wk = np.divide(b[lo:end], zk, out=w[lo:end])
        if not poisson:
            wk += a[lo:end]
        tk = t[lo:end]
        tk *= wk
        u[lo:end] += tk
        k += 1
    if k < top:  # the few rows left: terms k + 1 .. top at once, each row to its own
        # (the same operations in the same order as above, whatever the batch)
        lo = int(starts[k])
        block = np.add(z[lo:end, None], np.arange(1.0, top - k + 1.0))
        np.divide(b[lo:end, None], block, out=block)
        if not poisson:
            block += a[lo:end, None]
        block[:, 0] *= t[lo:end]
        np.cumprod(block, axis=1, out=block)  # the terms k + 1 .. top
        t[lo:end] = block[:, -1]
        block[:, 0] += u[lo:end]
        np.cumsum(block, axis=1, out=block)  # and the sums, each row to its own count
        last = (np.minimum(key[lo:end], top) - (k + 1)).astype(np.intp)
        u[lo:end] = np.take_along_axis(block, last[:, None], axis=1)[:, 0]
        k = top
    out = w  # free now
    out[order] = u
    open_ = np.zeros(size, dtype=np.bool_)
    if more < size:
        rest = order[more:]
        if end == size:
            out[rest], open_[rest] = _tail_ratio_more(
                start[rest], a[more:], b[more:], t[more:], u[more:], k, max_terms
            )
        else:
            open_[rest] = True
    return out, open_


def _tail_ratio_more(
    x: FloatArray,
    a: FloatArray,
    b: FloatArray,
    t: FloatArray,
    u: FloatArray,
    k: int,
    limit: int,
) -> tuple[FloatArray, BoolArray]:
    """Go on with the series of :func:`_tail_ratio_sum` after ``k`` terms, with tests."""
    size = x.size
    out = u.copy()
    open_ = np.zeros(size, dtype=np.bool_)
    idx = np.arange(size)
    steps = np.arange(1, SERIES_BLOCK_TERMS + 1, dtype=np.float64)
    while True:
        r = np.maximum(a + b / (x + (k + 1)), a)  # bounds the ratios of the terms left
        stop = t * r <= SERIES_RTOL * (1.0 - r) * u
        late = ~stop & (k >= limit)
        stop |= late
        if stop.any():
            out[idx[stop]] = u[stop]
            open_[idx[late]] = True
            keep = ~stop
            idx, x, a, b, t, u = idx[keep], x[keep], a[keep], b[keep], t[keep], u[keep]
            if not idx.size:
                break
        terms = t[:, None] * np.cumprod(
            a[:, None] + b[:, None] / (x[:, None] + (k + steps)), axis=1
        )
        u = u + terms.sum(axis=1)  # (not in place: u may be the caller's)
        t = terms[:, -1].copy()
        k += SERIES_BLOCK_TERMS
    return out, open_


def _lower_closed(fit: _Fit, stock: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``P(X < s)``, ``L1``, ``L2`` from the regularised incomplete gamma / beta.

    ``F = P(X ≤ s − 1)``, ``G1 = E[X; X ≤ s − 1] = m P(Y ≤ s − 2)`` and
    ``G2 = E[X(X − 1); X ≤ s − 1] = c2 P(Z ≤ s − 3)`` with ``Y, Z`` Poisson(m)
    (``c2 = m²``) or NB(n + 1, p), NB(n + 2, p) (``c2 = n (n + 1) (q / p)²``); then
    ``L1 = s F − G1`` and ``L2 = s² F − 2 s G1 + G1 + G2``.
    """
    m, s = fit.mean, stock
    s1, s2, s3 = np.maximum(s, 1.0), np.maximum(s - 1.0, 1.0), np.maximum(s - 2.0, 1.0)
    f = np.empty_like(m)
    g1 = np.empty_like(m)
    g2 = np.empty_like(m)
    pois = fit.poisson
    if pois.any():
        mp = m[pois]
        f[pois] = special.gammaincc(s1[pois], mp)
        g1[pois] = mp * special.gammaincc(s2[pois], mp)
        g2[pois] = mp * mp * special.gammaincc(s3[pois], mp)
    nb = ~pois
    if nb.any():
        mn, n, q = m[nb], fit.n[nb], fit.alpha[nb]
        # I_p(n, k + 1) = 1 − I_q(k + 1, n): pass q, exact, not p = 1 − q (whose
        # rounding is raised to the power n).
        f[nb] = special.betaincc(s1[nb], n, q)
        g1[nb] = mn * special.betaincc(s2[nb], n + 1.0, q)
        c2 = mn * mn + (fit.var[nb] - mn)  # n (n + 1) (q / p)² = E[X (X − 1)]
        g2[nb] = c2 * special.betaincc(s3[nb], n + 2.0, q)
    f = np.where(s >= 1.0, f, 0.0)
    g1 = np.where(s >= 2.0, g1, 0.0)
    g2 = np.where(s >= 3.0, g2, 0.0)
    l1 = np.maximum(s * f - g1, 0.0)
    l2 = np.maximum(s * s * f - 2.0 * s * g1 + g1 + g2, 0.0)
    return f, l1, l2


def _tail_closed(fit: _Fit, stock: FloatArray) -> FloatArray:
    """``P(X > s)`` from the regularised incomplete gamma / beta function.

    ``P(X ≥ s + 1)`` is ``P(s + 1, m)`` (Poisson) or ``I_q(s + 1, n)`` (negative
    binomial), both computed directly in the upper tail (no ``1 − cdf``).
    """
    out = np.empty_like(fit.mean)
    pois = fit.poisson
    if pois.any():
        out[pois] = special.gammainc(stock[pois] + 1.0, fit.mean[pois])
    nb = ~pois
    if nb.any():
        out[nb] = special.betainc(stock[nb] + 1.0, fit.n[nb], fit.alpha[nb])
    return out


def _upper_closed(fit: _Fit, stock: FloatArray) -> tuple[FloatArray, FloatArray]:
    """EBO and VBO for ``s ≥ 1`` from the regularised incomplete gamma / beta alone.

    ``A0 = P(X > s)``, ``A1 = E[X; X > s] = m P(Y ≥ s)`` and
    ``A2 = E[X(X − 1); X > s] = c2 P(Z ≥ s − 1)`` with ``Y, Z`` Poisson(m)
    (``c2 = m²``) or NB(n + 1, p), NB(n + 2, p) (``c2 = n (n + 1) (q / p)²``);
    ``EBO = A1 − s A0`` and ``E[B²] = A2 − (2 s − 1) A1 + s² A0``.  For tail
    series too long to sum on rows whose ``p(s + 1)`` is not accurate to a few
    ulps (large means or stocks): the cancellation is mild near the bulk of the
    distribution, which is where such series are long.
    """
    m, s = fit.mean, stock
    s2 = np.maximum(s - 1.0, 1.0)
    a0 = np.empty_like(m)
    a1 = np.empty_like(m)
    a2 = np.empty_like(m)
    pois = fit.poisson
    if pois.any():
        mp = m[pois]
        a0[pois] = special.gammainc(s[pois] + 1.0, mp)
        a1[pois] = mp * special.gammainc(s[pois], mp)
        a2[pois] = mp * mp * special.gammainc(s2[pois], mp)
    nb = ~pois
    if nb.any():
        mn, n, q = m[nb], fit.n[nb], fit.alpha[nb]
        a0[nb] = special.betainc(s[nb] + 1.0, n, q)
        a1[nb] = mn * special.betainc(s[nb], n + 1.0, q)
        a2[nb] = (mn * mn + (fit.var[nb] - mn)) * special.betainc(s2[nb], n + 2.0, q)
    c2 = np.where(pois, m * m, m * m + (fit.var - m))  # E[X (X − 1)]
    a2 = np.where(s >= 2.0, a2, c2)
    ebo = np.maximum(a1 - s * a0, 0.0)
    e2 = np.maximum(a2 - (2.0 * s - 1.0) * a1 + s * s * a0, ebo)
    return ebo, np.maximum(e2 - ebo * ebo, 0.0)


def _upper_moments(
    fit: _Fit, stock: FloatArray, p_y: FloatArray, p_exact: bool
) -> tuple[FloatArray, FloatArray]:
    """EBO and VBO of rows with ``s > m`` from ``p(s + 1)`` and the tail beyond it.

    Summing ``(x + 1) p(x + 1) = (α x + α + β) p(x)`` (times 1 and times ``x``) over
    ``x ≥ y = s + 1``, with ``c = 1 − α``, ``α + β = c m`` and
    ``U = P(X ≥ y) / p(y)``::

        EBO    = p(y) · e,  e = y / c − (s − m) U
        E[B²]  = p(y) · (e (1 − c (s − m)) + s U) / c

    These are the series ``Σ_{k≥1} k p(s + k)`` and ``Σ_{k≥1} k² p(s + k)`` in
    closed form given ``U``.  The two terms of ``e`` exceed ``e`` by a factor of
    about ``y (1 − ρ)² / c`` at most (``ρ = p(y + 1) / p(y) < 1``), a few units for
    small stocks and at most about ``y``, so ``e`` keeps nearly the relative
    accuracy of ``U``.

    ``U`` is summed from 1 upwards by :func:`_tail_ratio_sum`.  When ``p(y)`` came
    from the ratio recurrence (``p_exact``: accurate to a few ulps), rows whose
    geometric bound asks for more than ``SERIES_STEP_TERMS`` terms are not summed
    but take ``U = P(X > s) / p(y)`` with ``P(X > s)`` from :func:`_tail_closed`,
    i.e. ``EBO = y p(y) / c − (s − m) P(X > s)``.  Otherwise rows keep summing in blocks
    (so that the error of a log-gamma ``p(y)`` is not amplified) unless both the
    ratio bound and the normal approximation promise more than
    ``SERIES_MAX_TERMS`` terms, or the sum has not converged by then: those take
    :func:`_upper_closed`.

    Parameters
    ----------
    fit
        Rows with ``stock > mean``.
    stock
        ``s`` on those rows.
    p_y
        ``p(s + 1)`` (0 where it underflows: the moments are then below ~1e-300).
    p_exact
        Whether ``p_y`` is accurate to a few ulps on every row.
    """
    m, a, b, c = fit.mean, fit.alpha, fit.beta, fit.p
    s = stock
    y = s + 1.0
    gap = s - m
    size = s.size
    direct = np.zeros(size, dtype=np.bool_)
    if p_exact:
        u, open_ = _tail_ratio_sum(y, a, b, SERIES_STEP_TERMS)
    else:
        span = SERIES_NORMAL_SPAN * fit.var
        r = np.maximum(a + b / (y + 1.0), a)
        normal = span / (gap + np.sqrt(gap * gap + span))
        direct = (normal > SERIES_MAX_TERMS) & (r > _RATIO_FOR_MAX_TERMS)
        u = np.ones(size)
        open_ = np.zeros(size, dtype=np.bool_)
        run = np.flatnonzero(~direct)
        u[run], open_[run] = _tail_ratio_sum(y[run], a[run], b[run])
    if open_.any():
        if p_exact:
            sub = np.flatnonzero(open_ & (p_y > 0.0))
            if sub.size:
                u[sub] = _tail_closed(fit.take(sub), s[sub]) / p_y[sub]
        else:
            direct |= open_
    e = gap * u
    f = np.divide(y, c, out=y)
    np.subtract(f, e, out=e)  # e = y / c − (s − m) U
    np.maximum(e, 0.0, out=e)
    np.multiply(c, gap, out=f)
    np.subtract(1.0, f, out=f)
    f *= e
    f += np.multiply(s, u, out=u)
    f /= c  # E[B²] / p(y)
    np.maximum(f, e, out=f)
    ebo = p_y * e
    e *= ebo
    vbo = np.subtract(f, e, out=f)
    vbo *= p_y
    np.maximum(vbo, 0.0, out=vbo)
    if direct.any():
        sub = np.flatnonzero(direct)
        ebo[sub], vbo[sub] = _upper_closed(fit.take(sub), s[sub])
    return ebo, vbo


def _lower_moments(
    mean: FloatArray, var: FloatArray, stock: FloatArray, l1: FloatArray, l2: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """EBO and VBO of rows with ``s ≤ m``: ``(m − s) + L1`` and ``v − L2 − 2 (m − s) L1 − L1²``."""
    gap = mean - stock
    ebo = gap + l1
    vbo = var - l2
    gap *= 2.0
    gap *= l1
    vbo -= gap
    vbo -= l1 * l1
    return ebo, np.maximum(vbo, 0.0, out=vbo)


def _moments_chunk(
    mean: FloatArray,
    var: FloatArray,
    stock: FloatArray,
    ebo: FloatArray,
    vbo: FloatArray,
    fill: FloatArray,
) -> None:
    """EBO, VBO and fill rate of one chunk of rows, written to ``ebo, vbo, fill``.

    The inputs are checked first (``ValueError``: moments as :func:`_check_rows`,
    stocks integers ≥ 0).  The rows are then sorted (a radix sort of a small
    integer key) into five runs: zero mean or zero stock (0, 0, 1 or ``m``, ``v``,
    0 without further work); ``s ≤ m`` and ``s > m`` with the stock and mean small
    enough for the recurrence from ``p(0)``, each by stock; ``s ≤ m`` and ``s > m``
    beyond.  Every step then works on contiguous runs, and the results are put
    back in place once.
    """
    size = mean.size
    if not size:
        return
    m_lo, m_hi, s_lo, top = mean.min(), mean.max(), stock.min(), float(stock.max())
    if not (m_lo >= 0.0 and m_hi < np.inf and var.min() >= 0.0 and var.max() < np.inf):
        _check_rows(mean, var)  # raises
    if not (s_lo >= 0.0 and top < np.inf and np.array_equal(np.floor(stock), stock)):
        raise ValueError("stock must hold non-negative integers")
    tail = stock > mean
    if s_lo > 0.0 and m_lo > 0.0:  # every row has work
        cls = tail.view(np.uint8) + np.uint8(1)  # 1: s ≤ m, 2: s > m
    else:
        work = stock > 0.0
        work &= mean > 0.0
        cls = tail.view(np.uint8) + work.view(np.uint8)
        cls *= work
    if top > LOOP_STOCK_MAX or m_hi > LOOP_MEAN_MAX:
        far = stock > LOOP_STOCK_MAX
        far |= mean > LOOP_MEAN_MAX
        far &= cls > 0
        cls += far.view(np.uint8) << 1  # 3, 4: the same beyond the recurrence's range
    # Sort by class, then by stock within the first two classes (≤ LOOP_STOCK_MAX).
    bits = 5 if top < 32.0 else 7
    kind = np.uint8 if bits == 5 else np.uint16
    key = np.left_shift(cls.astype(kind), bits)
    np.bitwise_or(key, np.minimum(stock, 2.0**bits - 1.0).astype(kind), out=key)
    order = np.argsort(key, kind="stable")
    counts = np.bincount(cls, minlength=5) if cls.max() > 2 else None
    if counts is None:
        n0 = size - int(np.count_nonzero(cls))
        n1 = n0 + int(np.count_nonzero(cls == 1))
        n2 = n3 = size
    else:
        n0, n1, n2, n3 = (int(c) for c in np.cumsum(counts)[:4])
    m, v, s = np.take(mean, order), np.take(var, order), np.take(stock, order)
    e = np.empty(size)
    vb = np.empty(size)
    f = np.empty(size)
    if n0:
        pos = m[:n0] > 0.0
        e[:n0] = m[:n0]
        np.multiply(v[:n0], pos, out=vb[:n0])
        np.subtract(1.0, pos, out=f[:n0])
    if n0 < size:
        fit = _fit(m[n0:], v[n0:])
        if n1 > n0:  # s ≤ m, recurrence
            sl = slice(n0, n1)
            f[sl], l1, l2 = _lower_loop(s[sl], fit.part(0, n1 - n0))
            e[sl], vb[sl] = _lower_moments(m[sl], v[sl], s[sl], l1, l2)
        if n2 > n1:  # s > m, recurrence
            sl = slice(n1, n2)
            part = fit.part(n1 - n0, n2 - n0)
            f[sl], p_y = _upper_loop(s[sl], part)
            e[sl], vb[sl] = _upper_moments(part, s[sl], p_y, True)
        if n3 > n2:  # s ≤ m, incomplete gamma / beta functions
            sl = slice(n2, n3)
            f[sl], l1, l2 = _lower_closed(fit.part(n2 - n0, n3 - n0), s[sl])
            e[sl], vb[sl] = _lower_moments(m[sl], v[sl], s[sl], l1, l2)
        if size > n3:  # s > m, incomplete gamma / beta and log-gamma functions
            sl = slice(n3, size)
            part = fit.part(n3 - n0, size - n0)
            f[sl], _, _ = _lower_closed(part, s[sl])
            p_y = np.exp(_log_pmf(part, s[sl] + 1.0))
            e[sl], vb[sl] = _upper_moments(part, s[sl], p_y, False)
        np.clip(f[n0:], 0.0, 1.0, out=f[n0:])
    ebo[order] = e
    vbo[order] = vb
    fill[order] = f


def _moments_flat(
    mean: FloatArray, var: FloatArray, stock: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """EBO, VBO and fill rate on 1-D arrays, ``CHUNK_ROWS`` rows at a time.

    Chunks keep the working arrays in cache (the loops touch them many times);
    each is checked just before it is evaluated.  The three results are rows of
    one array (one allocation, not three).
    """
    size = mean.size
    ebo, vbo, fill = np.empty((3, size))
    for lo in range(0, size, CHUNK_ROWS):
        part = slice(lo, lo + CHUNK_ROWS)
        _moments_chunk(mean[part], var[part], stock[part], ebo[part], vbo[part], fill[part])
    return ebo, vbo, fill


def _check_rows(mean: FloatArray, var: FloatArray) -> None:
    """Raise ``ValueError`` unless the moments are finite and non-negative.

    Reductions first (NaN fails every comparison), the slower checks on failure.
    """
    if not mean.size:
        return
    if not (mean.min() >= 0.0 and var.min() >= 0.0 and mean.max() < np.inf and var.max() < np.inf):
        if not (np.isfinite(mean).all() and np.isfinite(var).all()):
            raise ValueError("pipeline mean and variance must be finite")
        raise ValueError("pipeline mean and variance must be non-negative")


def _as_rows(
    mean: npt.ArrayLike, var: npt.ArrayLike, stock: npt.ArrayLike | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, tuple[int, ...]]:
    """Broadcast and flatten the inputs (checked by :func:`_moments_flat`)."""
    m = np.asarray(mean, dtype=np.float64)
    v = np.asarray(var, dtype=np.float64)
    s = np.asarray(0.0 if stock is None else stock, dtype=np.float64)
    m, v, s = np.broadcast_arrays(m, v, s)
    shape = m.shape
    return m.ravel(), v.ravel(), s.ravel(), shape


def backorder_moments(
    mean: npt.ArrayLike, var: npt.ArrayLike, stock: npt.ArrayLike
) -> BackorderMoments:
    """Expected backorders, their variance and the fill rate of every row.

    For a pipeline ``X`` with the given mean and variance (Poisson, or negative
    binomial when the variance exceeds the mean: see :func:`is_poisson`) and stock
    ``s``: ``EBO = E[(X − s)⁺]``, ``VBO = Var[(X − s)⁺]`` and the fill rate
    ``P(X < s)`` (Sherbrooke 2004, *Optimal Inventory Modeling of Systems*, 2nd
    ed., ch. 2 for EBO and VBO, ch. 3 for the fill rate; Graves 1985 and
    Sherbrooke 1986 for the negative binomial fit).  Relative accuracy about 1e-12
    (EBO) and 5e-11 (VBO) for stocks up to 100 and means up to 500, 5e-11 and 2e-10
    up to means and stocks of 1e4, however small the backorders (no cancellation:
    ``m = 1e-9, s = 1`` gives ``EBO ≈ 5e-19`` to 12 digits).  Rows with a zero mean
    give 0, 0 and fill rate 1.

    Parameters
    ----------
    mean, var : array_like
        Pipeline mean ``m ≥ 0`` and variance ``v ≥ 0`` (finite).
    stock : array_like
        Stock ``s``: non-negative integer values (floats or ints).

    Returns
    -------
    BackorderMoments
        Arrays of the broadcast shape of the inputs.

    Raises
    ------
    ValueError
        On negative or non-finite moments, or a negative or fractional stock.
    """
    m, v, s, shape = _as_rows(mean, var, stock)
    with np.errstate(under="ignore"):
        ebo, vbo, fill = _moments_flat(m, v, s)
    return BackorderMoments(
        ebo=ebo.reshape(shape), vbo=vbo.reshape(shape), fill_rate=fill.reshape(shape)
    )


def _pmf_rows(mean: FloatArray, var: FloatArray, width: int) -> FloatArray:
    """``P(X = x)`` for ``x = 0 .. width − 1`` on each row, shape (rows, width)."""
    out = np.zeros((mean.size, width))
    if width == 0:
        return out
    out[mean == 0.0, 0] = 1.0
    pos = np.flatnonzero(mean > 0.0)
    if not pos.size:
        return out
    fit = _fit(mean[pos], var[pos])
    rec = fit.mean <= LOOP_MEAN_MAX
    if rec.any():
        rows = pos[rec]
        a, b, d = fit.alpha[rec], fit.beta[rec], fit.delta[rec]
        col = np.exp(fit.log_p0[rec])
        block = np.empty((rows.size, width))
        block[:, 0] = col
        for x in range(1, width):
            col = col * (a + b / x if x > 1 else d)
            block[:, x] = col
        out[rows] = block
    if not rec.all():
        far = np.flatnonzero(~rec)
        rows_far = np.repeat(far, width)
        xs = np.tile(np.arange(width, dtype=np.float64), far.size)
        out[pos[far]] = np.exp(_log_pmf(fit.take(rows_far), xs)).reshape(far.size, width)
    return out


def pipeline_pmf(mean: float, var: float, n: int) -> FloatArray:
    """``P(X = 0 .. n − 1)`` of the pipeline distribution fitted to a mean and variance.

    Poisson or negative binomial as chosen by :func:`is_poisson` (Sherbrooke 2004,
    ch. 2; Graves 1985; Sherbrooke 1986).  For means up to ``LOOP_MEAN_MAX`` the ratio
    recurrence from ``p(0)`` (relative error about ``x`` ulps at ``x``), beyond it
    log-gamma functions (about ``1e-16 · m log m`` relative).

    Parameters
    ----------
    mean, var : float
        Pipeline mean and variance (non-negative, finite).
    n : int
        Number of probabilities wanted.

    Returns
    -------
    FloatArray
        Shape ``(n,)``.
    """
    if n < 0:
        raise ValueError("n must be non-negative")
    m, v, _, _ = _as_rows(float(mean), float(var))
    _check_rows(m, v)
    with np.errstate(under="ignore"):
        return _pmf_rows(m, v, int(n))[0]


def ebo_table(mean: npt.ArrayLike, var: npt.ArrayLike, max_stock: int) -> FloatArray:
    """``EBO(s)`` for ``s = 0 .. max_stock`` on every row.

    ``EBO(S)`` for the top stock ``S`` comes from :func:`backorder_moments`, then
    ``EBO(s) = EBO(s + 1) + P(X > s)`` downwards (Sherbrooke 2004, ch. 2), with
    ``P(X > s) = P(X > S) + Σ_{x=s+1}^{S} p(x)``: sums of positive terms only, so
    the table has the accuracy of :func:`backorder_moments`.

    Parameters
    ----------
    mean, var : array_like
        Pipeline means and variances (broadcast together, flattened to rows).
    max_stock : int
        Largest stock in the table (≥ 0).

    Returns
    -------
    FloatArray
        Shape ``(rows, max_stock + 1)``.
    """
    if max_stock < 0:
        raise ValueError("max_stock must be non-negative")
    top = int(max_stock)
    m, v, _, _ = _as_rows(mean, var)
    _check_rows(m, v)
    with np.errstate(under="ignore"):
        e_top, _, _ = _moments_flat(m, v, np.full(m.size, float(top)))
        if top == 0:
            return e_top[:, None].copy()
        e_next, _, _ = _moments_flat(m, v, np.full(m.size, float(top + 1)))
        beyond = np.maximum(e_top - e_next, 0.0)  # P(X > S)
        pmf = _pmf_rows(m, v, top + 1)
        # exceed[:, j] = P(X > j) for j = 0 .. S − 1
        exceed = beyond[:, None] + np.cumsum(pmf[:, :0:-1], axis=1)[:, ::-1]
        table = np.empty((m.size, top + 1))
        table[:, top] = e_top
        table[:, :top] = e_top[:, None] + np.cumsum(exceed[:, ::-1], axis=1)[:, ::-1]
    return table
