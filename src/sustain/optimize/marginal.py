"""Readiness-based sparing: marginal analysis over items, sites and echelons.

The objective is a weighted sum of fleets' log-availabilities,
``Φ = Σ_f w_f log A_f`` with ``log A_f = Σ_i Z_i log(1 − EBO_is·share_if/(N_f Z_i))``
(Sherbrooke's product formula), which is a sum over top-level items (each term
depends only on that item's stock, and on its sub-items' through repair delays).

Multi-echelon allocation follows Sherbrooke (2004, *Optimal Inventory Modeling of
Systems*, 2nd ed., sec. 4.4–4.6; the VARI-METRIC optimisation of Sherbrooke 1986):
for one item, depot (and intermediate) stock shortens every base's resupply, so the
item's efficient curve is built by enumerating the stock levels of the upper sites
and, for each, allocating base stock by marginal analysis (exact there: with the
upper levels fixed, each base's term is concave in its own stock); the item's curve
is the upper convex hull of all those points (a step along it may add depot stock
and take base stock back to what the new depot level makes unnecessary — never
below the stock already held).  The items' curves are then merged by the classical
greedy on ``ΔΦ / Δcost`` (Sherbrooke ch. 2 and 4; Fox 1966): every point visited is
on the efficient curve of the separable problem.

Targets per fleet: a fleet's weight is 1 while it is below its target and 0 once it
reaches it (the items it depends on then get new curves, from the stock bought so
far); the run stops when every target is met.  With a budget the weights are the
fleet sizes and the run buys down the curve while the money lasts.

Multi-indenture: a sub-item's backorders at a site hold up its parent's repairs
there, so a top-level item's curve is built with its sub-items' current stock held
fixed, and each sub-item unit (at any site) is a candidate of its own whose gain is
found by re-evaluating the whole family; after any purchase in a family its
candidates are rebuilt.  Sub-items and parents compete for the same money.

With targets, curves are built on demand: only down to a gain per unit, extended
when the greedy gets there (see ``build_curves`` and docs/optimize.md).

Pure array code apart from the greedy loop; no I/O.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sustain._types import BoolArray, FloatArray, IntArray
from sustain.optimize.curve_kernels import best_and_hulls
from sustain.readiness.backorders import ebo_table
from sustain.readiness.metric import Flows, Method, demand_flows, pipelines
from sustain.scenario.compile import ScenarioArrays

#: Beyond x = 1 − X_EDGE the log factor log(1 − x) is continued linearly with its slope
#: there, so a fleet whose positions are all empty (x ≥ 1, availability 0) still sees
#: every unit that brings it back as a gain (a floor would make those units worthless).
X_EDGE = 1e-9
#: Stock considered at a site: up to the level where P(pipeline > s) is about this.
TAIL_FOR_CAP = 1e-7
#: Upper-site stock levels considered per item: combinations enumerated at most.
MAX_COMBOS = 512
#: Gains below this (in log-availability per unit of money, relative) are no gain.
MIN_GAIN = 1e-12
#: Items per vectorised batch when building curves, and table cells per batch.
BATCH_ITEMS = 2048
CELL_BUDGET = 4_000_000
#: Families rebuilt together when a family whose weights fell reaches the top of the heap.
REBUILD_AHEAD = 64
#: Rebuilt curves go down to this share of the current ratio; the rest is built on demand.
REBUILD_CUT = 0.25
#: First curves go down to this share of the item's best first unit's gain (targets only).
INITIAL_CUT = 1e-3

Progress = Callable[[int, float, float], None]


@dataclass(slots=True)
class _Curve:
    """One top-level item's efficient points from its current allocation."""

    units: IntArray  # units added at each point (0 first)
    value: FloatArray  # weighted objective of the item at each point
    stock: FloatArray  # (points × sites) allocation
    logs: FloatArray  # (points × item's fleets) unweighted log-availability terms
    pos: int = 0
    beyond: float = 0.0  # > 0: built only down to this ratio; steps past the end gain less
    ratio: list[float] = field(default_factory=list)  # gain per money of step p -> p + 1
    low: list[float] = field(default_factory=list)  # min(0, logs[p]) per point


@dataclass(slots=True)
class _Family:
    """A top-level item and its sub-items (rows of the compiled scenario)."""

    top: int
    rows: IntArray  # top first, then descendants in tree order
    fleets: IntArray  # fleets whose availability depends on this family
    curve: _Curve | None = None
    sub_move: tuple[float, int, int, FloatArray] | None = None  # ratio, row, site, logs
    version: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One purchase of the greedy: item rows and the stock they move to."""

    cost: float  # cumulative purchases after the step
    rows: tuple[int, ...]
    stock: FloatArray  # (len(rows) × sites) new stock of those rows
    availability: FloatArray  # per fleet after the step


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginalResult:
    """The allocation found and every point visited."""

    stock: FloatArray
    start_stock: FloatArray
    steps: list[Step] = field(default_factory=list)
    start_availability: FloatArray
    start_cost: float  # purchases forced by minimum stock levels
    met: bool


def _fleet_terms(
    a: ScenarioArrays, flows: Flows, ebo: FloatArray, rows: IntArray, item_of_row: IntArray,
    fleets: IntArray,
) -> FloatArray:
    """Unweighted ``Z log(1 − x)`` terms of ``rows`` (of a sub-scenario) for ``fleets``.

    ``item_of_row`` maps each row to its item in ``a``; ``flows`` and ``ebo`` are the
    sub-scenario's.  Returns (rows × fleets).
    """
    k = a.fleet_system[fleets]
    s = a.fleet_site[fleets]
    items = item_of_row[rows]
    z = a.qty_per_system[items[:, None], k[None, :]]
    dem = flows.demand[rows[:, None], s[None, :]]
    rate = a.failures_per_hour[items][:, None] * a.fleet_hours_per_day[fleets][None, :]
    x = np.zeros_like(dem)
    np.divide(ebo[rows[:, None], s[None, :]] * rate, dem, out=x, where=dem > 0)
    return np.asarray(z * log_factor(x), dtype=np.float64)


def log_factor(x: FloatArray) -> FloatArray:
    """``log(1 − x)``, continued linearly past ``1 − X_EDGE`` (see :data:`X_EDGE`).

    Equal to the product formula's log factor wherever availability is above about
    1e-9 per position, and never above it, so targets judged on it are never met early.
    """
    x = np.asarray(x, dtype=np.float64)
    edge = 1.0 - X_EDGE
    inside = np.log1p(-np.minimum(x, edge))
    return np.asarray(inside - np.maximum(x - edge, 0.0) / X_EDGE, dtype=np.float64)


class _Terms(dict[int, FloatArray]):
    """Current fleet terms of each family (its top item), by family index.

    Every assignment is mirrored (when a sum next needs it) into one flat array laid
    out fleet by fleet (the families of fleet ``f`` occupy ``flat[start[f]:start[f + 1]]``),
    so a fleet's log-availability is summed afresh from one contiguous slice.
    """

    def __init__(self, families: list[_Family], n_fleets: int) -> None:
        super().__init__()
        counts = [f.fleets.size for f in families]
        fleet = (
            np.concatenate([f.fleets for f in families]) if families else np.zeros(0, np.int64)
        ).astype(np.int64)
        order = np.argsort(fleet, kind="stable")  # by fleet, then by family
        slot = np.empty(fleet.size, dtype=np.int64)
        slot[order] = np.arange(fleet.size)
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self.slots = [slot[bounds[n] : bounds[n + 1]] for n in range(len(families))]
        self.start = np.searchsorted(fleet[order], np.arange(n_fleets + 1)).tolist()
        self.flat = np.zeros(fleet.size)
        self.low = [0.0] * len(families)  # min(0, terms) of each family
        self.stale: set[int] = set()  # families assigned since ``flat`` was last written

    def __setitem__(self, key: int, value: FloatArray) -> None:
        self.put(key, value, float(value.min(initial=0.0)))

    def put(self, key: int, value: FloatArray, low: float) -> None:
        """Assign ``value``, whose minimum with 0 is already known to be ``low``."""
        super().__setitem__(key, value)
        self.stale.add(key)  # mirrored into ``flat`` when a sum needs it
        self.low[key] = low

    def fleet_sum(self, f: int) -> float:
        """Σ over the families of fleet ``f`` of their term for it, correctly rounded."""
        if self.stale:
            for key in self.stale:
                self.flat[self.slots[key]] = self[key]
            self.stale.clear()
        return math.fsum(self.flat[self.start[f] : self.start[f + 1]].tolist())


class _Optimiser:
    def __init__(
        self,
        a: ScenarioArrays,
        *,
        weights: FloatArray,
        lo: FloatArray,
        hi: FloatArray,
        method: Method,
    ) -> None:
        self.a = a
        self.method = method
        self.flows = demand_flows(a)
        self.w = weights.astype(np.float64).copy()
        self.lo, self.hi = lo, hi
        self.stock = lo.copy()
        self.leaves = np.flatnonzero(~np.isin(np.arange(a.n_sites), a.site_parent))
        self.uppers = np.flatnonzero(np.isin(np.arange(a.n_sites), a.site_parent))
        # Families: every top-level item with its descendants.
        children: dict[int, list[int]] = {}
        for r, p in enumerate(a.item_parent.tolist()):
            children.setdefault(p, []).append(r)
        self.families: list[_Family] = []
        self.family_of = np.zeros(a.n_items, dtype=np.int64)
        for top in children.get(-1, []):
            rows = [top]
            frontier = [top]
            while frontier:
                frontier = [c for p in frontier for c in children.get(p, [])]
                rows.extend(frontier)
            k = np.flatnonzero(a.qty_per_system[top] > 0)
            fleets = np.flatnonzero(np.isin(a.fleet_system, k) & (a.fleet_count > 0))
            self.family_of[rows] = len(self.families)
            self.families.append(
                _Family(top=top, rows=np.array(rows, dtype=np.int64), fleets=fleets)
            )
        self.fams_of_fleet: list[list[int]] = [[] for _ in range(a.fleet_system.size)]
        for n, fam in enumerate(self.families):
            for f in fam.fleets.tolist():
                self.fams_of_fleet[f].append(n)
        self.terms = _Terms(self.families, a.fleet_system.size)

    def start_log_availability(self, ev: Any) -> FloatArray:
        """Σ over top items of their fleet terms at the evaluated stock, per fleet."""
        a = self.a
        log_a = np.zeros(a.fleet_system.size)
        tops = np.array([f.top for f in self.families], dtype=np.int64)
        fleets = np.arange(a.fleet_system.size)
        self.terms = _Terms(self.families, a.fleet_system.size)
        for start in range(0, tops.size, BATCH_ITEMS):
            rows = tops[start : start + BATCH_ITEMS]
            terms = _fleet_terms(a, ev.flows, ev.pipes.ebo, rows, np.arange(a.n_items), fleets)
            terms[:, a.fleet_count <= 0] = 0.0
            log_a += terms.sum(axis=0)
            for n in range(rows.size):
                fam_i = start + n
                self.terms[fam_i] = terms[n, self.families[fam_i].fleets]
        return log_a

    def exact_log_a(self, fleets: IntArray) -> FloatArray:
        """log A of ``fleets`` summed afresh from every family's current terms."""
        return np.array([self.terms.fleet_sum(f) for f in fleets.tolist()], dtype=np.float64)

    # -- evaluation of a family ------------------------------------------------------
    def family_eval(self, fam: _Family, stocks: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Fleet terms of the top item and its waits for each stock set.

        ``stocks`` is (copies × family rows × sites).  Returns fleet terms
        (copies × fleets) and the top item's waits (2 × copies × sites).
        """
        n_copies, n_rows = stocks.shape[0], fam.rows.size
        rows = np.tile(fam.rows, n_copies)
        sub = self.a.subset(rows, stock=stocks.reshape(n_copies * n_rows, -1))
        flows = demand_flows(sub)
        pipes = pipelines(sub, flows, self.method)
        tops = np.arange(n_copies) * n_rows
        terms = _fleet_terms(self.a, flows, pipes.ebo, tops, rows, fam.fleets)
        assert pipes.wait_mean is not None and pipes.wait_var is not None
        if pipes.wait_mean.shape[0] == 0:  # no sub-items: nothing waits
            return terms, np.zeros((2, n_copies, self.a.n_sites))
        return terms, np.stack([pipes.wait_mean[tops], pipes.wait_var[tops]])

    # -- curves of top-level items -----------------------------------------------------
    def caps(self, rows: IntArray, mean: FloatArray, var: FloatArray) -> FloatArray:
        """Stock beyond which more brings (almost) nothing: mean + k·sd, and the user max."""
        k = math.sqrt(2 * -math.log(TAIL_FOR_CAP)) + 1.0
        cap = np.ceil(mean + k * np.sqrt(np.maximum(var, mean)) + 2.0)
        return np.minimum(np.maximum(cap, self.lo[rows]), self.hi[rows])

    def build_curves(self, fams: list[_Family], cut: float = 0.0, rel: float = 0.0) -> None:
        """Efficient curve of each family's top item from the current stock (batched).

        Families are sorted by the size of their enumeration (upper-site levels ×
        base levels) and batched under :data:`CELL_BUDGET` table cells, so one wide
        item does not pad a whole batch.  With ``cut`` (a ratio, per money) or ``rel``
        (a share of each item's best first leaf gain) above 0, curves stop where their
        steps gain less; such a curve's ``beyond`` bounds what lies past its end, and
        the greedy extends it when that bound reaches the top (docs/optimize.md).
        """
        if not fams:
            return
        tops = np.array([f.top for f in fams], dtype=np.int64)
        floor = self.stock[tops]
        sub0 = self.a.subset(tops, stock=floor)
        pipes0 = pipelines(sub0, flows_rows(self.flows, tops), self.method)
        cap = np.maximum(self.caps(tops, pipes0.mean, pipes0.var), floor)
        ups, leaves = self.uppers, self.leaves
        combos = np.prod(np.maximum(cap[:, ups] - floor[:, ups], 0) + 1, axis=1)
        levels = (cap[:, leaves].max(axis=1) + 1) if leaves.size else np.ones(tops.size)
        size = np.minimum(combos, MAX_COMBOS) * max(leaves.size, 1) * levels
        order = np.lexsort((levels, combos))
        batch: list[int] = []
        worst = 0.0

        def build(batch: list[int]) -> None:
            idx = np.array(batch, dtype=np.int64)
            pre = (pipes0.mean[idx], pipes0.var[idx], pipes0.ebo[idx])
            self._build_batch([fams[n] for n in batch], cut, rel, pre)

        for n in order.tolist():
            worst = max(worst, float(size[n]))
            if batch and (len(batch) >= BATCH_ITEMS or worst * (len(batch) + 1) > CELL_BUDGET):
                build(batch)
                batch, worst = [], float(size[n])
            batch.append(n)
        build(batch)

    def _build_batch(
        self, fams: list[_Family], cut: float = 0.0, rel: float = 0.0,
        pre: tuple[FloatArray, FloatArray, FloatArray] | None = None,
    ) -> None:
        """Curves of one batch; ``pre``: the tops' pipelines at their floor without waits."""
        a, flows = self.a, self.flows
        tops = np.array([f.top for f in fams], dtype=np.int64)
        n_b, n_s = tops.size, a.n_sites
        floor = self.stock[tops]
        # Waits of the tops, from their sub-items' current stock.
        wait = np.zeros((2, n_b, n_s))
        for b, fam in enumerate(fams):
            if fam.rows.size > 1:
                _, fam_wait = self.family_eval(fam, self.stock[fam.rows][None])
                wait[:, b] = fam_wait[:, 0]
        # Worst-case pipelines (upper sites at their floor) set the caps.
        if pre is None or np.any(wait):
            sub0 = a.subset(tops, stock=floor)
            p0 = pipelines(sub0, flows_rows(flows, tops), self.method, wait=(wait[0], wait[1]))
            pre = (p0.mean, p0.var, p0.ebo)
        mean0, var0, ebo0 = pre
        cap = np.maximum(self.caps(tops, mean0, var0), floor)  # (n_b × sites)
        ups, leaves = self.uppers, self.leaves
        n_l = leaves.size
        # Truncation (``cut`` or ``rel`` > 0): build only the part of the curve whose
        # steps gain at least ``gamma`` per unit (``cut`` per money, or ``rel`` times the
        # item's best first leaf unit); the rest is built on demand.
        gamma = cut * a.unit_cost[tops]
        short = np.zeros(n_b, dtype=bool)  # curves truncated below ``gamma``
        if rel > 0 and n_l:
            cut = rel  # (only its sign matters below; ``gamma`` is set from the gains)
        if cut > 0 and n_l:
            # Leaf levels: a leaf's gains fall with its own stock (concave), and are
            # largest with the upper sites at their floor (longest pipeline): keep the
            # levels whose gain there is at least gamma.
            m0 = int(cap[:, leaves].max())
            t0 = ebo_table(
                mean0[:, leaves].ravel(), var0[:, leaves].ravel(), m0
            ).reshape(n_b, n_l, m0 + 1)
            g0 = np.diff(self._values(tops, 1, t0, ebo0)[1], axis=2)
            lvl0 = np.arange(m0)[None, None, :]
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
        while np.prod(k_max + 1) > MAX_COMBOS:  # shrink the widest range
            k_max[np.argmax(k_max)] = int(k_max.max() * 0.8)
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
        pipes = pipelines(sub, fl, self.method, wait=wt)
        p_mean, p_var, p_ebo = (np.zeros((rows.size, n_s)) for _ in range(3))
        p_mean[live], p_var[live], p_ebo[live] = pipes.mean, pipes.var, pipes.ebo
        if cut > 0 and ups.size and n_c > 1:
            # Upper-site levels: the last upper unit of a point on the curve must gain at
            # least gamma, and it gains most with the leaves at their floor; keep the
            # combos no larger than the largest one whose last unit does.
            vf_up, vf_leaf = self._values(
                tops, n_c, p_ebo[:, leaves][:, :, None], p_ebo, valid
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
        w = self.w
        m_max = int(cap[:, leaves].max()) if n_l else 0
        table = np.zeros((n_b * n_c, n_l, m_max + 1))  # EBO 0: rows that are no points
        live = np.flatnonzero(valid)
        table[live] = ebo_table(
            p_mean[live][:, leaves].ravel(), p_var[live][:, leaves].ravel(), max(m_max, 0)
        ).reshape(live.size, n_l, m_max + 1)
        value_up, value_leaf = self._values(tops, n_c, table, p_ebo, valid)
        # Marginal gains at each leaf from each level; only floor <= level < cap count.
        # Valid rows only (``live``, in order); the others are no points (value -inf).
        value_leaf = value_leaf[live]
        gains = np.diff(value_leaf, axis=2)  # (live rows, leaves, m_max)
        lvl = np.arange(m_max)[None, None, :]
        fl_leaf = np.repeat(floor[:, leaves], n_c, axis=0)[live][:, :, None]
        cap_leaf = np.repeat(cap[:, leaves], n_c, axis=0)[live][:, :, None]
        gains = np.where((lvl >= fl_leaf) & (lvl < cap_leaf), gains, -np.inf)
        start = value_up[live] + np.take_along_axis(
            value_leaf, fl_leaf.astype(np.int64), axis=2
        )[:, :, 0].sum(axis=1)
        flat = gains.reshape(live.size, -1)
        order = np.argsort(-flat, axis=1, kind="stable")
        g = np.take_along_axis(flat, order, axis=1)
        ok = np.isfinite(g)
        cum = np.concatenate(
            [np.zeros((g.shape[0], 1)), np.cumsum(np.where(ok, g, 0.0), axis=1)], axis=1
        )
        n_ok = ok.sum(axis=1)
        vals_live = start[:, None] + cum  # value after n leaf units, n = 0..P
        n_idx = np.arange(vals_live.shape[1])[None, :]
        vals = np.full((n_b * n_c, vals_live.shape[1]), -np.inf)
        vals[live] = np.where(n_idx <= n_ok[:, None], vals_live, -np.inf)
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
        alloc[:, leaves] += _leaf_counts(order, at_live[r], u - off[combo], n_l, max(m_max, 1))
        # Fleet terms at the hull points, read from the same tables: leaf EBOs from
        # ``table`` at the allocated level, upper-site EBOs from the combo's pipelines
        # (a base's stock does not change any other site's pipeline).
        terms = self._point_terms(fams, tops, owner, r, alloc, table, p_ebo)
        first = np.concatenate([[0], np.cumsum(counts)])
        for b, fam in enumerate(fams):
            t = terms[b]
            units_b = u[first[b] : first[b + 1]]
            value_b = t @ w[fam.fleets]
            # The greedy's ratios, as it would compute them step by step (same operations).
            ratio_b = np.diff(value_b) / np.maximum(np.diff(units_b) * a.unit_cost[fam.top], 1e-300)
            fam.curve = _Curve(
                units=units_b, value=value_b,
                stock=alloc[first[b] : first[b + 1]], logs=t,
                beyond=float(gamma[b] / max(a.unit_cost[fam.top], 1e-300)) if short[b] else 0.0,
                ratio=ratio_b.tolist(), low=t.min(axis=1, initial=0.0).tolist(),
            )

    def _values(
        self, tops: IntArray, n_c: int, table: FloatArray, ebo_rows: FloatArray,
        valid: BoolArray | None = None,
    ) -> tuple[FloatArray, FloatArray]:
        """Weighted fleet values of rows ``r = b * n_c + c`` of the items ``tops``.

        ``table`` is (rows × leaves × levels) leaf EBOs, ``ebo_rows`` (rows × sites)
        EBOs at the upper sites.  Returns the upper-site fleets' value per row and the
        leaf fleets' value per row, leaf and level (0 on rows where ``valid`` is False).
        """
        a, w = self.a, self.w
        n_b = tops.size
        value_up = np.zeros(n_b * n_c)
        value_leaf = np.zeros_like(table)
        leaf_of = np.full(a.n_sites, -1, dtype=np.int64)
        leaf_of[self.leaves] = np.arange(self.leaves.size)
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
        dem = self.flows.demand[tops[b], s]
        coef = np.zeros_like(dem)
        np.divide(a.failures_per_hour[tops[b]] * a.fleet_hours_per_day[f], dem, out=coef,
                  where=dem > 0)
        wz = w[f] * z
        lpos = leaf_of[s]
        at_leaf = lpos >= 0
        cols = np.arange(n_c, dtype=np.int64)
        per_b = valid.reshape(n_b, n_c) if valid is not None else None
        # Pairs adding into the same cells go in rounds (k-th fleet of each cell in
        # round k), so every cell sums its terms in fleet order.
        key = np.where(at_leaf, b * (self.leaves.size + 1) + lpos, b * (self.leaves.size + 1)
                       + self.leaves.size)
        for sel in _rounds(key):
            leaf_sel = sel[at_leaf[sel]]
            if leaf_sel.size:
                pair, rows = _pair_rows(b, leaf_sel, n_c, cols, per_b)
                lp = lpos[pair]
                x = table[rows, lp, :] * coef[pair][:, None]
                value_leaf[rows, lp, :] += wz[pair][:, None] * log_factor(x)
            up_sel = sel[~at_leaf[sel]]
            if up_sel.size:
                pair, rows = _pair_rows(b, up_sel, n_c, cols, per_b)
                x = ebo_rows[rows, s[pair]] * coef[pair]
                value_up[rows] += wz[pair] * log_factor(x)
        return value_up, value_leaf

    def _point_terms(
        self, fams: list[_Family], tops: IntArray, owner: IntArray, r: IntArray,
        alloc: FloatArray, table: FloatArray, ebo_rows: FloatArray,
    ) -> list[FloatArray]:
        """Unweighted fleet terms (points × family fleets) of each family's points.

        Point ``p`` belongs to family ``owner[p]``, has stock ``alloc[p]`` and reads row
        ``r[p]`` of ``table`` (leaves × levels) and ``ebo_rows`` (sites); the result
        equals :func:`_fleet_terms` on those EBOs.
        """
        a = self.a
        leaf_of = np.full(a.n_sites, -1, dtype=np.int64)
        leaf_of[self.leaves] = np.arange(self.leaves.size)
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
        lvl = alloc[pp[at_leaf], s[at_leaf]].astype(np.int64)
        ebo[at_leaf] = table[rp[at_leaf], lpos[at_leaf], lvl]
        ebo[~at_leaf] = ebo_rows[rp[~at_leaf], s[~at_leaf]]
        z = a.qty_per_system[top, a.fleet_system[f]]
        dem = self.flows.demand[top, s]
        rate = a.failures_per_hour[top] * a.fleet_hours_per_day[f]
        x = np.zeros_like(dem)
        np.divide(ebo * rate, dem, out=x, where=dem > 0)
        term = z * log_factor(x)
        bounds = np.concatenate([[0], np.cumsum(np.bincount(owner, minlength=len(fams)) * nf)])
        return [
            term[bounds[b] : bounds[b + 1]].reshape(-1, nf[b]) for b in range(len(fams))
        ]

    # -- sub-item candidates -----------------------------------------------------------
    def build_sub_move(self, fam: _Family, current_terms: FloatArray) -> None:
        """The best single sub-item unit of a family (any sub-item, any site)."""
        fam.sub_move = None
        if fam.rows.size < 2:
            return
        base = self.stock[fam.rows]
        cands = []
        copies = []
        for j in range(1, fam.rows.size):
            r = int(fam.rows[j])
            for s in range(self.a.n_sites):
                if base[j, s] + 1 <= self.hi[r, s]:
                    st = base.copy()
                    st[j, s] += 1
                    cands.append((r, s))
                    copies.append(st)
        if not cands:
            return
        terms, _ = self.family_eval(fam, np.array(copies))
        w = self.w[fam.fleets]
        gain = (terms - current_terms[None, :]) @ w
        cost = np.array([self.a.unit_cost[r] for r, _ in cands])
        ratio = gain / np.maximum(cost, 1e-300)
        n = int(np.argmax(ratio))
        if gain[n] > MIN_GAIN * max(1.0, abs(float(current_terms @ w))):
            r, s = cands[n]
            fam.sub_move = (float(ratio[n]), r, s, terms[n])


#: Leaf picks expanded at a time when counting the allocation of hull points.
PICK_CHUNK = 2_000_000


def _leaf_counts(order: IntArray, rows: IntArray, n: IntArray, n_l: int, width: int) -> FloatArray:
    """Units at each leaf when the first ``n[p]`` entries of ``order[rows[p]]`` are taken.

    ``order`` lists (leaf × ``width`` + level) gain indices best first, per row.
    Returns (points × ``n_l``).
    """
    out = np.zeros((rows.size, n_l))
    if n_l == 0 or rows.size == 0:
        return out
    ends = np.cumsum(n)
    lo = 0
    while lo < rows.size:
        base = int(ends[lo - 1]) if lo else 0
        hi = max(int(np.searchsorted(ends, base + PICK_CHUNK, side="right")), lo + 1)
        cnt = n[lo:hi]
        pt = np.repeat(np.arange(lo, hi, dtype=np.int64), cnt)
        pos = np.arange(pt.size, dtype=np.int64) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        leaf = order[rows[pt], pos] // width
        out[lo:hi] = np.bincount(
            (pt - lo) * n_l + leaf, minlength=(hi - lo) * n_l
        ).reshape(hi - lo, n_l)
        lo = hi
    return out


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


def marginal_allocation(
    a: ScenarioArrays,
    *,
    targets: FloatArray | None = None,
    budget: float | None = None,
    method: Method = Method.VARI_METRIC,
    min_stock: FloatArray | None = None,
    max_stock: FloatArray | None = None,
    progress: Progress | None = None,
    drop_met: bool = True,
) -> MarginalResult:
    """Greedy marginal analysis from the stock held, to targets or within a budget.

    Parameters
    ----------
    a : ScenarioArrays
        The scenario; ``a.stock`` is the stock already held (never sold).
    targets : FloatArray, optional
        Availability target per fleet (NaN: no target).  Stop when all are met.
    budget : float, optional
        Money for purchases; without targets, buy the best points while it lasts.
    method : Method
        METRIC or VARI-METRIC pipelines.
    min_stock, max_stock : FloatArray, optional
        (items × sites) bounds; ``max_stock`` equal to the held stock excludes a site.
    progress : callable, optional
        Called as ``progress(step, cost, worst_gap)`` every few steps.
    drop_met : bool
        Whether a fleet stops counting once it meets its target (default), or keeps
        its weight until every target is met (a second strategy tried on small cases).
    """
    n_f = a.fleet_system.size
    lo = a.stock.copy() if min_stock is None else np.maximum(a.stock, min_stock)
    hi = np.full_like(lo, np.inf) if max_stock is None else np.maximum(max_stock, lo)
    if targets is None:
        targets = np.full(n_f, np.nan)
    if budget is not None and np.all(np.isnan(targets)):
        weights = a.fleet_count.astype(np.float64).copy()
    else:
        weights = np.where(np.isnan(targets), 0.0, 1.0)
    opt = _Optimiser(a, weights=weights, lo=lo, hi=hi, method=method)
    start_cost = float(np.sum((lo - a.stock) * a.unit_cost[:, None]))

    from sustain.readiness.evaluate import evaluate_arrays  # evaluation of the start

    ev = evaluate_arrays(a.with_stock(lo), method=method)
    # log A per fleet as the sum of the same item terms the greedy updates (no underflow).
    log_a = opt.start_log_availability(ev)
    start_av = np.exp(log_a)
    below = ~np.isnan(targets) & (start_av < targets)
    opt.w = np.where(np.isnan(targets), opt.w, np.where(below, 1.0, 0.0))
    if budget is None and not np.any(below):
        return MarginalResult(
            stock=lo, start_stock=lo, steps=[], start_availability=start_av,
            start_cost=start_cost, met=True,
        )

    # Current fleet terms of each family (its top item), to update log A incrementally.
    fam_terms = opt.terms  # current fleet terms of each family
    active = [
        n for n, f in enumerate(opt.families) if f.fleets.size and np.any(opt.w[f.fleets] > 0)
    ]
    opt.build_curves([opt.families[n] for n in active], rel=INITIAL_CUT if budget is None else 0.0)
    heap: list[tuple[float, int, int, int]] = []  # (-ratio, seq, family, version)
    seq = itertools.count()
    queued = np.zeros(len(opt.families))  # ratio of each family's live heap entry (0: none)
    dirty: set[int] = set()  # families whose curves predate a change of weights, or end short

    families = opt.families
    unit_cost: list[float] = a.unit_cost.tolist()
    multi = [f.rows.size > 1 for f in families]
    # Target of each fleet still counting (+inf once met, or with none): a step "hits"
    # a fleet when its availability reaches this.
    live = np.where((opt.w > 0) & ~np.isnan(targets), targets, np.inf)

    def push(fam_i: int, fresh: bool = False) -> None:
        """Queue the family's best next step (``fresh``: its terms are already current)."""
        fam = families[fam_i]
        fam.version += 1
        cur = fam.curve
        if cur is not None and not fresh:
            fam_terms.put(fam_i, cur.logs[cur.pos], cur.low[cur.pos])
        if multi[fam_i]:
            current = fam_terms.get(fam_i)
            if current is None:
                current, _ = opt.family_eval(fam, opt.stock[fam.rows][None])
                current = current[0]
                fam_terms[fam_i] = current
            opt.build_sub_move(fam, current)
        best = -math.inf
        sub = fam.sub_move
        if cur is not None and cur.pos < len(cur.ratio):
            best = cur.ratio[cur.pos]
        elif cur is not None and cur.beyond > 0 and (sub is None or cur.beyond > sub[0]):
            best = cur.beyond  # a bound on the rest of a truncated curve: extend on demand
            dirty.add(fam_i)
        if sub is not None:
            best = max(best, sub[0])
        if best > 0 and math.isfinite(best):
            heapq.heappush(heap, (-best, next(seq), fam_i, fam.version))
            queued[fam_i] = best
        else:
            queued[fam_i] = 0.0

    for n in active:
        push(n)

    steps: list[Step] = []
    cost = start_cost
    spent = 0.0
    n_step = 0
    last_ratio = np.inf  # ratio of the last step taken
    heappop = heapq.heappop
    while heap:
        key, _, fam_i, version = heappop(heap)
        fam = families[fam_i]
        if version != fam.version:
            continue
        if fam_i in dirty:
            # Lazy rebuild: weights only fall, so a stale ratio is an upper bound on the
            # new one; rebuild this family (and the next dirty ones on top) and re-queue.
            batch = [fam_i]
            if len(dirty) > 1 and REBUILD_AHEAD > 1:
                # Rebuild ahead the dirty families likeliest to be popped next (highest
                # stale ratios): one batched build instead of many small ones.
                others = np.fromiter(dirty, dtype=np.int64, count=len(dirty))
                others = others[others != fam_i]
                keys = queued[others]
                if others.size > REBUILD_AHEAD - 1:
                    top = np.argpartition(-keys, REBUILD_AHEAD - 2)[: REBUILD_AHEAD - 1]
                    others, keys = others[top], keys[top]
                batch.extend(others[keys > 0].tolist())
            dirty.difference_update(batch)
            cut = REBUILD_CUT * min(last_ratio, -key) if budget is None else 0.0
            opt.build_curves([families[n] for n in batch], cut)
            for n in batch:
                push(n)
            continue
        cur = fam.curve
        sub = fam.sub_move
        take_curve = cur is not None and cur.pos < len(cur.ratio) and (
            sub is None or cur.ratio[cur.pos] >= sub[0]
        )
        old_terms = fam_terms[fam_i]
        old_low = fam_terms.low[fam_i]
        if take_curve:
            assert cur is not None
            p = cur.pos + 1
            # Units added along the curve are the stock added (all at the top's row).
            dcost = float(cur.units[p] - cur.units[p - 1]) * unit_cost[fam.top]
            r = fam.top
        else:
            assert sub is not None
            _, r, s, new_terms = sub
            dcost = unit_cost[r]
        if budget is not None and spent + dcost > budget * (1 + 1e-12):
            continue  # this family's next step does not fit; others may
        last_ratio = -key
        if take_curve:
            assert cur is not None
            cur.pos = p
            opt.stock[r] = cur.stock[p]
            new_terms = cur.logs[p]
            fam_terms.put(fam_i, new_terms, cur.low[p])
        else:
            opt.stock[r, s] += 1
            fam_terms[fam_i] = new_terms
        if min(old_low, fam_terms.low[fam_i]) < -50:  # terms <= 0
            log_a[fam.fleets] = opt.exact_log_a(fam.fleets)  # large terms: no drift
        else:
            log_a[fam.fleets] += new_terms - old_terms
        cost += dcost
        spent += dcost
        av = np.exp(log_a)
        steps.append(Step(cost=cost, rows=(r,), stock=opt.stock[r : r + 1].copy(), availability=av))
        n_step += 1
        if progress is not None and n_step % 25 == 0:
            gap = np.nanmax(np.where(np.isnan(targets), np.nan, targets - av), initial=0.0)
            progress(n_step, cost, float(gap) if np.isfinite(gap) else 0.0)
        # Targets newly met: those fleets stop counting; rebuild the curves they shaped.
        # Only this family's fleets moved (and log A never falls: stock only grows).
        ff = fam.fleets
        reached = av[ff] >= live[ff]
        if not reached.any():
            if not take_curve and fam.curve is not None:
                opt.build_curves([fam])  # sub-item stock changed this item's repair delays
                push(fam_i)
            else:
                push(fam_i, fresh=take_curve)
            continue
        newly = np.zeros(targets.size, dtype=bool)
        newly[ff[reached]] = True
        if not drop_met:
            if np.all(np.isnan(targets) | (av >= targets)):
                break
            newly[:] = False
        if np.any(newly):
            opt.w[newly] = 0.0
            live[newly] = np.inf
            if not np.any(opt.w > 0):
                break
            changed = {n for f in np.flatnonzero(newly) for n in opt.fams_of_fleet[f]}
            for n in changed:
                if np.any(opt.w[families[n].fleets] > 0):
                    dirty.add(n)
                else:  # nothing left to gain for this family: drop it from the heap
                    dead = families[n]
                    dead.curve, dead.sub_move = None, None
                    dead.version += 1
                    queued[n] = 0.0
            if fam_i in changed:
                if fam_i in dirty:
                    push(fam_i)  # re-queued with its old (upper-bound) ratio
                continue
        if not take_curve and fam.curve is not None:
            opt.build_curves([fam])  # sub-item stock changed this item's repair delays
        push(fam_i)
    met = bool(np.all(np.isnan(targets) | (np.exp(log_a) >= targets)))
    if met and budget is None and steps:
        steps = _polish(opt, targets, log_a, steps, cost)
    return MarginalResult(
        stock=opt.stock, start_stock=lo, steps=steps, start_availability=start_av,
        start_cost=start_cost, met=met,
    )


#: Purchases the local search tries to remove or swap, most expensive first.
LOCAL_SEARCH_UNITS = 200
#: The exchange step of the local search runs when families × sites is at most this.
REFILL_MAX_CANDIDATES = 60
#: Passes of the local search (each over the purchases then held).
LOCAL_SEARCH_PASSES = 4


def _polish(
    opt: _Optimiser, targets: FloatArray, log_a: FloatArray, steps: list[Step], cost: float
) -> list[Step]:
    """Run the local search to a fixed point; the curve ends at the cheaper allocation."""
    saved = 0.0
    for _ in range(LOCAL_SEARCH_PASSES):
        log_a, more = _trim_and_swap(opt, targets, log_a)
        saved += more
        if more <= 0:
            break
    if saved <= 0:
        return steps
    cost -= saved
    kept = [st for st in steps if st.cost < cost - 1e-9]
    kept.append(
        Step(cost=cost, rows=(), stock=np.zeros((0, opt.a.n_sites)), availability=np.exp(log_a))
    )
    return kept


def _trim_and_swap(
    opt: _Optimiser, targets: FloatArray, log_a: FloatArray
) -> tuple[FloatArray, float]:
    """Local search after the greedy reaches its targets: cheaper allocations that still meet them.

    Marginal analysis buys in whole units, so its last steps overshoot, and an early
    step that later targets made unnecessary is never undone.  For each purchased unit
    (most expensive first) try (1) removing it, and (2) removing it and refilling the
    shortfall with the best units per money by family re-evaluation, accepted only if
    the refill costs less than the unit removed (a 1-for-k exchange).  Every trial is
    judged on the same fleet terms as the greedy.
    """
    a = opt.a
    goal = np.where(np.isnan(targets), -np.inf, np.log(np.where(np.isnan(targets), 1, targets)))
    saved = 0.0

    def deficit(la: FloatArray) -> float:
        return float(np.sum(np.maximum(goal - la, 0.0)))

    def trial(fam_i: int, r: int, s: int, delta: int) -> FloatArray:
        fam = opt.families[fam_i]
        st = opt.stock[fam.rows].copy()
        st[int(np.flatnonzero(fam.rows == r)[0]), s] += delta
        terms, _ = opt.family_eval(fam, st[None])
        return terms[0]

    def apply(fam_i: int, r: int, s: int, delta: int, terms: FloatArray) -> None:
        fam = opt.families[fam_i]
        opt.stock[r, s] += delta
        opt.terms[fam_i] = terms
        log_a[fam.fleets] = opt.exact_log_a(fam.fleets)

    bought = np.argwhere(opt.stock > opt.lo)
    order = np.argsort(-a.unit_cost[bought[:, 0]], kind="stable")[:LOCAL_SEARCH_UNITS]
    for r, s in bought[order].tolist():
        while opt.stock[r, s] > opt.lo[r, s]:
            fam_i = int(opt.family_of[r])
            old_terms = opt.terms[fam_i]
            old_log = log_a.copy()
            new_terms = trial(fam_i, r, s, -1)
            apply(fam_i, r, s, -1, new_terms)
            if deficit(log_a) <= 0:
                saved += float(a.unit_cost[r])
                continue  # (1) removal alone keeps every target
            # (2) refill with cheaper units, greedily by deficit reduced per money
            #     (only where the candidates are few: each is a family re-evaluation).
            budget = float(a.unit_cost[r])
            if len(opt.families) * a.n_sites > REFILL_MAX_CANDIDATES:
                apply(fam_i, r, s, +1, old_terms)
                log_a[:] = old_log
                break
            added: list[tuple[int, int, int, FloatArray]] = []
            spent = 0.0
            while deficit(log_a) > 0:
                short = np.flatnonzero(goal - log_a > 0)
                fams = {g for f in short.tolist() for g in opt.fams_of_fleet[f]}
                best: tuple[float, int, int, int, FloatArray] | None = None
                d0 = deficit(log_a)
                for g in fams:
                    gf = opt.families[g]
                    for rr in gf.rows.tolist():
                        if spent + a.unit_cost[rr] >= budget:
                            continue
                        for ss in range(a.n_sites):
                            if opt.stock[rr, ss] + 1 > opt.hi[rr, ss] or (rr, ss) == (r, s):
                                continue
                            t = trial(g, rr, ss, +1)
                            la = log_a.copy()
                            la[gf.fleets] += t - opt.terms[g]
                            gain = (d0 - deficit(la)) / max(float(a.unit_cost[rr]), 1e-300)
                            if gain > 0 and (best is None or gain > best[0]):
                                best = (gain, g, rr, ss, t)
                if best is None:
                    break
                _, g, rr, ss, t = best
                added.append((g, rr, ss, opt.terms[g]))
                apply(g, rr, ss, +1, t)
                spent += float(a.unit_cost[rr])
            if deficit(log_a) <= 0 and spent < budget:
                saved += budget - spent
                continue
            # Undo: the exchange does not pay.
            for g, rr, ss, t in reversed(added):
                apply(g, rr, ss, -1, t)
            apply(fam_i, r, s, +1, old_terms)
            log_a[:] = old_log
            break
    return log_a, saved


def plain_greedy(
    a: ScenarioArrays,
    *,
    targets: FloatArray,
    method: Method = Method.VARI_METRIC,
    min_stock: FloatArray | None = None,
    max_stock: FloatArray | None = None,
) -> MarginalResult:
    """One unit at a time, every item at every site, valued by re-evaluating its family.

    The textbook single-unit marginal analysis (no depot-level enumeration), followed
    by the same local search.  Quadratic in the number of item-site pairs: used only
    as a second opinion on small cases, where whole units are coarse and its different
    path sometimes ends cheaper.
    """
    lo = a.stock.copy() if min_stock is None else np.maximum(a.stock, min_stock)
    hi = np.full_like(lo, np.inf) if max_stock is None else np.maximum(max_stock, lo)
    opt = _Optimiser(a, weights=np.ones(a.fleet_system.size), lo=lo, hi=hi, method=method)
    from sustain.readiness.evaluate import evaluate_arrays

    ev = evaluate_arrays(a.with_stock(lo), method=method)
    log_a = opt.start_log_availability(ev)
    start_av = np.exp(log_a)
    goal = np.where(np.isnan(targets), -np.inf, np.log(np.where(np.isnan(targets), 1, targets)))
    start_cost = float(np.sum((lo - a.stock) * a.unit_cost[:, None]))
    cost = start_cost
    steps: list[Step] = []
    while np.any(goal - log_a > 0):
        short = goal - log_a > 0
        best: tuple[float, int, int, int, FloatArray] | None = None
        for g, fam in enumerate(opt.families):
            if not np.any(short[fam.fleets]):
                continue
            cands = [
                (j, s) for j, r in enumerate(fam.rows.tolist()) for s in range(a.n_sites)
                if opt.stock[r, s] + 1 <= hi[r, s]
            ]
            if not cands:
                continue
            base = opt.stock[fam.rows]
            copies = np.repeat(base[None], len(cands), axis=0)
            for n, (j, s) in enumerate(cands):
                copies[n, j, s] += 1
            terms, _ = opt.family_eval(fam, copies)
            cap = np.where(np.isinf(goal), -1e300, goal)[fam.fleets]  # untargeted: no gain
            gain = (np.minimum(log_a[fam.fleets] + terms - opt.terms[g], cap)
                    - np.minimum(log_a[fam.fleets], cap)).sum(axis=1)
            unit = np.array([a.unit_cost[fam.rows[j]] for j, _ in cands])
            ratio = gain / np.maximum(unit, 1e-300)
            n = int(np.argmax(ratio))
            if gain[n] > 0 and (best is None or ratio[n] > best[0]):
                j, s = cands[n]
                best = (float(ratio[n]), g, int(fam.rows[j]), s, terms[n])
        if best is None:
            break
        _, g, r, s, t = best
        opt.stock[r, s] += 1
        opt.terms[g] = t
        log_a[opt.families[g].fleets] = opt.exact_log_a(opt.families[g].fleets)
        cost += float(a.unit_cost[r])
        steps.append(Step(cost=cost, rows=(r,), stock=opt.stock[[r]].copy(),
                          availability=np.exp(log_a)))
    met = bool(np.all(goal - log_a <= 0))
    if met and steps:
        steps = _polish(opt, targets, log_a, steps, cost)
    return MarginalResult(stock=opt.stock, start_stock=lo, steps=steps,
                          start_availability=start_av, start_cost=start_cost, met=met)
