"""Efficient curves of top-level items over the upper sites' stock levels and the leaves'.

Multi-echelon allocation follows Sherbrooke (2004, *Optimal Inventory Modeling of
Systems*, 2nd ed., sec. 4.4–4.6; the VARI-METRIC optimisation of Sherbrooke 1986):
for one item, depot (and intermediate) stock shortens every base's resupply, so the
item's efficient curve is built by enumerating the stock levels of the upper sites
and, for each, allocating base stock by marginal analysis (exact there: with the
upper levels fixed, each base's term is concave in its own stock); the item's curve
is the upper convex hull of all those points (a step along it may add depot stock
and take base stock back to what the new depot level makes unnecessary — never
below the stock already held).

Items are built in vectorised batches; with a cut, only the part of a curve whose
steps gain at least a given ratio is built, and the greedy extends it on demand
(docs/optimize.md, "Curves built on demand").
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from sustain._types import BoolArray, FloatArray, IntArray
from sustain.optimize.curve_kernels import (
    add_log_factors,
    best_and_hulls,
    gather_scaled,
    leaf_answers,
    leaf_counts,
    merge_gains,
)
from sustain.optimize.family import (
    X_EDGE,
    Curve,
    Family,
    log_factor,
    special_pairs,
    special_terms,
)
from sustain.optimize.state import MIN_GAIN, AllocationState
from sustain.readiness.backorders import ebo_table
from sustain.readiness.metric import Flows, pipelines, position_shortfall

#: Stock considered at a site: up to the level where P(pipeline > s) is about this.
TAIL_FOR_CAP = 1e-7
#: Items per vectorised batch when building curves, and table cells per batch.
BATCH_ITEMS = 2048
CELL_BUDGET = 4_000_000
#: Cells of the large tables worked on at a time (bounds the temporary arrays).
CHUNK_CELLS = 1 << 20
#: Upper-site stock combinations enumerated per batch: every combination up to the
#: caps when the batch's tables fit in :data:`CELL_BUDGET` cells and its pipelines in
#: :data:`PIPE_BUDGET` (combination, site) pairs; otherwise the widest range is
#: narrowed until they fit, keeping at least this many combinations.
MIN_COMBOS = 512
PIPE_BUDGET = 32_768


def combo_limit(n_items: int, n_leaves: int, levels: int, n_sites: int) -> int:
    """Upper-site combinations allowed for ``n_items`` items with ``n_leaves`` leaves of
    ``levels`` stock levels each on ``n_sites`` sites: as many as fit in both budgets,
    and at least :data:`MIN_COMBOS`."""
    cells = CELL_BUDGET // max(n_items * max(n_leaves, 1) * levels, 1)
    return max(MIN_COMBOS, min(cells, PIPE_BUDGET // max(n_items * n_sites, 1)))


def level_caps(mean: FloatArray, var: FloatArray, lo: FloatArray, hi: FloatArray) -> FloatArray:
    """Stock beyond which more brings (almost) nothing: ``mean + k·sd`` with ``P(X > cap)``
    about :data:`TAIL_FOR_CAP` (normal tail), within ``[lo, hi]``."""
    k = math.sqrt(2 * -math.log(TAIL_FOR_CAP)) + 1.0
    with np.errstate(over="ignore"):
        cap = np.ceil(mean + k * np.sqrt(np.maximum(var, mean)) + 2.0)
    return np.asarray(np.minimum(np.maximum(cap, lo), hi), dtype=np.float64)


def stock_caps(
    state: AllocationState, rows: IntArray, mean: FloatArray, var: FloatArray
) -> FloatArray:
    """:func:`level_caps` of ``rows`` within the state's stock limits."""
    return level_caps(mean, var, state.lo[rows], state.hi[rows])


def build_curves(
    state: AllocationState, fams: list[Family], cut: float = 0.0, rel: float = 0.0,
    answer: bool = False,
) -> None:
    """Efficient curve of each family's top item from the current stock (batched).

    Families are sorted by the size of their enumeration (upper-site levels ×
    base levels) and batched under :data:`CELL_BUDGET` table cells, so one wide
    item does not pad a whole batch.  With ``cut`` (a ratio, per money) or ``rel``
    (a share of each item's best first leaf gain) above 0, curves stop where their
    steps gain less; such a curve's ``beyond`` bounds what lies past its end, and
    the greedy extends it when that bound reaches the top (docs/optimize.md).

    With ``answer`` (and ``cut`` > 0), each curve is only its point maximising value −
    ``cut`` · money (:func:`_answers`), the family's answer to its Lagrangian problem at
    the weights (``decompose.py``), found without building the curve before it.
    """
    if not fams:
        return
    tops = np.array([f.top for f in fams], dtype=np.int64)
    floor = state.stock[tops]
    sub0 = state.a.subset(tops, stock=floor)
    pipes0 = pipelines(sub0, flows_rows(state.flows, tops), state.method)
    cap = np.maximum(stock_caps(state, tops, pipes0.mean, pipes0.var), floor)
    ups, leaves = state.uppers, state.leaves
    combos = np.prod(np.maximum(cap[:, ups] - floor[:, ups], 0) + 1, axis=1)
    levels = (cap[:, leaves].max(axis=1) + 1) if leaves.size else np.ones(tops.size)
    limit = [combo_limit(1, leaves.size, int(x), state.a.n_sites) for x in levels.tolist()]
    size = np.minimum(combos, limit) * max(leaves.size, 1) * levels
    order = np.lexsort((levels, combos))
    batch: list[int] = []
    worst = 0.0

    def build(batch: list[int]) -> None:
        idx = np.array(batch, dtype=np.int64)
        pre = (pipes0.mean[idx], pipes0.var[idx], pipes0.ebo[idx])
        build_batch(state, [fams[n] for n in batch], cut, rel, pre, answer)

    for n in order.tolist():
        worst = max(worst, float(size[n]))
        if batch and (len(batch) >= BATCH_ITEMS or worst * (len(batch) + 1) > CELL_BUDGET):
            build(batch)
            batch, worst = [], float(size[n])
        batch.append(n)
    build(batch)


def build_batch(
    state: AllocationState, fams: list[Family], cut: float = 0.0, rel: float = 0.0,
    pre: tuple[FloatArray, FloatArray, FloatArray] | None = None, answer: bool = False,
) -> None:
    """Curves of one batch; ``pre``: the tops' pipelines at their floor without waits;
    ``answer``: only each curve's answer at ``cut`` (:func:`build_curves`)."""
    a, flows = state.a, state.flows
    tops = np.array([f.top for f in fams], dtype=np.int64)
    n_b, n_s = tops.size, a.n_sites
    floor = state.stock[tops]
    # Waits of the tops, from their sub-items' current stock.
    wait = np.zeros((2, n_b, n_s))
    for b, fam in enumerate(fams):
        if fam.rows.size > 1:
            _, fam_wait = state.family_eval(fam, state.stock[fam.rows][None])
            wait[:, b] = fam_wait[:, 0]
    # Worst-case pipelines (upper sites at their floor) set the caps.
    if pre is None or np.any(wait):
        sub0 = a.subset(tops, stock=floor)
        p0 = pipelines(sub0, flows_rows(flows, tops), state.method, wait=(wait[0], wait[1]))
        pre = (p0.mean, p0.var, p0.ebo)
    mean0, var0, ebo0 = pre
    cap = np.maximum(stock_caps(state, tops, mean0, var0), floor)  # (n_b × sites)
    ups, leaves = state.uppers, state.leaves
    n_l = leaves.size
    # Truncation (``cut`` or ``rel`` > 0): build only the part of the curve whose
    # steps gain at least ``gamma`` per unit (``cut`` per money, or ``rel`` times the
    # item's best first leaf unit); the rest is built on demand.
    gamma = cut * a.unit_cost[tops]
    short = np.zeros(n_b, dtype=bool)  # curves truncated below ``gamma``
    if rel > 0 and n_l:
        cut = rel  # (only its sign matters below; ``gamma`` is set from the gains)
    # Leaf tables start at the batch's lowest leaf floor: levels below every floor are
    # never points (a rebuilt curve's tables span what is left to buy, not all stock).
    m_lo = int(floor[:, leaves].min()) if n_l else 0
    if cut > 0 and n_l:
        # Leaf levels: a leaf's gains fall with its own stock (concave), and are
        # largest with the upper sites at their floor (longest pipeline): keep the
        # levels whose gain there is at least gamma.
        m0 = int(cap[:, leaves].max())
        t0 = ebo_table(
            mean0[:, leaves].ravel(), var0[:, leaves].ravel(), m0, m_lo
        ).reshape(n_b, n_l, m0 - m_lo + 1)
        g0 = np.diff(_values(state, tops, 1, t0, ebo0, mv=(mean0, var0, None, floor),
                             first_level=m_lo)[1], axis=2)
        lvl0 = np.arange(m_lo, m0)[None, None, :]
        f_l, c_l = floor[:, leaves][:, :, None], cap[:, leaves][:, :, None]
        span0 = (lvl0 >= f_l) & (lvl0 < c_l)
        if rel > 0:
            gamma = rel * np.max(np.where(span0, g0, 0.0), axis=(1, 2), initial=0.0)
        keep = span0 & (g0 >= gamma[:, None, None])
        new_cap = floor[:, leaves] + keep.sum(axis=2)
        short |= np.any(span0 & ~keep & (g0 > 0), axis=(1, 2))  # worthless: not short
        cap[:, leaves] = new_cap
    span = np.maximum(cap[:, ups] - floor[:, ups], 0).astype(np.int64)
    k_max = span.max(axis=0) if ups.size else np.zeros(0, dtype=np.int64)
    limit = combo_limit(n_b, n_l, (int(cap[:, leaves].max()) if n_l else 0) + 1, n_s)
    while math.prod(k + 1 for k in k_max.tolist()) > limit:  # narrow the widest range
        k_max[np.argmax(k_max)] = int(k_max.max() * 0.8)
    # Items whose upper-site range was narrowed: their curves end at the box, and are
    # extended from the stock then held when the greedy gets there.
    narrowed = np.any(span > k_max[None, :], axis=1)
    combos = np.array(list(itertools.product(*[range(k + 1) for k in k_max])), dtype=float)
    if combos.size == 0:
        combos = np.zeros((1, 0))
    n_c = combos.shape[0]
    # Rows: batch item b, combo c -> r = b * n_c + c.  Leaves at their floor (their
    # stock changes no other site's pipeline; their EBO there bounds a combo's worth).
    rows = np.repeat(tops, n_c)
    stock = np.repeat(floor, n_c, axis=0)
    stock[:, ups] += np.tile(combos, (n_b, 1))
    valid = np.all(stock[:, ups] <= np.repeat(cap[:, ups], n_c, axis=0), axis=1)
    # Pipelines of the valid rows only (the combos are a box over the whole batch,
    # so many rows pass an item's own caps); the others stay 0 and are never points.
    live = np.flatnonzero(valid)
    sub = a.subset(rows[live], stock=stock[live])
    fl = flows_rows(flows, rows[live])
    wt = (np.repeat(wait[0], n_c, axis=0)[live], np.repeat(wait[1], n_c, axis=0)[live])
    pipes = pipelines(sub, fl, state.method, wait=wt)
    p_mean, p_var, p_ebo = (np.zeros((rows.size, n_s)) for _ in range(3))
    p_mean[live], p_var[live], p_ebo[live] = pipes.mean, pipes.var, pipes.ebo
    if cut > 0 and ups.size and n_c > 1:
        # Upper-site levels: the last upper unit of a point on the curve must gain at
        # least gamma, and it gains most with the leaves at their floor; keep the
        # combos no larger than the largest one whose last unit does.
        vf_up, vf_leaf = _values(
            state, tops, n_c, p_ebo[:, leaves][:, :, None], p_ebo, valid,
            mv=(p_mean, p_var, floor[:, leaves], stock),
        )
        vf = (vf_up + vf_leaf[:, :, 0].sum(axis=1)).reshape(n_b, n_c)
        stride = np.cumprod(np.concatenate([[1], (k_max + 1)[:0:-1]]))[::-1]
        last = np.full((n_b, n_c), -np.inf)
        for j in range(ups.size):
            has = np.flatnonzero(combos[:, j] > 0)
            d = vf[:, has] - vf[:, has - int(stride[j])]
            last[:, has] = np.maximum(last[:, has], d)
        size_c = combos.sum(axis=1)
        useful = (last >= gamma[:, None]) & valid.reshape(n_b, n_c)
        reach = np.max(np.where(useful, size_c[None, :], 0.0), axis=1)
        short |= np.any(
            valid.reshape(n_b, n_c) & (size_c[None, :] > reach[:, None]) & (last > 0), axis=1
        )
        valid &= (size_c[None, :] <= reach[:, None]).ravel()
        kept = valid.reshape(n_b, n_c).any(axis=0)
        kept[0] = True
        k_new = combos[kept].max(axis=0)
        in_box = np.all(combos <= k_new[None, :], axis=1)
        if not np.all(in_box):
            pick = (np.arange(n_b)[:, None] * n_c + np.flatnonzero(in_box)[None, :]).ravel()
            combos, n_c = combos[in_box], int(in_box.sum())
            rows, stock, valid = rows[pick], stock[pick], valid[pick]
            p_mean, p_var, p_ebo = p_mean[pick], p_var[pick], p_ebo[pick]
    # Values of fleets at upper sites (fixed per combo) and at leaves (per level).
    w = state.w
    m_max = int(cap[:, leaves].max()) if n_l else 0
    n_lv = m_max - m_lo  # table columns: levels m_lo .. m_max
    live = np.flatnonzero(valid)
    built = ebo_table(
        p_mean[live][:, leaves].ravel(), p_var[live][:, leaves].ravel(), m_max, m_lo
    ).reshape(live.size, n_l, n_lv + 1)
    if live.size == n_b * n_c:
        table = built
    else:
        table = np.zeros((n_b * n_c, n_l, n_lv + 1))  # EBO 0: rows that are no points
        table[live] = built
    del built
    value_up, value_leaf = _values(state, tops, n_c, table, p_ebo, valid,
                                   mv=(p_mean, p_var, None, stock), first_level=m_lo)
    # Marginal gains at each leaf from each level; only floor <= level < cap count.
    # Valid rows only (``live``, in order); the others are no points (value -inf).
    # The large (rows × leaves × levels) arrays are made one at a time and released
    # (or overwritten in place) as soon as the next is made: the peak memory is a few
    # tables, not one per step.
    if answer and cut > 0 and rel == 0 and not narrowed.any():
        _answers(state, fams, tops, gamma, (value_leaf, value_up, live, m_lo),
                 (combos, n_c, floor, stock, cap), (table, p_ebo, p_mean, p_var))
        return
    if live.size < n_b * n_c:
        value_leaf = value_leaf[live]
    lvl = np.arange(m_lo, m_max)[None, None, :]
    fl_leaf = np.repeat(floor[:, leaves], n_c, axis=0)[live][:, :, None]
    cap_leaf = np.repeat(cap[:, leaves], n_c, axis=0)[live][:, :, None]
    start = value_up[live] + np.take_along_axis(
        value_leaf, fl_leaf.astype(np.int64) - m_lo, axis=2
    )[:, :, 0].sum(axis=1)
    gains = np.diff(value_leaf, axis=2)  # (live rows, leaves, n_lv): from m_lo + j
    del value_leaf
    gains[~((lvl >= fl_leaf) & (lvl < cap_leaf))] = -np.inf
    # Picks best first and the value after each: merged from the leaves' runs of
    # falling gains (compiled), sorted where a row's gains rise somewhere.
    vals = np.full((n_b * n_c, gains.shape[1] * gains.shape[2] + 1), -np.inf)
    order = np.empty((live.size, gains.shape[1] * gains.shape[2]), dtype=np.int64)
    merged = merge_gains(gains, np.ascontiguousarray(start, dtype=np.float64), order, vals,
                         live.astype(np.int64))
    if not merged.all():
        rest = np.flatnonzero(~merged)
        order[rest] = _sorted_values(gains[rest], start[rest], live[rest], vals)
    del gains
    at_live = np.full(n_b * n_c, -1, dtype=np.int64)  # row -> its place in ``live``
    at_live[live] = np.arange(live.size)
    # Best value per item for each number of units added, over the combos.
    off = combos.sum(axis=1).astype(np.int64)
    width = vals.shape[1] + int(off.max(initial=0))
    # Best value per item for each number of units over the combos, and the upper
    # convex hull of (units, value) from the current point; with a cut, only the
    # steps gaining at least gamma per unit (exact up to there: every vertex reached
    # at such a slope is among the points kept).  Compiled: curve_kernels.py.
    arg, u, counts = best_and_hulls(
        np.ascontiguousarray(vals.reshape(n_b, n_c, -1), dtype=np.float64), off, width,
        np.ascontiguousarray(gamma, dtype=np.float64), bool(cut > 0), MIN_GAIN, short,
    )
    # Allocations at the hull points, all points of the batch at once: point p of
    # item owner[p] is combo c[p] with the first n[p] leaf gains of its row taken.
    owner = np.repeat(np.arange(n_b, dtype=np.int64), counts)
    combo = arg[owner, u]
    r = owner * n_c + combo
    alloc = floor[owner]
    alloc[:, ups] = stock[r][:, ups]
    alloc[:, leaves] += _leaf_counts(order, at_live[r], u - off[combo], n_l, max(n_lv, 1))
    # Fleet terms at the hull points, read from the same tables: leaf EBOs from
    # ``table`` at the allocated level, upper-site EBOs from the combo's pipelines
    # (a base's stock does not change any other site's pipeline).
    terms = _point_terms(state, fams, tops, owner, r, alloc, table, p_ebo, (p_mean, p_var),
                         first_level=m_lo)
    first = np.concatenate([[0], np.cumsum(counts)])
    for b, fam in enumerate(fams):
        t = terms[b]
        units_b = u[first[b] : first[b + 1]]
        value_b = t @ w[fam.fleets]
        # The greedy's ratios, as it would compute them step by step (same operations).
        with np.errstate(over="ignore"):  # a free item's ratio is infinite: bought first
            ratio_b = np.diff(value_b) / np.maximum(np.diff(units_b) * a.unit_cost[fam.top],
                                                    1e-300)
        beyond = float(gamma[b] / max(a.unit_cost[fam.top], 1e-300)) if short[b] else 0.0
        if narrowed[b] and ratio_b.size:
            # Past a narrowed box: bounded (heuristically) by the last step's ratio.
            beyond = max(beyond, float(ratio_b[-1]))
        fam.curve = Curve(
            units=units_b, value=value_b,
            stock=alloc[first[b] : first[b + 1]], logs=t, beyond=beyond,
            ratio=ratio_b.tolist(), low=t.min(axis=1, initial=0.0).tolist(),
        )


def _answers(
    state: AllocationState, fams: list[Family], tops: IntArray, gamma: FloatArray,
    leaf: tuple[FloatArray, FloatArray, IntArray, int],
    box: tuple[FloatArray, int, FloatArray, FloatArray, FloatArray],
    tables: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
) -> None:
    """Each family's point maximising value − ``gamma`` · units, as a one-point curve.

    With the upper sites' levels fixed (a combo), the leaves are independent: each
    leaf takes the number of units whose gains, less ``gamma`` each, sum highest (the
    first such number: fewest units on ties; :func:`~sustain.optimize.curve_kernels.leaf_answers`);
    the family takes its best combo (the first on ties).  That is the Lagrangian
    problem of the family solved exactly over the levels enumerated, which is what the
    last point of the curve built down to ``gamma`` gives (Everett 1963) without the
    curve's points before it.  ``leaf``: the leaves' values (rows × leaves × levels
    from ``m_lo``), the upper sites' values per row, the live rows and ``m_lo``;
    ``box``: the combos, their count, the floors and caps (items × sites) and the
    rows' stock; ``tables``: what :func:`_point_terms` reads.
    """
    value_leaf, value_up, live, m_lo = leaf
    combos, n_c, floor, stock, cap = box
    table, p_ebo, p_mean, p_var = tables
    ups, leaves = state.uppers, state.leaves
    n_b = tops.size
    b_of = live // n_c
    fl = np.repeat(floor[:, leaves], n_c, axis=0)[live].astype(np.int64) - m_lo
    cp = np.repeat(cap[:, leaves], n_c, axis=0)[live].astype(np.int64) - m_lo
    at_floor, best, j = leaf_answers(value_leaf, live.astype(np.int64), fl, cp,
                                     np.ascontiguousarray(gamma[b_of], dtype=np.float64))
    start = value_up[live] + at_floor.sum(axis=1)
    add = np.maximum(j - fl, 0).astype(np.float64)  # units at each leaf
    off = combos.sum(axis=1)
    units = off[live % n_c] + add.sum(axis=1)
    obj = start + best.sum(axis=1) - gamma[b_of] * off[live % n_c]
    # The best live row of each item (the first on ties): rows are in item, combo order.
    top_obj = np.full(n_b, -np.inf)
    np.maximum.at(top_obj, b_of, obj)
    hit = np.flatnonzero(obj >= top_obj[b_of])
    first = np.concatenate([[True], b_of[hit][1:] != b_of[hit][:-1]])
    pick = hit[first]  # positions in ``live``, one per item, in item order
    r = live[pick]
    owner = np.arange(n_b, dtype=np.int64)
    alloc = floor.copy()
    alloc[:, ups] = stock[r][:, ups]
    alloc[:, leaves] += add[pick]
    terms = _point_terms(state, fams, tops, owner, r, alloc, table, p_ebo, (p_mean, p_var),
                         first_level=m_lo)
    w = state.w
    for b, fam in enumerate(fams):
        t = terms[b]
        fam.curve = Curve(
            units=np.array([int(units[pick[b]])], dtype=np.int64), value=t @ w[fam.fleets],
            stock=alloc[b : b + 1], logs=t, beyond=0.0, ratio=[],
            low=t.min(axis=1, initial=0.0).tolist(),
        )


def _values(
    state: AllocationState, tops: IntArray, n_c: int, table: FloatArray, ebo_rows: FloatArray,
    valid: BoolArray | None = None,
    mv: tuple[FloatArray, FloatArray, FloatArray | None, FloatArray] | None = None,
    first_level: int = 0,
) -> tuple[FloatArray, FloatArray]:
    """Weighted fleet values of rows ``r = b * n_c + c`` of the items ``tops``.

    ``table`` is (rows × leaves × levels) leaf EBOs (levels from ``first_level``),
    ``ebo_rows`` (rows × sites)
    EBOs at the upper sites.  Returns the upper-site fleets' value per row and the
    leaf fleets' value per row, leaf and level (0 on rows where ``valid`` is False).
    ``mv`` gives what redundant installations need (:func:`_special_values`): pipeline
    means and variances (rows × sites), the stock of each level column (None: the
    column is the stock; else (items × leaves), one column) and the stock (rows × sites).
    """
    a, w = state.a, state.w
    n_b = tops.size
    value_up = np.zeros(n_b * n_c)
    value_leaf = np.zeros_like(table)
    leaf_of = np.full(a.n_sites, -1, dtype=np.int64)
    leaf_of[state.leaves] = np.arange(state.leaves.size)
    # Every (fleet, item) pair that counts, fleet by fleet (the order in which terms
    # are added up below, as a loop over fleets would).
    live = np.flatnonzero((w != 0) & (a.fleet_count > 0))
    z_fb = a.qty_per_system[tops][:, a.fleet_system[live]].T  # (live fleets × items)
    f_i, b = np.nonzero(z_fb)
    if b.size == 0:
        return value_up, value_leaf
    f = live[f_i]
    z = z_fb[f_i, b]
    s = a.fleet_site[f]
    dem = state.flows.demand[tops[b], s]
    # x is linear in EBO: x per backorder, then x = EBO · coef over the tables.
    coef = position_shortfall(
        np.ones_like(dem), dem, a.failures_per_hour[tops[b]], a.fleet_hours_per_day[f]
    )
    wz = w[f] * z
    if mv is not None and (a.mission_split or a.holes_consolidated):
        dead, slow = special_pairs(a, tops[b], f)
        wz[dead | slow] = 0.0
        _special_values(state, tops, n_c, valid, mv, b[slow], f[slow], leaf_of,
                        value_up, value_leaf, first_level)
    lpos = leaf_of[s]
    at_leaf = lpos >= 0
    cols = np.arange(n_c, dtype=np.int64)
    per_b = valid.reshape(n_b, n_c) if valid is not None else None
    # Pairs adding into the same cells go in rounds (k-th fleet of each cell in
    # round k), so every cell sums its terms in fleet order.
    key = np.where(at_leaf, b * (state.leaves.size + 1) + lpos, b * (state.leaves.size + 1)
                   + state.leaves.size)
    for sel in _rounds(key):
        leaf_sel = sel[at_leaf[sel]]
        if leaf_sel.size:
            pair, rows = _pair_rows(b, leaf_sel, n_c, cols, per_b)
            _add_log_factors(table, value_leaf, rows.astype(np.int64),
                             lpos[pair].astype(np.int64), coef[pair], wz[pair])
        up_sel = sel[~at_leaf[sel]]
        if up_sel.size:
            pair, rows = _pair_rows(b, up_sel, n_c, cols, per_b)
            x = ebo_rows[rows, s[pair]] * coef[pair]
            value_up[rows] += wz[pair] * log_factor(x)
    return value_up, value_leaf


def _add_log_factors(table: FloatArray, value: FloatArray, rows: IntArray, lps: IntArray,
                     coef: FloatArray, wz: FloatArray) -> None:
    """``value[rows, lps, :] += wz · log_factor(table[rows, lps, :] · coef)`` (one
    cell per pair), in pieces of at most :data:`CHUNK_CELLS` cells: the scaled EBOs
    gathered by a compiled loop, NumPy's ``log1p`` on them in place, and the sum
    added by a compiled loop (the same numbers as the NumPy expression)."""
    n_k = table.shape[2]
    step = max(1, CHUNK_CELLS // max(n_k, 1))
    edge = 1.0 - X_EDGE
    for k in range(0, rows.size, step):
        r, q, c, w = rows[k : k + step], lps[k : k + step], coef[k : k + step], wz[k : k + step]
        buf = np.empty((r.size, n_k))
        gather_scaled(table, r, q, c, buf)
        np.minimum(buf, edge, out=buf)
        np.negative(buf, out=buf)
        np.log1p(buf, out=buf)
        add_log_factors(table, value, r, q, c, w, buf, edge, X_EDGE)


def _special_values(
    state: AllocationState, tops: IntArray, n_c: int, valid: BoolArray | None,
    mv: tuple[FloatArray, FloatArray, FloatArray | None, FloatArray], b: IntArray,
    f: IntArray, leaf_of: IntArray, value_up: FloatArray, value_leaf: FloatArray,
    first_level: int = 0,
) -> None:
    """Add ``w_f log R`` of the redundant (item ``tops[b]``, fleet ``f``) pairs to the
    values (:func:`sustain.optimize.family.special_terms`), row by row."""
    a, w = state.a, state.w
    mean, var, one_level, stock = mv
    for bb, ff in zip(b.tolist(), f.tolist(), strict=True):
        site = int(a.fleet_site[ff])
        lp = int(leaf_of[site])
        item = int(tops[bb])
        dem = float(state.flows.demand[item, site])
        for c in range(n_c):
            row = bb * n_c + c
            if valid is not None and not valid[row]:
                continue
            if lp >= 0:
                levels = (np.arange(first_level, first_level + value_leaf.shape[2],
                                    dtype=np.float64) if one_level is None
                          else np.array([one_level[bb, lp]]))
            else:
                levels = np.array([stock[row, site]])
            t = w[ff] * special_terms(a, item, ff, dem, float(mean[row, site]),
                                      float(var[row, site]), levels)
            if lp >= 0:
                value_leaf[row, lp, :] += t
            else:
                value_up[row] += t[0]


def _point_terms(
    state: AllocationState, fams: list[Family], tops: IntArray, owner: IntArray, r: IntArray,
    alloc: FloatArray, table: FloatArray, ebo_rows: FloatArray,
    mv: tuple[FloatArray, FloatArray] | None = None, first_level: int = 0,
) -> list[FloatArray]:
    """Unweighted fleet terms (points × family fleets) of each family's points.

    Point ``p`` belongs to family ``owner[p]``, has stock ``alloc[p]`` and reads row
    ``r[p]`` of ``table`` (leaves × levels from ``first_level``) and ``ebo_rows``
    (sites); the result equals :func:`fleet_terms` on those EBOs.
    """
    a = state.a
    leaf_of = np.full(a.n_sites, -1, dtype=np.int64)
    leaf_of[state.leaves] = np.arange(state.leaves.size)
    nf = np.array([f.fleets.size for f in fams], dtype=np.int64)
    fl_cat = np.concatenate([f.fleets for f in fams]).astype(np.int64)
    fl_first = np.concatenate([[0], np.cumsum(nf)[:-1]]).astype(np.int64)
    per_pt = nf[owner]
    pp = np.repeat(np.arange(owner.size, dtype=np.int64), per_pt)
    k = np.arange(pp.size, dtype=np.int64) - np.repeat(np.cumsum(per_pt) - per_pt, per_pt)
    f = fl_cat[fl_first[owner[pp]] + k]
    s = a.fleet_site[f]
    top = tops[owner[pp]]
    rp = r[pp]
    lpos = leaf_of[s]
    at_leaf = lpos >= 0
    ebo = np.empty(pp.size)
    lvl = alloc[pp[at_leaf], s[at_leaf]].astype(np.int64) - first_level
    ebo[at_leaf] = table[rp[at_leaf], lpos[at_leaf], lvl]
    ebo[~at_leaf] = ebo_rows[rp[~at_leaf], s[~at_leaf]]
    z = a.qty_per_system[top, a.fleet_system[f]]
    dem = state.flows.demand[top, s]
    x = position_shortfall(ebo, dem, a.failures_per_hour[top], a.fleet_hours_per_day[f])
    term = z * log_factor(x)
    if mv is not None and (a.mission_split or a.holes_consolidated):
        dead, slow = special_pairs(a, top, f)
        term[dead] = 0.0
        for n in np.flatnonzero(slow).tolist():
            term[n] = special_terms(
                a, int(top[n]), int(f[n]), float(dem[n]), float(mv[0][rp[n], s[n]]),
                float(mv[1][rp[n], s[n]]), np.array([alloc[pp[n], s[n]]]),
            )[0]
    bounds = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=len(fams)) * nf)])
    return [
        term[bounds[b] : bounds[b + 1]].reshape(-1, nf[b]) for b in range(len(fams))
    ]


def _sorted_values(gains: FloatArray, start: FloatArray, rows: IntArray,
                   vals: FloatArray) -> IntArray:
    """Picks of each row best first (a stable sort of its gains) and, in ``vals[rows]``,
    the value after each number of picks (``-inf`` past the last finite gain)."""
    flat = gains.reshape(gains.shape[0], -1)
    order = np.argsort(-flat, axis=1, kind="stable")
    g = np.take_along_axis(flat, order, axis=1)
    ok = np.isfinite(g)
    n_ok = ok.sum(axis=1)
    g[~ok] = 0.0
    np.cumsum(g, axis=1, out=g)  # value gained by the first n + 1 leaf units
    step = max(1, CHUNK_CELLS // vals.shape[1])
    for lo_r in range(0, rows.size, step):
        st = start[lo_r : lo_r + step, None]
        chunk = np.concatenate([st + 0.0, st + g[lo_r : lo_r + step]], axis=1)
        n_idx = np.arange(chunk.shape[1])[None, :]
        chunk[n_idx > n_ok[lo_r : lo_r + step, None]] = -np.inf
        vals[rows[lo_r : lo_r + step]] = chunk
    return order


def _leaf_counts(order: IntArray, rows: IntArray, n: IntArray, n_l: int, width: int) -> FloatArray:
    """Units at each leaf when the first ``n[p]`` entries of ``order[rows[p]]`` are taken.

    ``order`` lists (leaf × ``width`` + level) gain indices best first, per row.
    Returns (points × ``n_l``), counted by :func:`~sustain.optimize.curve_kernels.leaf_counts`
    in one pass over each row's picks.
    """
    if n_l == 0 or rows.size == 0:
        return np.zeros((rows.size, n_l))
    by_row = np.lexsort((n, rows)).astype(np.int64)
    return np.asarray(leaf_counts(order, rows.astype(np.int64), n.astype(np.int64), by_row,
                                  int(width), int(n_l)), dtype=np.float64)


def _pair_rows(
    b: IntArray, sel: IntArray, n_c: int, cols: IntArray, per_b: BoolArray | None
) -> tuple[IntArray, IntArray]:
    """Pairs ``sel`` (of items ``b``) expanded to their rows ``b * n_c + c``, valid only."""
    rows = b[sel, None] * n_c + cols[None, :]
    pair = np.broadcast_to(sel[:, None], rows.shape)
    if per_b is None:
        return pair.ravel(), rows.ravel()
    keep = per_b[b[sel]]
    return pair[keep], rows[keep]


def _rounds(key: IntArray) -> list[IntArray]:
    """Positions of ``key`` split by occurrence: round k holds the k-th of each key.

    Within a round no key repeats (safe for fancy ``+=``); rounds keep the original
    order of each key's occurrences.
    """
    order = np.argsort(key, kind="stable")
    sk = key[order]
    first = np.flatnonzero(np.concatenate([[True], sk[1:] != sk[:-1]]))
    rank = np.arange(sk.size) - np.repeat(first, np.diff(np.concatenate([first, [sk.size]])))
    return [np.sort(order[rank == k]) for k in range(int(rank.max(initial=-1)) + 1)]


def flows_rows(flows: Flows, rows: IntArray) -> Flows:
    """Flows of a subset of items (valid for top-level items and whole families)."""
    return Flows(
        local=flows.local[rows], demand=flows.demand[rows], up=flows.up[rows],
        repairs=flows.repairs[rows],
    )


