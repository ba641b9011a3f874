"""Backorder moments against mpmath sums of their definitions.

The reference sums ``Σ_{x>s} (x − s)^j p(x)`` and ``Σ_{x<s} p(x)`` over the whole
support in 50-digit arithmetic: the pmf is built from its log-gamma expression and
the ratio recurrence over a window around the mode that holds every ``x`` with
``p(x) ≥ e^-100 p(mode)``; stocks further out are summed by walking away from the
mode until a geometric bound on the rest is below 1e-30 of the sum.  Nothing in it
comes from the code under test.  pytest turns warnings into errors, so every test
also checks that no overflow, underflow or division warning escapes.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import mpmath as mp
import numpy as np
import pytest
from scipy import stats

from sustain.readiness import backorders as bo
from sustain.readiness.backorders import (
    POISSON_VARIANCE_RTOL,
    BackorderMoments,
    backorder_moments,
    ebo_table,
    is_poisson,
    pipeline_pmf,
)

DPS = 50
WINDOW = 100  # the window holds every x with p(x) ≥ p(mode) e^-WINDOW
DEEP = 60  # beyond p(mode) e^-DEEP a stock is summed by a walk, not from the window
TINY = mp.mpf(10) ** -30  # a walk stops when a bound on the rest is below this share

EBO_RTOL = 1e-9
VBO_RTOL = 1e-7
FILL_RTOL = 1e-12
FLOOR = 1e-300  # below this, values need only be tiny too


@dataclass(frozen=True)
class _Dist:
    logp: Callable[[int], mp.mpf]
    ratio: Callable[[int], mp.mpf]  # p(x + 1) / p(x)
    limit: mp.mpf  # sup of the ratio far out (q, or 0 for the Poisson)
    mode: int
    log_mode: mp.mpf
    lo: int
    hi: int
    suffix: tuple[list[mp.mpf], list[mp.mpf], list[mp.mpf]]  # Σ_{x≥i} x^j p(x), window
    prefix: list[mp.mpf]  # Σ_{x<i} p(x), window


@functools.cache
def _dist(m: float, v: float) -> _Dist:
    """The fitted distribution of the pipeline, in 50-digit arithmetic."""
    with mp.workdps(DPS):
        mm, vv = mp.mpf(m), mp.mpf(v)
        if v <= m * (1 + POISSON_VARIANCE_RTOL):
            log_m = mp.log(mm)

            def logp(x: int) -> mp.mpf:
                return x * log_m - mm - mp.loggamma(x + 1)

            def ratio(x: int) -> mp.mpf:
                return mm / (x + 1)

            mode, limit = math.floor(m), mp.mpf(0)
        else:
            n, p, q = mm * mm / (vv - mm), mm / vv, (vv - mm) / vv
            c0, log_q = n * mp.log(p) - mp.loggamma(n), mp.log(q)

            def logp(x: int) -> mp.mpf:
                return mp.loggamma(x + n) - mp.loggamma(x + 1) + c0 + x * log_q

            def ratio(x: int) -> mp.mpf:
                return q * (x + n) / (x + 1)

            mode, limit = max(0, int(mp.floor((n - 1) * q / p))), q
        log_mode = logp(mode)
        lo = 0
        if logp(0) < log_mode - WINDOW:  # bisection on the rising side
            a, b = 0, mode
            while b - a > 1:
                c = (a + b) // 2
                a, b = (c, b) if logp(c) < log_mode - WINDOW else (a, c)
            lo = b
        a, step = mode, max(1, math.isqrt(int(v) + 1))
        while logp(a + step) >= log_mode - WINDOW:
            a, step = a + step, 2 * step
        b = a + step
        while b - a > 1:  # bisection on the falling side
            c = (a + b) // 2
            a, b = (c, b) if logp(c) >= log_mode - WINDOW else (a, c)
        hi = a
        pmf = [mp.exp(logp(lo))]
        for x in range(lo, hi):
            pmf.append(pmf[-1] * ratio(x))
        size = len(pmf)
        s0, s1, s2 = ([mp.mpf(0)] * (size + 1) for _ in range(3))
        for i in range(size - 1, -1, -1):
            x, t = lo + i, pmf[i]
            s0[i], s1[i], s2[i] = s0[i + 1] + t, s1[i + 1] + x * t, s2[i + 1] + x * x * t
        prefix = [mp.mpf(0)]
        for t in pmf:
            prefix.append(prefix[-1] + t)
        return _Dist(logp, ratio, limit, mode, log_mode, lo, hi, (s0, s1, s2), prefix)


def reference(m: float, v: float, s: int) -> tuple[mp.mpf, mp.mpf, mp.mpf]:
    """EBO, VBO and fill rate by summing their definitions (mpf)."""
    if m == 0:
        return mp.mpf(0), mp.mpf(0), mp.mpf(1)
    d = _dist(m, v)
    with mp.workdps(DPS):
        if s + 1 > d.mode and d.logp(s + 1) < d.log_mode - DEEP:
            # far above the mode: Σ_{k≥1} k^j p(s + k) term by term
            x, k, t = s + 1, 1, mp.exp(d.logp(s + 1))
            e1 = e2 = mp.mpf(0)
            while True:
                e1 += k * t
                e2 += k * k * t
                r = max(d.ratio(x), d.limit) * mp.mpf(k + 1) ** 2 / k**2
                if r < 1 and k * k * t * r / (1 - r) < TINY * e2:
                    break
                t *= d.ratio(x)
                x, k = x + 1, k + 1
        else:
            # Σ_{x>s} (x − s)^j p(x) = Σ_{x>s} x^j p(x) − …, from the window's exact sums;
            # 50 digits leave > 35 after any cancellation at these stocks.
            i = max(s + 1, d.lo) - d.lo
            a0, a1, a2 = (col[i] for col in d.suffix)
            e1 = a1 - s * a0
            e2 = a2 - 2 * s * a1 + s * s * a0
        if s >= 1 and s - 1 < d.mode and d.logp(s - 1) < d.log_mode - DEEP:
            # far below the mode: Σ_{x<s} p(x) walking down from s − 1
            x, t, fill = s - 1, mp.exp(d.logp(s - 1)), mp.mpf(0)
            while True:
                fill += t
                if x == 0 or t < TINY * fill:
                    break
                t /= d.ratio(x - 1)
                x -= 1
        else:
            fill = d.prefix[max(0, min(s, d.hi + 1) - d.lo)]
        return e1, e2 - e1 * e1, fill


def assert_close(got: float, want: mp.mpf, rtol: float, what: str) -> None:
    want_f = float(want)
    if abs(want_f) < FLOOR:
        assert abs(got) < 1e-290, f"{what}: {got!r} where the true value is {want_f:.3e}"
    else:
        err = abs(got - want_f) / abs(want_f)
        assert err <= rtol, f"{what}: {got!r} vs {want_f!r} (relative error {err:.2e})"


def check_rows(m: np.ndarray, v: np.ndarray, s: np.ndarray, res: BackorderMoments) -> None:
    for i in range(m.size):
        e, vb, f = reference(float(m[i]), float(v[i]), int(s[i]))
        where = f"m={m[i]:g} v/m={v[i] / m[i] if m[i] else 0:g} s={int(s[i])}"
        assert_close(float(res.ebo[i]), e, EBO_RTOL, "EBO " + where)
        assert_close(float(res.vbo[i]), vb, VBO_RTOL, "VBO " + where)
        assert_close(float(res.fill_rate[i]), f, FILL_RTOL, "fill " + where)


MEANS = [1e-9, 1e-4, 0.01, 0.5, 1.0, 3.0, 10.0, 50.0, 200.0, 499.5, 501.0, 2000.0, 1e4]
RATIOS = [1.0, 1.5, 5.0, 50.0]


def grid_stocks(m: float, v: float) -> list[int]:
    sd = math.sqrt(v)
    near = [m, m + 1, m - 3 * sd, m + sd, m + 3 * sd, m + 10 * sd, 2 * m + 5]
    fixed = [0, 1, 2, 3, 5, 10, 30, 100, 101, 1000, 10_000]
    return sorted({int(x) for x in fixed + near if 0 <= x <= 10_000})


@pytest.mark.parametrize("ratio", RATIOS)
@pytest.mark.parametrize("m", MEANS)
def test_moments_match_mpmath_sums(m: float, ratio: float) -> None:
    v = m * ratio
    s = np.array(grid_stocks(m, v), dtype=np.float64)
    mm, vv = np.full(s.size, m), np.full(s.size, v)
    res = backorder_moments(mm, vv, s)
    check_rows(mm, vv, s, res)
    # Row order and batch composition must not matter.
    rev = backorder_moments(mm[::-1], vv[::-1], s[::-1])
    np.testing.assert_allclose(rev.ebo[::-1], res.ebo, rtol=1e-14, atol=0.0)


@pytest.mark.parametrize(
    ("m", "ratio"),
    [(m, r) for m in (1e-6, 0.7, 40.0, 700.0) for r in (1 + 2e-9, 1 + 1e-6, 1.0001, 1.02)]
    + [(0.7, 300.0), (40.0, 300.0)],
)
def test_nearly_poisson_and_very_dispersed(m: float, ratio: float) -> None:
    """Beyond the grid: variance a hair above the mean (huge n), and v / m = 300."""
    v = m * ratio
    s = np.array(grid_stocks(m, v)[:: 3 if ratio == 300.0 else 1], dtype=np.float64)
    mm, vv = np.full(s.size, m), np.full(s.size, v)
    check_rows(mm, vv, s, backorder_moments(mm, vv, s))


def test_mixed_batch_matches_single_rows() -> None:
    """Rows of every kind in one call (several chunks) give the one-row results."""
    rng = np.random.default_rng(7)
    size = bo.CHUNK_ROWS + 1000
    m = np.exp(rng.uniform(np.log(1e-9), np.log(1e4), size))
    m[::17] = 0.0
    v = m * rng.choice([1.0, 1.5, 5.0, 50.0], size)
    s = np.floor(rng.choice([0.3, 1.0, 1.5, 3.0], size) * m + rng.integers(0, 4, size))
    res = backorder_moments(m, v, s)
    for i in rng.choice(size, 60, replace=False):
        one = backorder_moments(m[i : i + 1], v[i : i + 1], s[i : i + 1])
        assert one.ebo[0] == pytest.approx(res.ebo[i], rel=1e-14, abs=0.0)
        assert one.vbo[0] == pytest.approx(res.vbo[i], rel=1e-14, abs=0.0)
        assert one.fill_rate[0] == pytest.approx(res.fill_rate[i], rel=1e-14, abs=0.0)
    for arr in (res.ebo, res.vbo, res.fill_rate):
        assert np.isfinite(arr).all()


def test_fill_rates_alone_are_those_of_the_moments() -> None:
    """``fill_rates`` skips the tail sums: the same fill rates, bit for bit, for rows of
    every kind (zero mean or stock, the recurrences, the incomplete gamma and beta
    functions, Poisson and negative binomial), in one call and in chunks."""
    rng = np.random.default_rng(11)
    size = bo.CHUNK_ROWS + 500
    m = np.exp(rng.uniform(np.log(1e-9), np.log(1e4), size))
    m[::13] = 0.0
    v = m * rng.choice([1.0, 1.5, 5.0, 50.0], size)
    s = np.floor(rng.choice([0.0, 0.3, 1.0, 1.5, 3.0], size) * m + rng.integers(0, 4, size))
    s[::29] = 0.0
    np.testing.assert_array_equal(bo.fill_rates(m, v, s), backorder_moments(m, v, s).fill_rate)
    grid = (np.array([[0.5, 3.0], [700.0, 2e4]]), np.array([[0.5, 6.0], [700.0, 9e4]]),
            np.array([[1, 2], [650, 30_000]]))
    np.testing.assert_array_equal(bo.fill_rates(*grid), backorder_moments(*grid).fill_rate)
    with pytest.raises(ValueError, match="non-negative"):
        bo.fill_rates([-1.0], [1.0], [1])
    with pytest.raises(ValueError, match="integers"):
        bo.fill_rates([1.0], [1.0], [0.5])


def test_tiny_mean_has_no_cancellation() -> None:
    """m = 1e-9, s = 1: EBO = m − 1 + e^{−m} ≈ m²/2 (mpmath), not 0 or noise."""
    m = 1e-9
    with mp.workdps(40):
        want = mp.mpf(m) - 1 + mp.exp(-mp.mpf(m))
    res = backorder_moments([m], [m], [1])
    assert res.ebo[0] == pytest.approx(float(want), rel=1e-12)
    assert 4.9e-19 < res.ebo[0] < 5.1e-19


@pytest.mark.parametrize("ratio", RATIOS)
def test_zero_stock_gives_the_pipeline_moments(ratio: float) -> None:
    m = np.array([1e-9, 0.01, 1.0, 37.5, 499.0, 777.0, 1e4])
    v = m * ratio
    res = backorder_moments(m, v, np.zeros(m.size))
    np.testing.assert_allclose(res.ebo, m, rtol=1e-14)
    np.testing.assert_allclose(res.vbo, v, rtol=1e-12)
    np.testing.assert_array_equal(res.fill_rate, 0.0)


def test_zero_mean_rows() -> None:
    res = backorder_moments([0.0, 0.0, 0.0, 2.0], [0.0, 3.0, 0.0, 2.0], [0, 0, 7, 0])
    np.testing.assert_array_equal(res.ebo, [0.0, 0.0, 0.0, 2.0])
    np.testing.assert_array_equal(res.vbo, [0.0, 0.0, 0.0, 2.0])
    np.testing.assert_array_equal(res.fill_rate, [1.0, 1.0, 1.0, 0.0])


def test_huge_mean_and_stock_corners() -> None:
    m = np.array([1e4, 1e4, 1e4, 1e-9, 1e-9, 5.0, 1e4])
    v = m * np.array([1.0, 50.0, 1.0, 1.0, 50.0, 5.0, 5.0])
    s = np.array([10_000, 10_000, 0, 10_000, 10_000, 10_000, 9_999])
    res = backorder_moments(m, v, s)
    check_rows(m, v, s, res)
    assert res.ebo[3] == 0.0  # true value about 1e-95000


@pytest.mark.parametrize(("m", "ratio"), [(1e4, 1.0), (1e4, 50.0), (3000.0, 5.0)])
def test_closed_form_for_long_tails(m: float, ratio: float) -> None:
    """The incomplete gamma / beta closed forms used for tails too long to sum."""
    v = m * ratio
    sd = math.sqrt(v)
    s = np.array([m + 1, m + sd, m + 3 * sd, m + 6 * sd]).round()
    mm, vv = np.full(s.size, m), np.full(s.size, v)
    with np.errstate(under="ignore"):
        fit = bo._fit(mm, vv)
        ebo, vbo = bo._upper_from_tail(fit, s, np.exp(bo._log_pmf(fit, s)))
    for i in range(s.size):
        e, vb, _ = reference(m, v, int(s[i]))
        assert_close(float(ebo[i]), e, EBO_RTOL, f"closed-form EBO s={s[i]:g}")
        assert_close(float(vbo[i]), vb, VBO_RTOL, f"closed-form VBO s={s[i]:g}")


def test_tail_sum_and_incomplete_functions_agree() -> None:
    """U = P(X ≥ y) / p(y) summed term by term equals the incomplete beta / gamma one."""
    m = np.array([0.2, 2.0, 2.0, 4.5, 0.01, 30.0])
    v = m * np.array([1.0, 1.0, 3.0, 1.5, 50.0, 5.0])
    s = np.array([3.0, 4.0, 6.0, 5.0, 2.0, 40.0])
    with np.errstate(under="ignore"):
        fit = bo._fit(m, v)
        y = s + 1.0
        u, stuck = bo._tail_ratio_sum(y, fit.alpha, fit.beta)
        p_y = np.exp(bo._log_pmf(fit, y))
        closed = bo._at_least(fit, y) / p_y
    assert not stuck.any()
    np.testing.assert_allclose(u, closed, rtol=1e-10)


def test_tail_sum_takes_the_terms_its_bound_asks_for() -> None:
    """U summed with a number of terms fixed in advance: mpmath sums, and the flags.

    Rows whose geometric bound asks for more than SERIES_STEP_TERMS terms are flagged
    (not summed) when max_terms is SERIES_STEP_TERMS; the others match U summed in
    50 digits to rounding.
    """
    rng = np.random.default_rng(11)
    size = 400
    m = np.exp(rng.uniform(np.log(1e-6), np.log(60.0), size))
    v = m * np.where(rng.random(size) < 0.3, 1.0, np.exp(rng.uniform(0.0, np.log(30.0), size)))
    s = np.floor(m + np.exp(rng.uniform(np.log(0.5), np.log(40.0), size)))
    y = s + 1.0
    with np.errstate(under="ignore"):
        fit = bo._fit(m, v)
        u, flagged = bo._tail_ratio_sum(y, fit.alpha, fit.beta, bo.SERIES_STEP_TERMS)
    r = np.maximum(fit.alpha + fit.beta / (y + 1.0), fit.alpha)
    terms = np.log(bo.SERIES_RTOL * (1.0 - r) / r) / np.log(r)  # r^k ≤ RTOL (1 − r) / r
    assert np.all(flagged[terms > bo.SERIES_STEP_TERMS + 1e-6])
    assert np.all(terms[flagged] > bo.SERIES_STEP_TERMS - 1e-3)
    assert 0 < flagged.sum() < size - 100
    with mp.workdps(30):
        for i in np.flatnonzero(~flagged)[::4]:
            a, b, x = (mp.mpf(float(z)) for z in (fit.alpha[i], fit.beta[i], y[i]))
            t, total, k = mp.mpf(1), mp.mpf(1), 0
            while t > total * mp.mpf(10) ** -25:
                k += 1
                t *= a + b / (x + k)
                total += t
            assert float(u[i]) == pytest.approx(float(total), rel=2e-15, abs=0.0)


def test_rows_do_not_depend_on_the_rest_of_the_batch() -> None:
    """Bit for bit: a row's results alone, in a large batch, in any order.

    Large batches sum most series term by term over many rows and small ones in
    one block per row; both do the same operations in the same order.
    """
    rng = np.random.default_rng(5)
    size = 6000
    m = np.exp(rng.uniform(np.log(1e-4), np.log(400.0), size))
    v = m * np.where(rng.random(size) < 0.3, 1.0, rng.uniform(1.0, 5.0, size))
    s = np.floor(np.clip(m + rng.normal(0.0, 2.0, size) * np.sqrt(v), 0.0, 150.0))
    s[::7] = rng.integers(1, 9, s[::7].size)  # small stocks above small means
    res = backorder_moments(m, v, s)
    rev = backorder_moments(m[::-1], v[::-1], s[::-1])
    for a, b in ((res.ebo, rev.ebo), (res.vbo, rev.vbo), (res.fill_rate, rev.fill_rate)):
        np.testing.assert_array_equal(a, b[::-1])
    for i in rng.choice(size, 150, replace=False):
        one = backorder_moments(m[i : i + 1], v[i : i + 1], s[i : i + 1])
        assert (one.ebo[0], one.vbo[0], one.fill_rate[0]) == (
            res.ebo[i],
            res.vbo[i],
            res.fill_rate[i],
        ), f"row {i}: m={m[i]:g} v={v[i]:g} s={s[i]:g}"


@pytest.mark.parametrize("kind", ["base", "depot"])
def test_two_echelon_benchmark_rows(kind: str) -> None:
    """The rows the benchmark's engine passes: small NB base pipelines with a few
    units of stock, and Poisson depot pipelines stocked near their 80 % quantile."""
    rng = np.random.default_rng(13)
    size = 40
    if kind == "base":
        m = np.exp(rng.uniform(np.log(0.004), np.log(5.0), size))
        v = m * rng.uniform(1.0, 1.55, size)
        s = rng.integers(1, 9, size).astype(np.float64)
    else:
        m = np.exp(rng.uniform(np.log(0.4), np.log(170.0), size))
        v = m.copy()
        s = np.floor(m + rng.uniform(-1.0, 1.5, size) * np.sqrt(m)).clip(0.0)
    check_rows(m, v, s, backorder_moments(m, v, s))


def test_bad_input_in_a_later_chunk_raises() -> None:
    size = 2 * bo.CHUNK_ROWS + 10
    m, v, s = np.ones(size), np.ones(size), np.ones(size)
    i = bo.CHUNK_ROWS + 7
    for arr, bad in ((m, np.nan), (v, -1.0), (s, 2.5), (s, np.inf), (m, np.inf)):
        old, arr[i] = arr[i], bad
        with pytest.raises(ValueError):
            backorder_moments(m, v, s)
        arr[i] = old
    backorder_moments(m, v, s)


def test_results_keep_the_input_shape_and_accept_int_stock() -> None:
    m = np.array([[0.5, 1.0, 2.0], [3.0, 0.0, 8.0]])
    res = backorder_moments(m, 2 * m, np.array([[0, 1, 2], [3, 4, 5]], dtype=np.int64))
    assert res.ebo.shape == res.vbo.shape == res.fill_rate.shape == (2, 3)
    flat = backorder_moments(m.ravel(), 2 * m.ravel(), np.arange(6.0))
    np.testing.assert_array_equal(res.ebo.ravel(), flat.ebo)
    scalar = backorder_moments(2.0, 2.0, 1)
    assert scalar.ebo.shape == ()


@pytest.mark.parametrize(
    ("mean", "var", "stock"),
    [
        (-1.0, 1.0, 0),
        (1.0, -1.0, 0),
        (np.nan, 1.0, 0),
        (1.0, np.inf, 0),
        (1.0, 1.0, -1),
        (1.0, 1.0, 1.5),
        (1.0, 1.0, np.nan),
    ],
)
def test_bad_inputs_raise(mean: float, var: float, stock: float) -> None:
    with pytest.raises(ValueError):
        backorder_moments([mean], [var], [stock])


def test_is_poisson_is_the_one_threshold() -> None:
    m = np.array([0.0, 0.0, 2.0, 2.0, 2.0, 2.0, 2.0])
    v = np.array([0.0, 5.0, 2.0, 1.0, 2.0 * (1 + 0.5e-9), 2.0 * (1 + 2e-9), 3.0])
    np.testing.assert_array_equal(is_poisson(m, v), [True, True, True, True, True, False, False])
    # var == mean is METRIC: the same numbers as an explicit Poisson.
    s = np.arange(8.0)
    res = backorder_moments(np.full(8, 2.5), np.full(8, 2.5), s)
    x = np.arange(200)
    pmf = stats.poisson.pmf(x, 2.5)
    want = [np.sum(np.maximum(x - k, 0) * pmf) for k in s]
    np.testing.assert_allclose(res.ebo, want, rtol=1e-12)


@pytest.mark.parametrize(
    ("m", "v"),
    [
        (0.3, 0.3),
        (4.0, 4.0),
        (4.0, 10.0),
        (0.02, 1.0),
        (480.0, 480.0),
        (700.0, 700.0),
        (700.0, 2100.0),
        (1e4, 1.5e4),
    ],
)
def test_pipeline_pmf_matches_scipy_and_sums_to_one(m: float, v: float) -> None:
    n = int(m + 40 * math.sqrt(v) + 60 * v / m + 50)
    pmf = pipeline_pmf(m, v, n)
    assert pmf.shape == (n,)
    # Means above LOOP_MEAN_MAX use log-gamma functions: about 1e-16 m log m relative.
    tol = 1e-12 if m <= bo.LOOP_MEAN_MAX else 1e-10
    assert pmf.sum() == pytest.approx(1.0, abs=tol)
    dist = stats.poisson(m) if v == m else stats.nbinom(m * m / (v - m), m / v)
    want = dist.pmf(np.arange(n))  # SciPy's own error reaches ~1e-12 at these means
    big = want > 1e-250
    np.testing.assert_allclose(pmf[big], want[big], rtol=1e-10)
    assert np.all(pmf[~big] < 1e-240)
    d = _dist(m, v)
    for x in np.linspace(0, n - 1, 23).astype(int):
        with mp.workdps(DPS):
            p_x = mp.exp(d.logp(int(x)))
        if p_x > 1e-280:
            assert_close(float(pmf[x]), p_x, tol, f"pmf({x})")


def test_pipeline_pmf_edges() -> None:
    np.testing.assert_array_equal(pipeline_pmf(0.0, 0.0, 3), [1.0, 0.0, 0.0])
    assert pipeline_pmf(1.0, 1.0, 0).shape == (0,)
    with mp.workdps(30):
        n, p = mp.mpf(1e-9) ** 2 / mp.mpf(4e-9), mp.mpf(1) / 5  # v = 5 m
        want = [mp.binomial(x + n - 1, x) * p**n * (1 - p) ** x for x in range(4)]
    got = pipeline_pmf(1e-9, 5e-9, 4)
    np.testing.assert_allclose(got, [float(w) for w in want], rtol=1e-12)


@pytest.mark.parametrize("top", [0, 1, 7, 130])
def test_ebo_table_agrees_with_backorder_moments(top: int) -> None:
    m = np.array([0.0, 1e-9, 0.3, 0.3, 2.0, 40.0, 499.0, 501.0, 3000.0, 1e4])
    v = m * np.array([1.0, 5.0, 1.0, 50.0, 1.5, 5.0, 1.0, 1.5, 1.0, 50.0])
    table = ebo_table(m, v, top)
    assert table.shape == (m.size, top + 1)
    stocks = np.arange(top + 1, dtype=np.float64)
    for i in range(m.size):
        want = backorder_moments(np.full(top + 1, m[i]), np.full(top + 1, v[i]), stocks).ebo
        np.testing.assert_allclose(table[i], want, rtol=1e-10, atol=1e-300)
    if top == 130:
        for i in range(1, m.size):
            for k in (0, 3, 64, 129, 130):
                e, _, _ = reference(float(m[i]), float(v[i]), k)
                assert_close(float(table[i, k]), e, EBO_RTOL, f"table m={m[i]:g} s={k}")


def test_extreme_inputs_stay_finite_without_warnings() -> None:
    rng = np.random.default_rng(3)
    size = 3000
    m = np.exp(rng.uniform(np.log(1e-300), np.log(1e7), size))
    v = m * np.exp(rng.uniform(0.0, np.log(1e8), size))
    v[::3] = m[::3]
    s = np.floor(np.exp(rng.uniform(0.0, np.log(1e7), size)))
    s[::5] = np.floor(m[::5])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = backorder_moments(m, v, s)
        table = ebo_table(m[:50], v[:50], 20)
    for arr in (res.ebo, res.vbo, res.fill_rate, table):
        assert np.isfinite(arr).all()
    assert np.all((res.fill_rate >= 0.0) & (res.fill_rate <= 1.0))
    assert np.all(res.ebo >= np.maximum(m - s, 0.0) * (1 - 1e-12))
