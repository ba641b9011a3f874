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
  upwards until a geometric bound on the rest is below ``SERIES_RTOL`` of the sum,
  or, where that would take many terms, is ``P(X > s) / p(s + 1)`` from the
  regularised incomplete gamma or beta function.  ``EBO(s) = m − s + L1`` is never
  used there: for ``s ≫ m`` it is the difference of two nearly equal numbers.
* The lower sums, ``P(X < s)`` and ``p(s)`` are accumulated term by term from
  ``p(0)`` for stocks up to ``LOOP_STOCK_MAX`` and means up to ``LOOP_MEAN_MAX``
  (the common case), otherwise taken from the regularised incomplete gamma and
  beta functions with the size-biasing identities ``x p_m(x) = m p_m(x − 1)``
  (Poisson) and ``x p_n(x) = m p_{n+1}(x − 1)`` (negative binomial), and likewise
  for ``x (x − 1) p(x)``; ``p(s + 1)`` then comes from log-gamma functions.

Rows are processed ``CHUNK_ROWS`` at a time; loops run over stock values or
series terms on the rows still active, never over rows.  Accuracy against mpmath
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
    "SERIES_CHECK_TERMS",
    "SERIES_MAX_TERMS",
    "SERIES_NORMAL_SPAN",
    "SERIES_RTOL",
    "SERIES_SCALAR_TERMS",
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
#: Terms of a tail series summed without a convergence test, on the rows whose
#: geometric bound asks for at most that many (each gets exactly what it asks for).
SERIES_SCALAR_TERMS = 24
#: Beyond ``SERIES_SCALAR_TERMS``, terms added between two convergence tests.
SERIES_CHECK_TERMS = 4
#: Terms summed one at a time.  Rows whose ``p(s + 1)`` comes from the recurrence
#: and that need more use the incomplete gamma / beta function instead; the others
#: go on in blocks.
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
#: Largest stock up to which the lower sums run on all rows unsorted.
_UNSORTED_STOCK_MAX = 3
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
#: Ratio bounds are clipped below 1 (which a tail's ratio never reaches in exact
#: arithmetic) so that the number of terms stays finite.
_RATIO_MAX = 1.0 - 2.0**-52
_LOG_SERIES_RTOL = float(np.log(SERIES_RTOL))


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
    holds a placeholder (1) that is never used, and ``p`` is 1; on negative
    binomial rows ``alpha`` is ``q`` itself (so ``log q = log alpha``).
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

    The negative binomial formulas run on every row at once (Poisson rows get a
    placeholder ``v = 2 m``), then the Poisson rows are overwritten: no gather or
    scatter of row subsets.
    """
    poisson = is_poisson(mean, var)
    k = mean.size
    if poisson.all():
        return _Fit(
            mean=mean,
            var=var,
            poisson=poisson,
            alpha=np.zeros(k),
            beta=mean,
            delta=mean,
            log_p0=-mean,
            n=np.ones(k),
            p=np.ones(k),
        )
    m = mean
    some = poisson.any()
    v = np.where(poisson, m + m, var) if some else var
    d = v - m  # > 0, and exact when v ≤ 2 m
    q = d / v
    p = m / v
    # n = m² / (v − m), kept away from 0 for means so tiny that it underflows
    # (the moments are then below ~1e-290 anyway).
    size = np.maximum(m * (m / d), _SIZE_MIN)
    beta = q * (size - 1.0)
    delta = m * p
    log_p0 = np.log1p(d / m)
    log_p0 *= -size  # n log p with p = m / v
    if some:
        np.copyto(q, 0.0, where=poisson)
        np.copyto(beta, m, where=poisson)
        np.copyto(delta, m, where=poisson)
        np.negative(m, out=log_p0, where=poisson)
        np.copyto(size, 1.0, where=poisson)
        np.copyto(p, 1.0, where=poisson)
    return _Fit(
        mean=mean,
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


def _lower_loop(
    stock: FloatArray, fit: _Fit
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """``P(X < s)``, ``L1``, ``L2`` and ``p(s)``, term by term from ``p(0)``.

    A loop over ``x = 0 .. max(s) − 1``.  Up to ``_UNSORTED_STOCK_MAX`` it runs on
    every row, with weights ``(s − x)⁺`` that vanish on the rows already done and
    ``p(s)`` copied out when ``x + 1 = s``; beyond, the rows are sorted by stock (a
    radix sort of small integers) so that those with ``s > x`` are a contiguous
    tail.  Both add the same terms in the same order.  Stocks must be at most
    ``LOOP_STOCK_MAX``.
    """
    size = stock.size
    top = int(stock.max()) if size else 0
    if top <= _UNSORTED_STOCK_MAX:
        return _lower_unsorted(stock, fit, top)
    order = np.argsort(stock.astype(np.uint8), kind="stable")
    s = stock[order]
    a = fit.alpha[order]
    b = fit.beta[order]
    d = fit.delta[order]
    p = np.exp(fit.log_p0[order])
    f = np.zeros(size)
    l1 = np.zeros(size)
    l2 = np.zeros(size)
    starts = np.searchsorted(s, np.arange(top, dtype=np.float64), side="right")
    for x in range(top):
        lo = int(starts[x])  # rows with s > x
        pp = p[lo:]
        w = s[lo:] - x
        f[lo:] += pp
        wp = w * pp
        l1[lo:] += wp
        wp *= w
        l2[lo:] += wp
        if x:
            r = b[lo:] / (x + 1)
            r += a[lo:]
            pp *= r
        else:
            pp *= d[lo:]
    cdf = np.empty(size)
    s1 = np.empty(size)
    s2 = np.empty(size)
    p_s = np.empty(size)
    cdf[order], s1[order], s2[order], p_s[order] = f, l1, l2, p
    return cdf, s1, s2, p_s


def _lower_unsorted(
    stock: FloatArray, fit: _Fit, top: int
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """:func:`_lower_loop` on every row for ``x = 0 .. top − 1`` (small ``top``)."""
    size = stock.size
    p = np.exp(fit.log_p0)
    p_s = p.copy()  # rows with s = 0
    f = np.zeros(size)
    l1 = np.zeros(size)
    l2 = np.zeros(size)
    w = np.empty(size)
    on = np.empty(size)
    wp = np.empty(size)
    for x in range(top):
        np.subtract(stock, x, out=w)
        np.maximum(w, 0.0, out=w)  # (s − x)⁺: 0 on rows with s ≤ x
        np.minimum(w, 1.0, out=on)
        on *= p
        f += on
        np.multiply(w, p, out=wp)
        l1 += wp
        wp *= w
        l2 += wp
        if x:
            r = fit.beta / (x + 1)
            r += fit.alpha
            p *= r
        else:
            p *= fit.delta
        np.copyto(p_s, p, where=stock == x + 1)
    return f, l1, l2, p_s


def _terms_needed(ratio: FloatArray) -> FloatArray:
    """Terms after which ``r^k ≤ SERIES_RTOL (1 − r) / r`` (the geometric bound), ≥ 1."""
    need = np.log1p(-ratio)
    need += _LOG_SERIES_RTOL
    need /= np.log(ratio)
    need -= 1.0
    np.ceil(need, out=need)
    return np.maximum(need, 1.0, out=need)


def _tail_ratio_sum(
    start: FloatArray,
    alpha: FloatArray,
    beta: FloatArray,
    max_terms: int | FloatArray = SERIES_MAX_TERMS,
) -> tuple[FloatArray, BoolArray]:
    """``U = Σ_{j≥0} p(y + j) / p(y)`` per row, with ``y = start``.

    Terms follow ``p(x + 1) / p(x) = α + β / (x + 1)``, which for ``x ≥ y > m``
    is below 1 and never above ``r = max(α + β / (y + 1), α)`` (it decreases
    towards ``α`` when ``β ≥ 0`` and increases towards it otherwise).  So the
    ``k``-th term is at most ``r^k``, and once ``r^k ≤ SERIES_RTOL (1 − r) / r``
    the terms left out sum to at most ``SERIES_RTOL`` of ``U`` (which is ≥ 1).

    Rows whose geometric bound asks for at most ``SERIES_SCALAR_TERMS`` terms get
    exactly that many, with no test: they are sorted by it (a radix sort of small
    integers) so that the rows still running are a contiguous tail.  The others
    go on, tested every ``SERIES_CHECK_TERMS`` terms (and from ``SERIES_STEP_TERMS``
    on in blocks of ``SERIES_BLOCK_TERMS``), until the terms left out, at most
    ``t R / (1 − R)`` with ``R = max(α + β / (x + 1), α)`` at the current ``x``,
    are below ``SERIES_RTOL`` of the sum.  Rows still running after ``max_terms``
    terms (a scalar or one value per row) are flagged in the second result.
    """
    size = start.size
    out = np.ones(size)
    open_ = np.zeros(size, dtype=np.bool_)
    if not size:
        return out, open_
    r = beta / (start + 1.0)
    r += alpha
    np.maximum(r, alpha, out=r)
    np.clip(r, 1e-300, _RATIO_MAX, out=r)
    need = _terms_needed(r)
    np.minimum(need, SERIES_SCALAR_TERMS + 1, out=need)
    order = np.argsort(need.astype(np.uint8), kind="stable")
    key = need[order]
    x = start[order]
    a = alpha[order]
    b = beta[order]
    t = np.ones(size)
    u = np.ones(size)
    z = x.copy()  # y + k
    fixed = min(int(key[-1]), SERIES_SCALAR_TERMS)
    starts = np.searchsorted(key, np.arange(1.0, fixed + 1.0), side="left")
    for k in range(fixed):
        lo = int(starts[k])  # rows needing more than k terms
        zk = z[lo:]
        zk += 1.0
        rk = b[lo:] / zk
        rk += a[lo:]
        tk = t[lo:]
        tk *= rk
        u[lo:] += tk
    lo = int(np.searchsorted(key, SERIES_SCALAR_TERMS + 1.0, side="left"))
    if lo < size:
        limit = max_terms if isinstance(max_terms, int) else max_terms[order][lo:]
        u[lo:], open_[lo:] = _tail_ratio_more(
            x[lo:], a[lo:], b[lo:], t[lo:], u[lo:], SERIES_SCALAR_TERMS, limit
        )
    out[order] = u
    flags = np.zeros(size, dtype=np.bool_)
    flags[order] = open_
    return out, flags


def _tail_ratio_more(
    x: FloatArray,
    a: FloatArray,
    b: FloatArray,
    t: FloatArray,
    u: FloatArray,
    k: int,
    limit: int | FloatArray,
) -> tuple[FloatArray, BoolArray]:
    """Go on with the series of :func:`_tail_ratio_sum` after ``k`` terms, with tests."""
    size = x.size
    out = u.copy()
    open_ = np.zeros(size, dtype=np.bool_)
    idx = np.arange(size)
    lim: int | FloatArray = limit
    steps = np.arange(1, SERIES_BLOCK_TERMS + 1, dtype=np.float64)
    while True:
        r = np.maximum(a + b / (x + (k + 1)), a)  # bounds the ratios of the terms left
        stop = t * r <= SERIES_RTOL * (1.0 - r) * u
        late = ~stop & (k >= lim)
        stop |= late
        if stop.any():
            out[idx[stop]] = u[stop]
            open_[idx[late]] = True
            keep = ~stop
            idx, x, a, b, t, u = idx[keep], x[keep], a[keep], b[keep], t[keep], u[keep]
            if not isinstance(lim, int):
                lim = lim[keep]
            if not idx.size:
                break
        if k < SERIES_STEP_TERMS:
            for _ in range(SERIES_CHECK_TERMS):
                k += 1
                t = t * (a + b / (x + k))
                u += t
        else:
            terms = t[:, None] * np.cumprod(
                a[:, None] + b[:, None] / (x[:, None] + (k + steps)), axis=1
            )
            u += terms.sum(axis=1)
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
    fit: _Fit,
    rows: npt.NDArray[np.intp] | None,
    stock: FloatArray,
    p_y: FloatArray,
    p_exact: BoolArray,
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

    ``U`` is summed from 1 upwards by :func:`_tail_ratio_sum`.  On rows whose
    ``p(y)`` came from the ratio recurrence (``p_exact``, accurate to a few ulps)
    and whose series has not converged after ``SERIES_STEP_TERMS`` terms,
    ``U = P(X > s) / p(y)`` with ``P(X > s)`` from :func:`_tail_closed`, i.e.
    ``EBO = y p(y) / c − (s − m) P(X > s)``.  Other rows keep summing in blocks (so
    that the error of a log-gamma ``p(y)`` is not amplified) unless both the ratio
    bound and the normal approximation promise more than ``SERIES_MAX_TERMS``
    terms, or the sum has not converged by then: those take :func:`_upper_closed`.

    Parameters
    ----------
    fit, rows
        The fit and the rows of it to evaluate (``None``: all), all with
        ``stock > mean``.
    stock
        ``s`` on those rows.
    p_y
        ``p(s + 1)`` on those rows (0 where it underflows: the moments are then
        below ~1e-300).
    p_exact
        Rows whose ``p_y`` is accurate to a few ulps.
    """
    if rows is None:
        m, a, b, c = fit.mean, fit.alpha, fit.beta, fit.p
    else:
        m, a, b, c = fit.mean[rows], fit.alpha[rows], fit.beta[rows], fit.p[rows]
    s = stock
    y = s + 1.0
    gap = s - m
    size = s.size
    direct = np.zeros(size, dtype=np.bool_)
    exact = bool(p_exact.all())
    limit: int | FloatArray = SERIES_STEP_TERMS
    if not exact:
        limit = np.where(p_exact, float(SERIES_STEP_TERMS), float(SERIES_MAX_TERMS))
        far = np.flatnonzero(~p_exact)
        v = fit.var[far if rows is None else rows[far]]
        d, span = gap[far], SERIES_NORMAL_SPAN * v
        r = np.maximum(a[far] + b[far] / (y[far] + 1.0), a[far])
        normal = span / (d + np.sqrt(d * d + span))
        direct[far] = (normal > SERIES_MAX_TERMS) & (r > _RATIO_FOR_MAX_TERMS)
    if not direct.any():
        u, open_ = _tail_ratio_sum(y, a, b, limit)
    else:
        u = np.ones(size)
        open_ = np.zeros(size, dtype=np.bool_)
        run = np.flatnonzero(~direct)
        lim_run = limit if isinstance(limit, int) else limit[run]
        u[run], open_[run] = _tail_ratio_sum(y[run], a[run], b[run], lim_run)
    if open_.any():
        via_tail = open_ & p_exact & (p_y > 0.0)
        if via_tail.any():
            sub = np.flatnonzero(via_tail)
            part = fit.take(sub if rows is None else rows[sub])
            u[sub] = _tail_closed(part, s[sub]) / p_y[sub]
        direct |= open_ & ~p_exact
    e = gap * u
    np.subtract(y / c, e, out=e)
    np.maximum(e, 0.0, out=e)
    f = c * gap
    np.subtract(1.0, f, out=f)
    f *= e
    f += s * u
    f /= c
    np.maximum(f, e, out=f)
    ebo = p_y * e
    vbo = ebo * e
    np.subtract(f, vbo, out=vbo)
    vbo *= p_y
    np.maximum(vbo, 0.0, out=vbo)
    if direct.any():
        sub = np.flatnonzero(direct)
        part = fit.take(sub if rows is None else rows[sub])
        ebo[sub], vbo[sub] = _upper_closed(part, s[sub])
    return ebo, vbo


def _moments_positive(
    mean: FloatArray, var: FloatArray, stock: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """EBO, VBO and fill rate for rows with a positive mean."""
    fit = _fit(mean, var)
    m, v, s = mean, var, stock
    size = m.size
    small = (s <= LOOP_STOCK_MAX) & (m <= LOOP_MEAN_MAX)
    if small.all():
        fill, l1, l2, p_s = _lower_loop(s, fit)
        large = np.zeros(0, dtype=np.intp)
    else:
        fill = np.empty(size)
        l1 = np.empty(size)
        l2 = np.empty(size)
        p_s = np.zeros(size)
        sm = np.flatnonzero(small)
        large = np.flatnonzero(~small)
        if sm.size:
            fill[sm], l1[sm], l2[sm], p_s[sm] = _lower_loop(s[sm], fit.take(sm))
        fill[large], l1[large], l2[large] = _lower_closed(fit.take(large), s[large])
    # s <= m: EBO = (m − s) + L1, VBO = v − L2 − 2 (m − s) L1 − L1².
    gap = m - s
    ebo = gap + l1
    vbo = v - l2
    gap *= 2.0
    gap *= l1
    vbo -= gap
    l1 *= l1
    vbo -= l1
    np.maximum(vbo, 0.0, out=vbo)
    above = s > m
    up = np.flatnonzero(above)
    if up.size:
        s_up = s[up]
        p_next = fit.beta[up] / (s_up + 1.0)
        p_next += fit.alpha[up]
        p_next *= p_s[up]  # p(s + 1) = p(s) (α + β / (s + 1))
        if large.size:
            big = np.flatnonzero(~small[up])
            if big.size:
                rows = up[big]
                p_next[big] = np.exp(_log_pmf(fit.take(rows), s[rows] + 1.0))
        ebo[up], vbo[up] = _upper_moments(fit, up, s_up, p_next, small[up])
    return ebo, vbo, np.clip(fill, 0.0, 1.0, out=fill)


def _moments_chunk(
    mean: FloatArray, var: FloatArray, stock: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """EBO, VBO and fill rate of one chunk of rows.

    Rows with a zero mean give 0, 0, 1, rows with a zero stock ``m``, ``v``, 0
    (``B = X``) without further work.
    """
    work = (mean > 0.0) & (stock > 0.0)
    if work.all():
        return _moments_positive(mean, var, stock)
    positive = mean > 0.0
    ebo = np.where(positive, mean, 0.0)
    vbo = np.where(positive, var, 0.0)
    fill = np.where(positive, 0.0, 1.0)
    rows = np.flatnonzero(work)
    if rows.size:
        ebo[rows], vbo[rows], fill[rows] = _moments_positive(mean[rows], var[rows], stock[rows])
    return ebo, vbo, fill


def _moments_flat(
    mean: FloatArray, var: FloatArray, stock: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """EBO, VBO and fill rate on validated 1-D arrays, ``CHUNK_ROWS`` rows at a time.

    Chunks keep the working arrays in cache (the loops touch them many times).
    """
    size = mean.size
    if size <= CHUNK_ROWS:
        return _moments_chunk(mean, var, stock)
    ebo = np.empty(size)
    vbo = np.empty(size)
    fill = np.empty(size)
    for lo in range(0, size, CHUNK_ROWS):
        part = slice(lo, lo + CHUNK_ROWS)
        ebo[part], vbo[part], fill[part] = _moments_chunk(mean[part], var[part], stock[part])
    return ebo, vbo, fill


def _as_rows(
    mean: npt.ArrayLike, var: npt.ArrayLike, stock: npt.ArrayLike | None = None
) -> tuple[FloatArray, FloatArray, FloatArray, tuple[int, ...]]:
    """Broadcast, flatten and check the inputs."""
    m = np.asarray(mean, dtype=np.float64)
    v = np.asarray(var, dtype=np.float64)
    s = np.asarray(0.0 if stock is None else stock, dtype=np.float64)
    m, v, s = np.broadcast_arrays(m, v, s)
    shape = m.shape
    m, v, s = m.ravel(), v.ravel(), s.ravel()
    if not (np.isfinite(m).all() and np.isfinite(v).all()):
        raise ValueError("pipeline mean and variance must be finite")
    if (m < 0.0).any() or (v < 0.0).any():
        raise ValueError("pipeline mean and variance must be non-negative")
    if not np.isfinite(s).all() or (s < 0.0).any() or (s != np.floor(s)).any():
        raise ValueError("stock must hold non-negative integers")
    return m, v, s, shape


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
