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
  (the common case).  Beyond, ``p(s)`` comes from Loader's exact decomposition
  (:func:`_log_pmf`, accurate at any mean), ``P(X < s)`` from the regularised
  incomplete gamma or beta function, and the lower sums from the identities of
  :func:`_lower_closed`, whose terms exceed the result by ``1 + k²`` at most at
  ``s = m − k √v`` (the textbook ``s F − E[X; X < s]`` loses a factor ``√m``).
  Upper Poisson tails of means from ``TEMME_MIN_SHAPE`` on take Temme's uniform
  expansion (SciPy's ``gammainc`` cuts its series short there).

Rows are processed ``CHUNK_ROWS`` at a time, sorted (radix sorts of small integer
keys) so that each loop, over stock values or series terms, runs on a contiguous
run of the rows still active, never over rows; every row gets the same
operations in the same order whatever the other rows of the batch.  Accuracy against mpmath
sums of the definitions (see the tests), for means 1e-9 to 1e4, stocks 0 to 1e4
and variance-to-mean ratios 1 to 300: relative errors below about 1e-12 (EBO),
5e-11 (VBO) and 1e-13 (fill rate) for stocks up to 100 and means up to 500, and
below about 5e-11 (EBO) and 2e-10 (VBO) beyond; for means up to 1e16 and stocks
up to 1e9, 1e-9 relative or 1e-12 absolute (docs/method.md, "Numerics", with its
known limits).

Pure array code: no I/O, no printing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import special

from sustain._types import BoolArray, FloatArray
from sustain.errors import AccuracyError

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
    "fill_rates",
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
#: Shape ``a`` from which the upper Poisson tail ``P(a, m)`` (``m < a``) is taken
#: from Temme's uniform expansion rather than SciPy's ``gammainc``.
TEMME_MIN_SHAPE = 1e4
#: Largest ``|η|`` for Temme's expansion (``m / a`` above about 0.75).
TEMME_MAX_ETA = 0.3
#: ``m / a`` at which ``|η| = TEMME_MAX_ETA``: ``λ − 1 − log λ = η² / 2``.
_TEMME_MIN_RATIO = 0.7477
#: ``c_0, c_1, c_2`` of Temme's expansion as power series in ``η`` (Cephes ``igam``).
_TEMME_COEFS = (
    (
        -1.0 / 3.0,
        1.0 / 12.0,
        -2.0 / 135.0,
        1.0 / 864.0,
        1.0 / 2835.0,
        -139.0 / 777600.0,
        1.0 / 25515.0,
        -571.0 / 261273600.0,
    ),
    (-1.0 / 540.0, -1.0 / 288.0, 1.0 / 378.0, -77.0 / 77760.0, 1.0 / 4860.0),
    (25.0 / 6048.0, -139.0 / 51840.0, 1.0 / 1296.0),
)
#: Shifts of the stock tried where SciPy's incomplete beta function returns NaN.
_NAN_SHIFTS = (1, 2, 3, 5, 8, 16, 32)
#: Terms of the series of ``bd0`` (Loader 2000) where ``|v| < 0.1``.
_BD0_TERMS = 10
_TWO_PI = 2.0 * np.pi
_HALF_LOG_2PI = 0.5 * np.log(_TWO_PI)


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


def _stirlerr(z: FloatArray) -> FloatArray:
    """``log Γ(z + 1) − (z + ½) log z + z − ½ log 2π`` for ``z > 0``.

    Stirling's series from ``z = 100`` (:func:`_stirling_tail`), log-gamma below
    (absolute error a few ulps of ``log Γ(101)``, about 1e-13).
    """
    big = z >= _STIRLING_MIN
    zb = np.where(big, z, _STIRLING_MIN)
    zs = np.where(big, 1.0, z)
    direct = special.gammaln(zs + 1.0) - (zs + 0.5) * np.log(zs) + zs - _HALF_LOG_2PI
    return np.where(big, _stirling_tail(zb), direct)


def _bd0(a: FloatArray, b: FloatArray, d: FloatArray) -> FloatArray:
    """``a log(a / b) + b − a`` given ``d = a − b`` (``a ≥ 0``, ``b > 0``).

    The deviance term of Loader (2000).  Where ``|d| < (a + b) / 10`` it is the
    series ``d v + 2 a Σ_{j≥1} v^{2j+1} / (2j + 1)`` with ``v = d / (a + b)``
    (``|v| < 0.1``: ten terms reach 1e-20 relative), free of the cancellation of
    the direct form; ``d`` is passed in so that the difference of two huge,
    nearly equal numbers is never formed.
    """
    total = a + b
    near = np.abs(d) < 0.1 * total
    v = np.divide(d, total, out=np.zeros_like(d), where=total > 0.0)
    v2 = v * v
    term = 2.0 * a * v
    series = d * v
    for j in range(1, _BD0_TERMS + 1):
        term = term * v2
        series = series + term / (2 * j + 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # a / b → inf: pmf 0
        direct = special.xlogy(a, a / b) - d
    return np.where(near, series, direct)


def _log_pmf(fit: _Fit, x: FloatArray) -> FloatArray:
    """``log P(X = x)``, one ``x`` per row, accurate for any mean and ``x``.

    Loader's decomposition (C. Loader, *Fast and accurate computation of binomial
    probabilities*, 2000; as in R's ``dpois`` and ``dnbinom``), which is exact,
    not an approximation: ``log p(x) = −stirlerr(x) − bd0(x, m) − ½ log 2πx`` for
    the Poisson and, with ``N = x + n``,
    ``log(n / N) + stirlerr(N) − stirlerr(n) − stirlerr(x) − bd0(n, N p) −
    bd0(x, N q) − ½ log(2π n x / N)`` for the negative binomial, whose deviance
    arguments differ by ``∓ p (x − m)``.  Every term is small or computed without
    cancellation, so the absolute error of the log stays a few ulps of its
    size plus about 1e-13 (log-gamma below ``z = 100``), where log-gamma
    differences lose ``x log m`` to rounding (about 1e-10 relative at ``x`` near
    1e6, everything at 1e16).  ``x = 0`` gives ``log p(0)``.
    """
    out = np.empty(x.shape)
    zero = x == 0.0
    xs = np.where(zero, 1.0, x)
    pois = fit.poisson
    with np.errstate(divide="ignore", invalid="ignore"):
        if pois.any():
            mp, xp = fit.mean[pois], xs[pois]
            out[pois] = (
                -_stirlerr(xp) - _bd0(xp, mp, xp - mp) - 0.5 * np.log(_TWO_PI * xp)
            )
        nb = ~pois
        if nb.any():
            xn, n, m = xs[nb], fit.n[nb], fit.mean[nb]
            pp, qq = fit.p[nb], fit.alpha[nb]
            big = xn + n
            gap = pp * (xn - m)  # x − N q = −(n − N p)
            out[nb] = (
                np.log(n / big)
                + _stirlerr(big)
                - _stirlerr(n)
                - _stirlerr(xn)
                - _bd0(n, big * pp, -gap)
                - _bd0(xn, big * qq, gap)
                - 0.5 * (np.log(_TWO_PI * n) + np.log(xn / big))
            )
    return np.where(zero, fit.log_p0, out)


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


def _below(fit: _Fit, stock: FloatArray) -> FloatArray:
    """``P(X < s)`` (``s ≥ 1``) from the regularised incomplete gamma / beta function.

    ``Q(s, m)`` (Poisson) or ``1 − I_q(s, n)`` (negative binomial), computed in the
    lower tail directly (no ``1 − cdf``).
    """
    out = np.empty_like(fit.mean)
    pois = fit.poisson
    if pois.any():
        k, mp = stock[pois], fit.mean[pois]
        got = special.gammaincc(k, mp)
        temme = _temme_rows(k, mp)
        if temme.any():  # above the mean: 1 − P(X ≥ s), with P from Temme's expansion
            got[temme] = 1.0 - _gamma_p_temme(k[temme], mp[temme])
        out[pois] = got
    nb = ~pois
    if nb.any():
        # I_p(n, s) = 1 − I_q(s, n): pass q, exact, not p = 1 − q (whose rounding is
        # raised to the power n).
        got = special.betaincc(stock[nb], fit.n[nb], fit.alpha[nb])
        if np.isnan(got).any():
            bad = np.isnan(got)
            rows = np.flatnonzero(nb)[bad]
            up = special.betainc(stock[rows], fit.n[rows], fit.alpha[rows])
            got[bad] = 1.0 - _nb_at_least_safe(fit.take(rows), stock[rows], up)
        out[nb] = got
    return out


def _nb_at_least_safe(fit: _Fit, stock: FloatArray, got: FloatArray) -> FloatArray:
    """``P(X ≥ k)`` on negative binomial rows where SciPy's ``betainc`` gave NaN.

    SciPy's incomplete beta function returns NaN in a band around the mean for
    some huge arguments (``n`` above ~1e18).  Then ``1 − betaincc``, or
    ``P(X ≥ k) = P(X ≥ k + j) + Σ_{i=0}^{j−1} p(k + i)`` for the first shift
    ``j`` that works (a sum of positive terms).  Rows that still fail raise
    :class:`~sustain.errors.AccuracyError` rather than return a NaN.
    """
    out = got.copy()
    bad = np.flatnonzero(np.isnan(out))
    if bad.size:
        out[bad] = 1.0 - special.betaincc(stock[bad], fit.n[bad], fit.alpha[bad])
    for j in _NAN_SHIFTS:
        bad = np.flatnonzero(np.isnan(out))
        if not bad.size:
            return out
        part, k = fit.take(bad), stock[bad]
        base = special.betainc(k + j, part.n, part.alpha)
        base = np.where(np.isnan(base), 1.0 - special.betaincc(k + j, part.n, part.alpha), base)
        terms = sum(np.exp(_log_pmf(part, k + i)) for i in range(j))
        out[bad] = base + terms
    left = np.flatnonzero(np.isnan(out))
    if left.size:
        first = fit.take(left)
        raise AccuracyError(
            f"a pipeline of mean {float(first.mean[0]):.6g} and variance "
            f"{float(first.var[0]):.6g} ({left.size:,} such): its negative binomial tail "
            "cannot be computed accurately (SciPy's incomplete beta function fails there); "
            "use --method metric, or check the inputs that make the pipeline this large"
        )
    return out


def _gamma_p_temme(a: FloatArray, x: FloatArray) -> FloatArray:
    """The regularised ``P(a, x)`` for ``x < a``, ``a ≥ TEMME_MIN_SHAPE``, by Temme's expansion.

    ``P(a, x) = ½ erfc(√B) − e^{−B} / √(2πa) · Σ_k c_k(η) a^{−k}`` with
    ``B = a η² / 2 = a log(a / x) + x − a`` (:func:`_bd0`, free of cancellation)
    and ``η = −√(2B / a)`` (Temme 1979; DLMF 8.12.3–8.12.10; the coefficients of
    ``c_0, c_1, c_2`` as power series in ``η`` are those of Cephes' ``igam``).
    Uniform in ``x``: the terms left out are below ``a^{−3}`` of the correction
    for ``|η| < TEMME_MAX_ETA``, where it is used; beyond, ``B > 450`` and the
    probability is below 1e-195.  SciPy's ``gammainc`` uses this expansion only
    within 4.5 standard deviations of the mean and otherwise a power series cut
    at 2,000 terms, which falls short far into the tail of large means.
    """
    b = _bd0(a, x, a - x)
    eta = -np.sqrt(2.0 * b / a)
    inv = 1.0 / a
    total = np.zeros_like(a)
    scale = np.ones_like(a)
    for coefs in _TEMME_COEFS:
        c = np.zeros_like(a)
        for coef in reversed(coefs):
            c = c * eta + coef
        total += c * scale
        scale = scale * inv
    return 0.5 * special.erfc(np.sqrt(b)) - np.exp(-b) / np.sqrt(_TWO_PI * a) * total


def _temme_rows(k: FloatArray, mean: FloatArray) -> BoolArray:
    """Poisson rows whose ``P(k, m)`` (``m < k``) comes from :func:`_gamma_p_temme`."""
    return np.asarray(
        (k >= TEMME_MIN_SHAPE) & (mean < k) & (mean > k * _TEMME_MIN_RATIO), dtype=np.bool_
    )


def _at_least(fit: _Fit, stock: FloatArray) -> FloatArray:
    """``P(X ≥ k)`` (``k ≥ 1``): ``P(k, m)`` (Poisson) or ``I_q(k, n)``, in the upper tail.

    Poisson rows with ``k ≥ TEMME_MIN_SHAPE`` and ``m < k`` close enough take
    :func:`_gamma_p_temme`, the others SciPy's ``gammainc``.
    """
    out = np.empty_like(fit.mean)
    pois = fit.poisson
    if pois.any():
        k, mp = stock[pois], fit.mean[pois]
        got = special.gammainc(k, mp)
        temme = _temme_rows(k, mp)
        if temme.any():
            got[temme] = _gamma_p_temme(k[temme], mp[temme])
        out[pois] = got
    nb = ~pois
    if nb.any():
        got = special.betainc(stock[nb], fit.n[nb], fit.alpha[nb])
        if np.isnan(got).any():
            got = _nb_at_least_safe(fit.take(np.flatnonzero(nb)), stock[nb], got)
        out[nb] = got
    return out


def _lower_closed(
    fit: _Fit, stock: FloatArray, p_s: FloatArray
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``P(X < s)``, ``L1`` and ``L2`` from ``F = P(X < s)`` and ``p(s)`` (``s ≥ 1``).

    Summing ``(x + 1) p(x + 1) = (α x + α + β) p(x)`` (times 1 and times
    ``s − x``) over ``x < s``, with ``c = 1 − α``, ``α + β = c m`` and
    ``c v = m``::

        L1     = (s − m) F + s p(s) / c
        c L2   = L1 (c (s − m) − 1) + s (F + p(s))

    For ``s = m − k √v`` the terms exceed the result by a factor of about
    ``1 + k²`` at most, whatever the mean; the textbook form
    ``L1 = s F − E[X; X < s]`` would lose a factor ``√m`` (eight digits at
    ``m = 1e16``).
    """
    m, s = fit.mean, stock
    c = fit.p
    f = _below(fit, s)
    l1 = (s - m) * f + s * p_s / c
    np.maximum(l1, 0.0, out=l1)
    l2 = (l1 * (c * (s - m) - 1.0) + s * (f + p_s)) / c
    return f, l1, np.maximum(l2, l1, out=l2)


def _upper_from_tail(
    fit: _Fit, stock: FloatArray, p_s: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """EBO and VBO from ``T = P(X > s)`` and ``p(s)``, for series too long to sum.

    The identities of :func:`_upper_moments` with ``U p(y) = T`` and
    ``y p(y) = (α s + c m) p(s)``::

        EBO   = (α s + c m) p(s) / c − (s − m) T
        E[B²] = (EBO (1 − c (s − m)) + s T) / c

    whose terms exceed the results by a factor of about ``1 + k²`` at
    ``s = m + k √v``.  ``T = P(X ≥ s + 1)``, or ``P(X ≥ s) − p(s)`` where ``s + 1``
    rounds to ``s`` (stocks above 2⁵³, near means as large).
    """
    m, s, a, c = fit.mean, stock, fit.alpha, fit.p
    nxt = s + 1.0
    exact = nxt - s == 1.0
    if exact.all():
        tail = _at_least(fit, nxt)
    else:
        tail = np.where(exact, _at_least(fit, np.where(exact, nxt, s)), 0.0)
        tail = np.where(exact, tail, np.maximum(_at_least(fit, s) - p_s, 0.0))
    gap = s - m
    ebo = (a * s + c * m) * p_s / c - gap * tail
    np.maximum(ebo, 0.0, out=ebo)
    e2 = (ebo * (1.0 - c * gap) + s * tail) / c
    np.maximum(e2, ebo, out=e2)
    return ebo, np.maximum(e2 - ebo * ebo, 0.0)


def _upper_moments(
    fit: _Fit, stock: FloatArray, p_y: FloatArray, p_s: FloatArray | None, p_exact: bool
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
    but take ``U = P(X > s) / p(y)`` with ``P(X > s)`` from :func:`_at_least`,
    i.e. ``EBO = y p(y) / c − (s − m) P(X > s)``.  Otherwise (``p(y)`` from
    :func:`_log_pmf`) rows keep summing in blocks, where the series is most
    accurate, unless both the ratio bound and the normal approximation promise
    more than ``SERIES_MAX_TERMS`` terms, or the sum has not converged by then:
    those are near the bulk of the distribution and take :func:`_upper_from_tail`.

    Parameters
    ----------
    fit
        Rows with ``stock > mean``.
    stock
        ``s`` on those rows.
    p_y, p_s
        ``p(s + 1)`` and ``p(s)`` (0 where they underflow: the moments are then
        below ~1e-300); ``p(s)`` is needed (and only used) when not ``p_exact``.
    p_exact
        Whether ``p_y`` comes from the ratio recurrence (rows in the range of
        :func:`_upper_loop`).
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
                u[sub] = _at_least(fit.take(sub), s[sub] + 1.0) / p_y[sub]
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
        if p_s is None:  # (p_exact rows never get here)
            raise ValueError("p(s) is needed for rows not summed")
        ebo[sub], vbo[sub] = _upper_from_tail(fit.take(sub), s[sub], p_s[sub])
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
    ebo: FloatArray | None,
    vbo: FloatArray | None,
    fill: FloatArray,
) -> None:
    """EBO, VBO and fill rate of one chunk of rows, written to ``ebo, vbo, fill``
    (the fill rate alone when ``ebo`` is None: the same numbers, without the tail
    sums of the moments).

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
    moments = ebo is not None
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
            if moments:
                e[sl], vb[sl] = _lower_moments(m[sl], v[sl], s[sl], l1, l2)
        if n2 > n1:  # s > m, recurrence
            sl = slice(n1, n2)
            part = fit.part(n1 - n0, n2 - n0)
            f[sl], p_y = _upper_loop(s[sl], part)
            if moments:
                e[sl], vb[sl] = _upper_moments(part, s[sl], p_y, None, True)
        if n3 > n2:  # s ≤ m, incomplete gamma / beta functions
            sl = slice(n2, n3)
            part = fit.part(n2 - n0, n3 - n0)
            p_s = np.exp(_log_pmf(part, s[sl]))
            f[sl], l1, l2 = _lower_closed(part, s[sl], p_s)
            if moments:
                e[sl], vb[sl] = _lower_moments(m[sl], v[sl], s[sl], l1, l2)
        if size > n3:  # s > m, incomplete gamma / beta functions and Loader's pmf
            sl = slice(n3, size)
            part = fit.part(n3 - n0, size - n0)
            f[sl] = _below(part, s[sl])
            if moments:
                p_s = np.exp(_log_pmf(part, s[sl]))
                p_y = p_s * (part.alpha * s[sl] + part.p * part.mean) / (s[sl] + 1.0)
                e[sl], vb[sl] = _upper_moments(part, s[sl], p_y, p_s, False)
        np.clip(f[n0:], 0.0, 1.0, out=f[n0:])
    if ebo is not None and vbo is not None:
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


def fill_rates(mean: npt.ArrayLike, var: npt.ArrayLike, stock: npt.ArrayLike) -> FloatArray:
    """The fill rate ``P(X < s)`` of every row: ``backorder_moments(...).fill_rate``.

    The same numbers, bit for bit, without the tail sums that only the backorder
    moments need (a fixed point on fill rates, such as the lateral rates of
    :mod:`sustain.readiness.laterals`, evaluates them many times).  Parameters and
    errors as :func:`backorder_moments`.
    """
    m, v, s, shape = _as_rows(mean, var, stock)
    fill = np.empty(m.size)
    with np.errstate(under="ignore"):
        for lo in range(0, m.size, CHUNK_ROWS):
            part = slice(lo, lo + CHUNK_ROWS)
            _moments_chunk(m[part], v[part], s[part], None, None, fill[part])
    return fill.reshape(shape)


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


def _pmf_rows(mean: FloatArray, var: FloatArray, width: int, first: int = 0) -> FloatArray:
    """``P(X = x)`` for ``x = first .. width − 1`` on each row, shape (rows, width − first).

    Rows with small means run the ratio recurrence from ``p(0)`` and drop the columns
    below ``first``; the others start at the exact anchor at or below ``first``
    (:func:`_pmf_far`), so every column is the number a table from 0 would hold.
    """
    out = np.zeros((mean.size, width - first))
    if width <= first:
        return out
    if first == 0:
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
        out[rows] = block[:, first:]
    if not rec.all():
        far = np.flatnonzero(~rec)
        start = first - first % PMF_ANCHOR_EVERY  # an anchor column
        block = _pmf_far(fit.take(far), width, start)[:, first - start :]
        if far.size == mean.size and start == first:
            return block  # every row far: the block is the table (no second copy)
        out[pos[far]] = block
    return out


#: Columns between exact anchors of :func:`_pmf_far`.
PMF_ANCHOR_EVERY = 128
#: ``log p`` below which ``exp`` gives 0.0 with a wide margin (the smallest subnormal
#: double is about ``e^-744.4``).
UNDERFLOW_LOG = -800.0


def _pmf_far(fit: _Fit, width: int, first: int = 0) -> FloatArray:
    """``P(X = first .. width − 1)`` of rows with large means, shape (rows, width − first);
    ``first`` is a multiple of :data:`PMF_ANCHOR_EVERY`.

    ``log p`` is exact (:func:`_log_pmf`) at every :data:`PMF_ANCHOR_EVERY`-th column
    and carried from there by the ratio recurrence in logs, ``log p(x) = log p(x − 1)
    + log(alpha + beta / x)``: at most that many steps from an exact value, so the
    relative error stays within a few hundred ulps, and far fewer special functions
    are evaluated than one ``log p`` per cell.
    """
    rows = fit.mean.size
    step = PMF_ANCHOR_EVERY
    anchors = np.arange(first, width, step, dtype=np.float64)
    log_anchor = _log_pmf(fit.take(np.repeat(np.arange(rows), anchors.size)),
                          np.tile(anchors, rows)).reshape(rows, anchors.size)
    x = np.arange(first, width, dtype=np.float64)
    log_p = np.empty((rows, width - first))
    # A block between two anchors both below UNDERFLOW_LOG is below it throughout (the
    # pmf is unimodal) and its exp is 0.0: it is filled, not carried.
    low = log_anchor < UNDERFLOW_LOG
    gone = np.zeros((rows, anchors.size), dtype=bool)
    gone[:, :-1] = low[:, :-1] & low[:, 1:]
    for k, start in enumerate(range(0, width - first, step)):
        end = min(start + step, width - first)
        if gone[:, k].all():
            log_p[:, start:end] = -np.inf
            continue
        log_p[:, start] = log_anchor[:, k]
        if end > start + 1:
            # log p(x) / p(x − 1) for x = first + start + 1 .. first + end − 1
            xb = x[None, start + 1 : end]
            with np.errstate(divide="ignore"):
                log_ratio = np.log(np.where(
                    xb > 1.0, fit.alpha[:, None] + fit.beta[:, None] / np.maximum(xb, 1.0),
                    fit.delta[:, None],
                ))
            log_p[:, start + 1 : end] = log_anchor[:, k, None] + np.cumsum(log_ratio, axis=1)
    return np.exp(log_p, out=log_p)


def pipeline_pmf(mean: float, var: float, n: int) -> FloatArray:
    """``P(X = 0 .. n − 1)`` of the pipeline distribution fitted to a mean and variance.

    Poisson or negative binomial as chosen by :func:`is_poisson` (Sherbrooke 2004,
    ch. 2; Graves 1985; Sherbrooke 1986).  For means up to ``LOOP_MEAN_MAX`` the ratio
    recurrence from ``p(0)`` (relative error about ``x`` ulps at ``x``), beyond it the
    same recurrence from exact values at every ``PMF_ANCHOR_EVERY``-th level
    (:func:`_pmf_far`).

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


def ebo_table(
    mean: npt.ArrayLike, var: npt.ArrayLike, max_stock: int, min_stock: int = 0
) -> FloatArray:
    """``EBO(s)`` for ``s = min_stock .. max_stock`` on every row.

    ``EBO(S)`` for the top stock ``S`` comes from :func:`backorder_moments`, then
    ``EBO(s) = EBO(s + 1) + P(X > s)`` downwards (Sherbrooke 2004, ch. 2), with
    ``P(X > s) = P(X > S) + Σ_{x=s+1}^{S} p(x)``: sums of positive terms only, so
    the table has the accuracy of :func:`backorder_moments`.  The columns from
    ``min_stock`` are the same numbers as those of a table from 0 (the sums run
    downwards from ``S``), at a cost that grows with ``max_stock − min_stock``.

    Parameters
    ----------
    mean, var : array_like
        Pipeline means and variances (broadcast together, flattened to rows).
    max_stock : int
        Largest stock in the table (≥ 0).
    min_stock : int
        Smallest stock in the table (0 to ``max_stock``).

    Returns
    -------
    FloatArray
        Shape ``(rows, max_stock − min_stock + 1)``.
    """
    if max_stock < 0:
        raise ValueError("max_stock must be non-negative")
    if not 0 <= min_stock <= max_stock:
        raise ValueError("min_stock must be from 0 to max_stock")
    top, low = int(max_stock), int(min_stock)
    m, v, _, _ = _as_rows(mean, var)
    _check_rows(m, v)
    with np.errstate(under="ignore"):
        e_top, _, _ = _moments_flat(m, v, np.full(m.size, float(top)))
        if top == low:
            return e_top[:, None].copy()
        e_next, _, _ = _moments_flat(m, v, np.full(m.size, float(top + 1)))
        beyond = np.maximum(e_top - e_next, 0.0)  # P(X > S)
        pmf = _pmf_rows(m, v, top + 1, low)  # p(low .. S)
        n = top - low
        table = np.empty((m.size, n + 1))
        table[:, n] = e_top
        # Worked in place in the table's first n columns, read from S − 1 down to low:
        # P(X > s), then EBO(s) − EBO(S), then EBO(s).
        down = table[:, n - 1 :: -1] if n > 0 else table[:, :0]
        np.cumsum(pmf[:, :0:-1], axis=1, out=down)
        del pmf
        down += beyond[:, None]
        np.cumsum(down, axis=1, out=down)
        down += e_top[:, None]
    return table
