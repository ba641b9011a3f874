"""The compiled best-over-combos and hull kernel against plain reference code.

The references are the NumPy/Python loops the kernel replaced (and a brute-force
check of the hull's defining property), so the optimiser's curves stay the same to
the bit: the kernel must agree exactly, ties and truncation included.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sustain.optimize.curve_kernels import best_and_hulls, leaf_counts, merge_gains
from sustain.optimize.curves import _sorted_values
from sustain.optimize.state import MIN_GAIN


def reference_hull(units: np.ndarray, value: np.ndarray) -> list[int]:
    """Upper concave hull from the first point, rising only (the replaced Python loop)."""
    hull: list[int] = []
    vals: list[float] = []
    v0 = float(value[0]) if value.size else 0.0
    tol = MIN_GAIN * max(1.0, abs(v0))
    for u, v in zip(units.tolist(), value.tolist(), strict=True):
        if hull and v <= vals[-1] + tol:
            continue
        while len(hull) >= 2:
            u1, u2 = hull[-2], hull[-1]
            v1, v2 = vals[-2], vals[-1]
            if (v2 - v1) * (u - u1) <= (v - v1) * (u2 - u1):
                hull.pop()
                vals.pop()
            else:
                break
        hull.append(u)
        vals.append(v)
    return hull


def reference(
    vals3: np.ndarray, off: np.ndarray, width: int, gamma: np.ndarray, cut_on: bool
) -> tuple[np.ndarray, list[list[int]], np.ndarray]:
    n_b, n_c, n_p = vals3.shape
    best = np.full((n_b, width), -np.inf)
    arg = np.zeros((n_b, width), dtype=np.int64)
    for c in range(n_c):
        seg = best[:, off[c] : off[c] + n_p]
        better = vals3[:, c, :] > seg
        seg[better] = vals3[:, c, :][better]
        arg[:, off[c] : off[c] + n_p][better] = c
    hulls, short = [], np.zeros(n_b, dtype=bool)
    for b in range(n_b):
        units = np.flatnonzero(np.isfinite(best[b]))
        hull = reference_hull(units, best[b, units])
        if cut_on and len(hull) > 1:
            hv = best[b, hull]
            slope = np.diff(hv) / np.diff(np.asarray(hull, dtype=np.float64))
            low = np.flatnonzero(slope < gamma[b])
            if low.size:
                hull = hull[: int(low[0]) + 1]
                short[b] = True
        hulls.append(hull)
    return arg, hulls, short


def random_case(seed: int) -> tuple[np.ndarray, np.ndarray, int, np.ndarray]:
    """Concave-ish rising rows per combo (as the optimiser makes), with -inf gaps and ties."""
    rng = np.random.default_rng(seed)
    n_b, n_c, n_p = rng.integers(1, 6), rng.integers(1, 7), rng.integers(1, 9)
    off = np.sort(rng.integers(0, 4, n_c)).astype(np.int64)
    steps = rng.exponential(1.0, (n_b, n_c, n_p)) * rng.choice([1.0, 0.3, 0.0], (n_b, n_c, n_p))
    steps[:, :, 0] = 0.0
    vals3 = -rng.exponential(5.0, (n_b, n_c, 1)) + np.cumsum(np.sort(steps, axis=2)[:, :, ::-1],
                                                             axis=2)
    vals3 = np.round(vals3, int(rng.integers(0, 3)))  # ties between combos and along rows
    cut = rng.integers(0, n_p + 1, (n_b, n_c))
    vals3[np.arange(n_p)[None, None, :] > cut[:, :, None]] = -np.inf
    if rng.random() < 0.2:
        vals3[0] = -np.inf  # an item without a point
    gamma = rng.exponential(0.5, n_b)
    return vals3, off, int(n_p + off.max()), gamma


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), cut_on=st.booleans())
def test_kernel_equals_the_reference_loops(seed: int, cut_on: bool) -> None:
    vals3, off, width, gamma = random_case(seed)
    short = np.zeros(vals3.shape[0], dtype=bool)
    arg, flat, counts = best_and_hulls(vals3, off, width, gamma, cut_on, MIN_GAIN, short)
    ref_arg, ref_hulls, ref_short = reference(vals3, off, width, gamma, cut_on)
    assert np.array_equal(arg, ref_arg)
    assert counts.tolist() == [len(h) for h in ref_hulls]
    assert flat.tolist() == [u for h in ref_hulls for u in h]
    assert np.array_equal(short, ref_short)


def test_hull_vertices_dominate_every_point_brute_force() -> None:
    """Every finite best point lies on or under the hull (within the tolerance), by brute force."""
    for seed in range(40):
        vals3, off, width, gamma = random_case(seed)
        short = np.zeros(vals3.shape[0], dtype=bool)
        _, flat, counts = best_and_hulls(vals3, off, width, gamma, False, MIN_GAIN, short)
        first = np.concatenate([[0], np.cumsum(counts)])
        for b in range(vals3.shape[0]):
            best = np.full(width, -np.inf)
            for c in range(vals3.shape[1]):
                for p in range(vals3.shape[2]):
                    best[off[c] + p] = max(best[off[c] + p], vals3[b, c, p])
            hull = flat[first[b] : first[b + 1]]
            fin = np.flatnonzero(np.isfinite(best))
            if fin.size == 0:
                assert hull.size == 0
                continue
            assert hull[0] == fin[0]
            tol = MIN_GAIN * max(1.0, abs(best[fin[0]])) + 1e-12 * (1 + np.abs(best[fin]).max())
            hv = best[hull]
            assert np.all(np.diff(hv) > 0)  # rising only
            for u in fin.tolist():  # each point under the hull's piecewise-linear roof
                roof = np.interp(u, hull, hv) if u <= hull[-1] else hv[-1]
                assert best[u] <= roof + tol


def reference_leaf_counts(order: np.ndarray, rows: np.ndarray, n: np.ndarray, n_l: int,
                          width: int) -> np.ndarray:
    """Units per leaf after the first ``n[p]`` picks of ``order[rows[p]]`` (the replaced
    NumPy code: every point's picks expanded and counted with ``bincount``)."""
    out = np.zeros((rows.size, n_l))
    for p in range(rows.size):
        picks = order[rows[p], : n[p]] // width
        out[p] = np.bincount(picks, minlength=n_l)[:n_l]
    return out


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_leaf_counts_equal_the_reference(seed: int) -> None:
    """One pass per row gives the counts of expanding every point's picks: rows repeated,
    out of order, with the same ``n`` twice, and ``n`` of 0 and of every pick."""
    rng = np.random.default_rng(seed)
    n_rows, n_l, width = int(rng.integers(1, 6)), int(rng.integers(1, 5)), int(rng.integers(1, 7))
    order = np.array([rng.permutation(n_l * width) for _ in range(n_rows)], dtype=np.int64)
    points = int(rng.integers(1, 30))
    rows = rng.integers(0, n_rows, points).astype(np.int64)
    n = rng.integers(0, n_l * width + 1, points).astype(np.int64)
    by_row = np.lexsort((n, rows)).astype(np.int64)
    got = leaf_counts(order, rows, n, by_row, width, n_l)
    assert np.array_equal(got, reference_leaf_counts(order, rows, n, n_l, width))


@settings(max_examples=200, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_merged_gains_equal_the_sorted_ones(seed: int) -> None:
    """Rows of falling gains per leaf (with ties within and across leaves, ``-inf``
    outside a run) are merged to exactly the stable sort's picks and values; rows whose
    gains rise, have a gap in their run or hold a NaN are left to the sort."""
    rng = np.random.default_rng(seed)
    n_r, n_l, n_v = int(rng.integers(1, 6)), int(rng.integers(1, 4)), int(rng.integers(1, 8))
    gains = -np.sort(-np.round(rng.exponential(1.0, (n_r, n_l, n_v)), 1), axis=2)
    lo = rng.integers(0, n_v + 1, (n_r, n_l))
    hi = np.maximum(lo, rng.integers(0, n_v + 1, (n_r, n_l)))
    j = np.arange(n_v)[None, None, :]
    gains[(j < lo[:, :, None]) | (j >= hi[:, :, None])] = -np.inf
    spoilt = rng.random(n_r) < 0.3
    for i in np.flatnonzero(spoilt).tolist():  # a rise, a gap or a NaN
        gains[i, 0, :] = rng.choice([1.0, 2.0, np.nan, -np.inf], n_v)
    start = rng.normal(size=n_r)
    rows = rng.permutation(n_r + 2)[:n_r].astype(np.int64)
    got_vals = np.full((n_r + 2, n_l * n_v + 1), -np.inf)
    got_order = np.zeros((n_r, n_l * n_v), dtype=np.int64)
    done = merge_gains(gains, start, got_order, got_vals, rows)
    ref_vals = np.full_like(got_vals, -np.inf)
    ref_order = _sorted_values(gains, start, rows, ref_vals)
    for i in np.flatnonzero(done).tolist():
        assert np.array_equal(got_order[i], ref_order[i])
        assert np.array_equal(got_vals[rows[i]], ref_vals[rows[i]])
    # Rows without a rise, a gap or a NaN are always merged.
    clean = ~np.isnan(gains).any(axis=(1, 2))
    fin = np.isfinite(gains)
    for i in range(n_r):
        for leaf in range(n_l):
            run = gains[i, leaf][fin[i, leaf]]
            idx = np.flatnonzero(fin[i, leaf])
            if idx.size and (np.any(np.diff(run) > 0) or idx[-1] - idx[0] + 1 != idx.size):
                clean[i] = False
    assert np.array_equal(done, clean)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 6), st.integers(1, 4), st.integers(1, 9))
def test_log_factors_added_as_the_numpy_expression(seed: int, n_rows: int, n_l: int,
                                                   n_k: int) -> None:
    """``_add_log_factors`` (compiled gather and sum around NumPy's ``log1p``) equals
    ``value[rows, lps, :] += wz · log_factor(table · coef)`` to the bit, past the
    edge (x ≥ 1) included."""
    from sustain.optimize.curves import _add_log_factors
    from sustain.optimize.family import log_factor

    rng = np.random.default_rng(seed)
    table = rng.exponential(0.3, (n_rows, n_l, n_k)) * rng.choice([1e-12, 1.0, 5.0], n_rows)[
        :, None, None]
    value = rng.normal(0.0, 1.0, table.shape)
    cells = rng.permutation(n_rows * n_l)[: max(1, n_rows * n_l // 2)]
    rows, lps = cells // n_l, cells % n_l
    coef = rng.uniform(0.0, 2.0, rows.size)
    wz = rng.uniform(0.0, 3.0, rows.size)
    want = value.copy()
    want[rows, lps, :] += wz[:, None] * log_factor(table[rows, lps, :] * coef[:, None])
    _add_log_factors(table, value, rows.astype(np.int64), lps.astype(np.int64), coef, wz)
    np.testing.assert_array_equal(value, want)


@settings(max_examples=100, deadline=None)
@given(st.integers(0, 10_000), st.integers(1, 5), st.integers(1, 4), st.integers(1, 10))
def test_leaf_answers_as_diff_cumsum_argmax(seed: int, n_p: int, n_l: int, n_k: int) -> None:
    """``leaf_answers`` equals the NumPy code: gains by ``diff``, 0 below the floor and
    ``-inf`` from the cap, less gamma, ``cumsum`` from 0 and the first ``argmax``
    (ties included: values on a coarse grid)."""
    from sustain.optimize.curve_kernels import leaf_answers

    rng = np.random.default_rng(seed)
    value = np.cumsum(rng.integers(-1, 4, (n_p + 2, n_l, n_k + 1)), axis=2).astype(float)
    rows = rng.permutation(n_p + 2)[:n_p].astype(np.int64)
    floor = rng.integers(0, n_k + 1, (n_p, n_l)).astype(np.int64)
    cap = np.maximum(floor, rng.integers(0, n_k + 1, (n_p, n_l))).astype(np.int64)
    gamma = rng.integers(0, 3, n_p).astype(float)
    at_floor, best, take = leaf_answers(value, rows, floor, cap, gamma)
    v = value[rows]
    lvl = np.arange(n_k)[None, None, :]
    gains = np.diff(v, axis=2)
    gains[~((lvl >= floor[:, :, None]) & (lvl < cap[:, :, None]))] = -np.inf
    net = gains - gamma[:, None, None]
    net[lvl < floor[:, :, None]] = 0.0
    run = np.concatenate([np.zeros((n_p, n_l, 1)), np.cumsum(net, axis=2)], axis=2)
    j = np.argmax(run, axis=2)
    np.testing.assert_array_equal(take, j)
    np.testing.assert_array_equal(best, np.take_along_axis(run, j[:, :, None], axis=2)[:, :, 0])
    np.testing.assert_array_equal(
        at_floor, np.take_along_axis(v, floor[:, :, None], axis=2)[:, :, 0])
