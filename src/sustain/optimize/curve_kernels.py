"""Compiled inner loops of the optimiser's curve building (numba, ``cache=True``).

One call per batch of items (never per item: a call that takes arrays costs about
100 ns of numba reference counting per array, docs/simulate.md "Kernel and speed"),
with every array bound once.  The arithmetic is the same IEEE operations, in the
same order, as the NumPy and Python code it replaced, so the curves are the same to
the bit (tests/optimize/test_curve_kernels.py checks it against that code).
"""

from __future__ import annotations

import math
from typing import Any

import numba as nb
import numpy as np

_jit: Any = nb.njit(cache=True, nogil=True)


@_jit
def best_and_hulls(vals3, off, width, gamma, cut_on, min_gain, short):  # type: ignore[no-untyped-def]
    """Best value per number of units over the combos, and its upper hull, per item.

    ``vals3[b, c, p]`` is item ``b``'s value with combo ``c`` (``off[c]`` upper-site
    units) and its first ``p`` leaf units (``-inf``: not a point); the best value for
    ``u`` units is the largest over ``c`` of ``vals3[b, c, u - off[c]]``, the first
    such combo on ties (``arg``).  The hull is the upper concave hull of the finite
    best values from the first, rising only: a point at most ``min_gain · max(1,
    |v0|)`` above the last vertex is no vertex, and a vertex under the chord from
    the one before last is dropped (Andrew's monotone chain).  With ``cut_on`` the
    hull stops before its first segment whose slope is below ``gamma[b]``, and
    ``short[b]`` is set.

    Returns ``arg`` (items × width), the hull units of all items end to end, and
    the number of each item's vertices.
    """
    n_b, n_c, n_p = vals3.shape
    best = np.empty(width)
    arg = np.zeros((n_b, width), dtype=np.int64)
    hull = np.empty(n_b * width, dtype=np.int64)
    counts = np.zeros(n_b, dtype=np.int64)
    hu = np.empty(width, dtype=np.int64)
    hv = np.empty(width)
    n_out = 0
    for b in range(n_b):
        for j in range(width):
            best[j] = -np.inf
        for c in range(n_c):
            o = off[c]
            for p in range(n_p):
                v = vals3[b, c, p]
                if v > best[o + p]:
                    best[o + p] = v
                    arg[b, o + p] = c
        h = 0
        tol = 0.0
        first = True
        for u in range(width):
            v = best[u]
            if not math.isfinite(v):
                continue
            if first:
                tol = min_gain * max(1.0, abs(v))
                first = False
            if h > 0 and v <= hv[h - 1] + tol:
                continue
            while h >= 2:
                u1 = hu[h - 2]
                u2 = hu[h - 1]
                v1 = hv[h - 2]
                v2 = hv[h - 1]
                if (v2 - v1) * float(u - u1) <= (v - v1) * float(u2 - u1):
                    h -= 1
                else:
                    break
            hu[h] = u
            hv[h] = v
            h += 1
        if cut_on and h > 1:
            for k in range(h - 1):
                slope = (hv[k + 1] - hv[k]) / (float(hu[k + 1]) - float(hu[k]))
                if slope < gamma[b]:
                    h = k + 1
                    short[b] = True
                    break
        for k in range(h):
            hull[n_out + k] = hu[k]
        n_out += h
        counts[b] = h
    return arg, hull[:n_out], counts


@_jit
def leaf_counts(order, rows, n, sorted_points, width, n_l):  # type: ignore[no-untyped-def]
    """Units at each leaf when the first ``n[p]`` picks of row ``rows[p]`` are taken.

    ``order[r]`` lists row ``r``'s leaf gains best first as ``leaf · width + level``;
    ``sorted_points`` visits the points by row, then by ``n``, so each row's picks are
    counted once, in one pass up to its largest ``n`` (the work grows with the picks
    of the rows used, not with the points times their picks).

    Returns (points × ``n_l``) counts.
    """
    out = np.zeros((rows.size, n_l))
    cnt = np.zeros(n_l)
    row = -1
    k = 0
    for j in sorted_points:
        r = rows[j]
        if r != row:
            row = r
            k = 0
            for leaf in range(n_l):
                cnt[leaf] = 0.0
        while k < n[j]:
            cnt[order[r, k] // width] += 1.0
            k += 1
        for leaf in range(n_l):
            out[j, leaf] = cnt[leaf]
    return out


@_jit
def merge_gains(gains, start, order, vals, out_rows):  # type: ignore[no-untyped-def]
    """Leaf picks best first and the values they reach, by merging the leaves' gains.

    ``gains[i, l, j]`` is row ``i``'s gain of a unit at leaf ``l`` from its ``j``-th
    level (``-inf``: not a pick).  Where each leaf's finite gains are one run that does
    not rise, the stable sort of every row's gains, best first (ties: lower leaf, then
    lower level), is the merge of the leaves' runs: ``order[i]`` gets the picks as
    ``l · L + j`` (then the ``-inf`` entries in index order), and row ``out_rows[i]`` of
    ``vals`` (filled with ``-inf`` by the caller) the value after ``n`` picks,
    ``start[i]`` plus the running sum of the gains -- the numbers of ``argsort``,
    ``cumsum`` and the sum with ``start``.  Returns per row whether it was merged; a row whose gains
    rise somewhere, or hold a NaN, is left for the caller to sort.
    """
    n_r, n_l, n_v = gains.shape
    done = np.zeros(n_r, dtype=np.bool_)
    head = np.zeros(n_l, dtype=np.int64)
    first = np.zeros(n_l, dtype=np.int64)
    end = np.zeros(n_l, dtype=np.int64)
    for i in range(n_r):
        fine = True
        for leaf in range(n_l):
            h = n_v
            e = n_v
            for j in range(n_v):
                v = gains[i, leaf, j]
                if math.isnan(v):
                    fine = False
                    break
                if v != -math.inf:
                    if h == n_v:
                        h = j
                    elif e != n_v or v > gains[i, leaf, j - 1]:
                        fine = False  # a gap in the run, or a rise
                        break
                elif h != n_v and e == n_v:
                    e = j
            if not fine:
                break
            head[leaf] = h
            first[leaf] = h
            end[leaf] = e if h != n_v else n_v
        if not fine:
            continue
        done[i] = True
        row = out_rows[i]
        st = start[i]
        vals[row, 0] = st + 0.0
        n = 0
        total = 0.0
        while True:
            best = -1
            best_v = 0.0
            for leaf in range(n_l):
                if head[leaf] < end[leaf]:
                    v = gains[i, leaf, head[leaf]]
                    if best < 0 or v > best_v:
                        best = leaf
                        best_v = v
            if best < 0:
                break
            order[i, n] = best * n_v + head[best]
            head[best] += 1
            total = best_v if n == 0 else total + best_v
            n += 1
            vals[row, n] = st + total
        for leaf in range(n_l):  # the -inf entries: outside each leaf's run
            for j in range(n_v):
                if j < first[leaf] or j >= end[leaf]:
                    order[i, n] = leaf * n_v + j
                    n += 1
    return done


@_jit
def leaf_answers(value_leaf, rows, floor, cap, gamma):  # type: ignore[no-untyped-def]
    """Each leaf's best number of units at fixed upper-site levels, at a price.

    ``value_leaf[rows[p], l, k]`` is the value of leaf ``l`` of point row ``p`` at
    stock level ``k`` (table columns; levels below ``floor[p, l]`` are held, levels
    from ``cap[p, l]`` on are not points).  The leaf takes levels ``0 .. j − 1``: ``j``
    maximises the running sum of ``net[k]``, which is 0 below the floor, the gain
    ``value[k + 1] − value[k]`` less ``gamma[p]`` up to the cap and ``-inf`` beyond
    (the first such ``j`` on ties, ``j = 0`` included).  Returns the value at the
    floor, the best running sum and ``j`` (points × leaves): the same numbers as the
    NumPy code (``diff``, ``cumsum`` and ``argmax`` along the levels) it replaces.
    """
    n_p = rows.size
    n_l = value_leaf.shape[1]
    n_k = value_leaf.shape[2] - 1
    at_floor = np.empty((n_p, n_l))
    best = np.empty((n_p, n_l))
    take = np.zeros((n_p, n_l), dtype=np.int64)
    for p in range(n_p):
        r = rows[p]
        g = gamma[p]
        for q in range(n_l):
            f = floor[p, q]
            c = cap[p, q]
            at_floor[p, q] = value_leaf[r, q, f]
            run = 0.0
            top = 0.0
            j = 0
            for k in range(n_k):
                if k < f:
                    net = 0.0
                elif k < c:
                    net = (value_leaf[r, q, k + 1] - value_leaf[r, q, k]) - g
                else:
                    break  # -inf from here on: no later level can be best
                run += net
                if run > top:
                    top = run
                    j = k + 1
            best[p, q] = top
            take[p, q] = j
    return at_floor, best, take


@_jit
def gather_scaled(table, rows, lps, coef, out):  # type: ignore[no-untyped-def]
    """``out[p, :] = table[rows[p], lps[p], :] · coef[p]`` (``out``: points × levels)."""
    n_k = table.shape[2]
    for p in range(rows.size):
        r = rows[p]
        q = lps[p]
        c = coef[p]
        for k in range(n_k):
            out[p, k] = table[r, q, k] * c


@_jit
def add_log_factors(table, value, rows, lps, coef, wz, inside, edge, x_edge):  # type: ignore[no-untyped-def]
    """``value[rows[p], lps[p], :] += wz[p] · log_factor(x)`` with ``x = table[rows[p],
    lps[p], :] · coef[p]`` and ``inside[p, :] = log1p(−min(x, edge))`` computed by the
    caller (NumPy's ``log1p``, whose results the compiled one does not match to the
    bit), for each ``p`` in order: :func:`sustain.optimize.family.log_factor`'s
    operations, without its temporaries.  A cell is written by at most one ``p`` per
    call (the caller's rounds), so the order of the additions into a cell is the
    caller's."""
    n_k = table.shape[2]
    for p in range(rows.size):
        r = rows[p]
        q = lps[p]
        c = coef[p]
        w = wz[p]
        for k in range(n_k):
            x = table[r, q, k] * c
            value[r, q, k] += w * (inside[p, k] - max(x - edge, 0.0) / x_edge)
