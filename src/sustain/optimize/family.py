"""Families (a top-level item and its sub-items) and their fleet terms.

The optimiser's objective is ``Φ = Σ_f w_f log A_f`` with ``A_f`` Sherbrooke's
product formula (``readiness.metric.fleet_availability``).  Log availability is a
sum over top-level items, one term ``Z log(1 − x)`` per (item, fleet), where ``x`` is
the fleet's share of the item's backorders per installed position
(``readiness.metric.position_shortfall``).  A top-level item's term depends on its own
stock and, through repair delays, on its sub-items' stock: the family is the unit
the optimiser evaluates and buys for.

A redundant installation (``needed < qty``), or any under ``holes: consolidated``,
has the term ``log R`` of :mod:`sustain.readiness.redundancy` in place of
``Z log(1 − x)``; an inessential one has none: the objective is the log of the
mission-capable availability.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from sustain._types import BoolArray, FloatArray, IntArray
from sustain.readiness.metric import Flows, position_shortfall
from sustain.readiness.redundancy import redundant_factor
from sustain.scenario.compile import ScenarioArrays

#: Beyond x = 1 − X_EDGE the log factor log(1 − x) is continued linearly with its slope
#: there, so a fleet whose positions are all empty (x ≥ 1, availability 0) still sees
#: every unit that brings it back as a gain (a floor would make those units worthless).
X_EDGE = 1e-9


def log_factor(x: FloatArray) -> FloatArray:
    """``log(1 − x)``, continued linearly past ``1 − X_EDGE`` (see :data:`X_EDGE`).

    Equal to the product formula's log factor wherever availability is above about
    1e-9 per position, and never above it, so targets judged on it are never met early.
    """
    x = np.asarray(x, dtype=np.float64)
    edge = 1.0 - X_EDGE
    inside = np.log1p(-np.minimum(x, edge))
    return np.asarray(inside - np.maximum(x - edge, 0.0) / X_EDGE, dtype=np.float64)


def fleet_terms(
    a: ScenarioArrays, flows: Flows, ebo: FloatArray, rows: IntArray, item_of_row: IntArray,
    fleets: IntArray, pipes: tuple[FloatArray, FloatArray, FloatArray] | None = None,
) -> FloatArray:
    """Unweighted ``Z log(1 − x)`` terms of ``rows`` (of a sub-scenario) for ``fleets``.

    ``item_of_row`` maps each row to its item in ``a``; ``flows`` and ``ebo`` are the
    sub-scenario's, ``pipes`` its pipeline (mean, variance) and stock, which the terms of
    redundant or inessential installations need (:func:`special_terms`).  Returns
    (rows × fleets).
    """
    k = a.fleet_system[fleets]
    s = a.fleet_site[fleets]
    items = item_of_row[rows]
    z = a.qty_per_system[items[:, None], k[None, :]]
    x = position_shortfall(
        ebo[rows[:, None], s[None, :]], flows.demand[rows[:, None], s[None, :]],
        a.failures_per_hour[items][:, None], a.fleet_hours_per_day[fleets][None, :],
    )
    out = np.asarray(z * log_factor(x), dtype=np.float64)
    if pipes is not None and (a.mission_split or a.holes_consolidated):
        mean, var, stock = pipes
        r_i, f_i = np.nonzero(z > 0)
        dead, slow = special_pairs(a, items[r_i], fleets[f_i])
        out[r_i[dead], f_i[dead]] = 0.0
        for n in np.flatnonzero(slow).tolist():
            r, f = int(rows[r_i[n]]), int(fleets[f_i[n]])
            site = int(a.fleet_site[f])
            out[r_i[n], f_i[n]] = special_terms(
                a, int(items[r_i[n]]), f, float(flows.demand[r, site]), float(mean[r, site]),
                float(var[r, site]), np.array([stock[r, site]]),
            )[0]
    return out


def special_pairs(a: ScenarioArrays, items: IntArray, fleets: IntArray) -> tuple[
        BoolArray, BoolArray]:
    """Of the (item, fleet) pairs, which are inessential (term 0) and which redundant or
    under consolidated holes (term ``log R``, :mod:`sustain.readiness.redundancy`)."""
    k = a.fleet_system[fleets]
    dead = np.zeros(items.size, dtype=bool)
    if a.essential_per_system is not None:
        dead = a.essential_per_system[items, k] == 0.0
    slow = np.full(items.size, a.holes_consolidated)
    if a.needed_per_system is not None:
        slow |= a.needed_per_system[items, k] < a.qty_per_system[items, k]
    return dead, slow & ~dead


def special_terms(
    a: ScenarioArrays, item: int, fleet: int, demand: float, mean: float, var: float,
    stocks: FloatArray,
) -> FloatArray:
    """``log R`` of a redundant (or consolidated) item for one fleet at each of ``stocks``
    (:func:`sustain.readiness.redundancy.redundant_factor`), continued past ``R = 0`` by
    :func:`log_factor` so that units bringing the fleet back still gain."""
    system = int(a.fleet_system[fleet])
    z = float(a.qty_per_system[item, system])
    k = z if a.needed_per_system is None else float(a.needed_per_system[item, system])
    count = float(a.fleet_count[fleet])
    part = z * a.failures_per_hour[item] * count * a.fleet_hours_per_day[fleet]
    share = min(part / demand, 1.0) if demand > 0 else 1.0
    r = redundant_factor(mean, var, stocks, share=share, count=int(count), z=int(z), k=int(k),
                         consolidated=a.holes_consolidated)
    return log_factor(1.0 - r)


@dataclass(slots=True)
class Curve:
    """One top-level item's efficient points from its current allocation."""

    units: IntArray  # units added at each point (0 first)
    value: FloatArray  # weighted objective of the item at each point
    stock: FloatArray  # (points × sites) allocation
    logs: FloatArray  # (points × item's fleets) unweighted log-availability terms
    pos: int = 0
    beyond: float = 0.0  # > 0: built only down to this ratio; steps past the end gain less
    ratio: list[float] = field(default_factory=list)  # gain per money of step p -> p + 1
    low: list[float] = field(default_factory=list)  # min(0, logs[p]) per point


@dataclass(frozen=True, slots=True)
class SubItemMove:
    """The best single sub-item unit of a family: its gain per money, where, and the
    family's fleet terms after it."""

    ratio: float
    row: int
    site: int
    terms: FloatArray


@dataclass(slots=True)
class Family:
    """A top-level item and its sub-items (rows of the compiled scenario)."""

    top: int
    rows: IntArray  # top first, then descendants in tree order
    fleets: IntArray  # fleets whose availability depends on this family
    curve: Curve | None = None
    sub_move: SubItemMove | None = None
    version: int = 0


def families_of(a: ScenarioArrays) -> list[Family]:
    """Every top-level item with its descendants (tree order), and the manned fleets of
    the systems it is installed in."""
    parent = a.item_parent
    tops = np.flatnonzero(parent < 0)
    # The manned fleets of each system type, in fleet order; an item's fleets are those
    # of its system types (one test per distinct set of types).
    manned = a.fleet_count > 0
    uses = a.qty_per_system[tops] > 0
    packed = np.ascontiguousarray(np.packbits(uses, axis=1))  # a row's set as bytes
    keys = packed.view(f"V{max(packed.shape[1], 1)}").ravel() if packed.shape[1] else \
        np.zeros(tops.size, dtype="V1")
    _, first, kind_of = np.unique(keys, return_index=True, return_inverse=True)
    kinds = uses[first]
    kind_of = kind_of.ravel()
    fleets_of = [np.flatnonzero(np.isin(a.fleet_system, np.flatnonzero(k)) & manned)
                 for k in kinds]
    has_children = np.zeros(a.n_items, dtype=bool)
    has_children[parent[parent >= 0]] = True
    children: dict[int, list[int]] = {}
    if has_children.any():
        for r in np.flatnonzero(parent >= 0).tolist():
            children.setdefault(int(parent[r]), []).append(r)
    singles = tops.reshape(-1, 1)
    out: list[Family] = []
    for k, (top, kind) in enumerate(zip(tops.tolist(), kind_of.tolist(), strict=True)):
        if has_children[top]:
            rows = [top]
            frontier = [top]
            while frontier:
                frontier = [c for p in frontier for c in children.get(p, [])]
                rows.extend(frontier)
            fam_rows = np.array(rows, dtype=np.int64)
        else:
            fam_rows = singles[k]
        out.append(Family(top=top, rows=fam_rows, fleets=fleets_of[kind].copy()))
    return out


def serving_families(a: ScenarioArrays, fleets: BoolArray) -> IntArray:
    """The families (:func:`families_of` order) with a manned fleet among ``fleets``
    (bool per fleet): those whose top item is installed in such a fleet's system type."""
    wanted = np.flatnonzero(fleets & (a.fleet_count > 0))
    tops = np.flatnonzero(a.item_parent < 0)
    uses = a.qty_per_system[tops][:, np.unique(a.fleet_system[wanted])] > 0
    return np.flatnonzero(uses.any(axis=1))


#: Families changed since the last sum above which :meth:`FamilyTerms.fleet_sum` writes
#: them all at once and sums the fleets they touch afresh, instead of one by one.
FLUSH_AT_ONCE = 512


class FamilyTerms:
    """Current fleet terms of each family, and each fleet's log-availability from them.

    ``current[n]`` holds family ``n``'s terms (one value per fleet of the family) and
    ``lows[n]`` their minimum with 0; both are read directly (the greedy's inner loop)
    and written only by :meth:`assign`.  The terms are also laid out fleet by fleet in
    one flat array (the families of fleet ``f`` occupy ``flat[start[f]:start[f + 1]]``),
    written when :meth:`fleet_sum` next needs them, so a fleet's log-availability is
    summed afresh from one contiguous slice.
    """

    def __init__(self, families: list[Family], n_fleets: int) -> None:
        counts = [f.fleets.size for f in families]
        fleet = (
            np.concatenate([f.fleets for f in families]) if families else np.zeros(0, np.int64)
        ).astype(np.int64)
        order = np.argsort(fleet, kind="stable")  # by fleet, then by family
        slot = np.empty(fleet.size, dtype=np.int64)
        slot[order] = np.arange(fleet.size)
        bounds = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
        self._slots = [slot[bounds[n] : bounds[n + 1]] for n in range(len(families))]
        self._start = np.searchsorted(fleet[order], np.arange(n_fleets + 1)).tolist()
        self._flat = np.zeros(fleet.size)
        self.current: list[FloatArray] = [np.zeros(c) for c in counts]
        self.lows = [0.0] * len(families)
        self._stale: set[int] = set()  # families assigned since ``_flat`` was last written
        self._fleet_of_slot: list[int] = fleet[order].tolist()
        self._fleet_of_slot_array = fleet[order]
        self._family_of_slot = np.repeat(np.arange(len(families), dtype=np.int64),
                                         counts)[order]
        #: Each fleet's exact sum of terms in units of 2**-1074 (None: not summed yet).
        self._exact: list[int | None] = [None] * n_fleets

    def families_by_fleet(self) -> list[list[int]]:
        """The families each fleet depends on, in family order (one list per fleet)."""
        by_slot = self._family_of_slot.tolist()
        bounds = self._start
        return [by_slot[bounds[f] : bounds[f + 1]] for f in range(len(bounds) - 1)]

    def assign(self, n: int, value: FloatArray, low: float | None = None) -> None:
        """Set family ``n``'s terms; ``low``, when given, is already ``min(0, value)``."""
        self.current[n] = value
        self._stale.add(n)
        self.lows[n] = float(value.min(initial=0.0)) if low is None else low

    def fleet_sum(self, f: int) -> float:
        """Σ over the families of fleet ``f`` of their term for it, correctly rounded.

        The exact sum is kept as an integer count of ``2**-1074`` (every double is a
        whole number of those) and updated by the terms that changed, so a call after
        a few changes costs a few integer additions, not a pass over the fleet's
        families; the integer divided by ``2**1074`` is rounded correctly, as
        ``math.fsum`` of the terms would be (the same float)."""
        if len(self._stale) > FLUSH_AT_ONCE:
            # Many families changed (a whole start, or a long run of the greedy): write
            # them all at once; the fleets they touch are summed afresh (same integers).
            stale = list(self._stale)
            slots = np.concatenate([self._slots[n] for n in stale])
            self._flat[slots] = np.concatenate([self.current[n] for n in stale])
            for g in np.unique(self._fleet_of_slot_array[slots]).tolist():
                self._exact[g] = None
            self._stale.clear()
        elif self._stale:
            for n in self._stale:
                slots = self._slots[n]
                new = self.current[n]
                for sl, old, value in zip(slots.tolist(), self._flat[slots].tolist(),
                                          new.tolist(), strict=True):
                    g = self._fleet_of_slot[sl]
                    if old != value and self._exact[g] is not None:
                        if math.isfinite(old) and math.isfinite(value):
                            self._exact[g] += _whole(value) - _whole(old)
                        else:
                            self._exact[g] = None
                self._flat[slots] = new
            self._stale.clear()
        terms = self._flat[self._start[f] : self._start[f + 1]]
        exact = self._exact[f]
        if exact is None:
            if not np.all(np.isfinite(terms)):
                return math.fsum(terms.tolist())
            exact = whole_sum(terms)
            self._exact[f] = exact
        return exact / _ULP_SCALE


#: Doubles are whole multiples of 2**-1074; sums are kept in those units.
_ULP_SCALE = 1 << 1074


def _whole(x: float) -> int:
    """``x`` in units of ``2**-1074`` (exact: ``x`` finite)."""
    num, den = x.as_integer_ratio()
    return num << (1075 - den.bit_length())


def whole_sum(x: FloatArray) -> int:
    """The exact sum of finite doubles ``x`` in units of ``2**-1074`` (the sum of
    :func:`_whole` over ``x``), grouped by binary exponent: one integer operation per
    exponent present rather than per value.

    Each value is ``m · 2**(e − 53)`` with ``m`` a whole number below ``2**53``
    (``numpy.frexp``); ``m`` is split at bit 26 so that the sums per exponent stay
    within 64-bit integers for up to ``2**36`` values.
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if x.size == 0:
        return 0
    frac, exp = np.frexp(x)
    mant = (frac * float(1 << 53)).astype(np.int64)  # exact: |frac| < 1
    order = np.argsort(exp, kind="stable")
    exp, mant = exp[order], mant[order]
    starts = np.flatnonzero(np.concatenate([[True], exp[1:] != exp[:-1]]))
    high = np.add.reduceat(mant >> 26, starts).tolist()
    low = np.add.reduceat(mant & ((1 << 26) - 1), starts).tolist()
    total = 0
    for e, h, lo in zip(exp[starts].tolist(), high, low, strict=True):
        m = (h << 26) + lo
        shift = e + 1021  # 2**(e − 53) in units of 2**−1074
        total += m << shift if shift >= 0 else m >> -shift  # (exact: subnormals only)
    return total
