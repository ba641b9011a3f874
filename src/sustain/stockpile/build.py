"""Assemble the stockpile linear programme: one named function per constraint family.

The model (``shared/spec/stockpile-format.md``, "Semantics"), for donor d, consumable c
and month t (t = 0 is ``start_month``)::

    donor_balance    S[d,c,t] = S[d,c,t-1] + made[d,c,t] + surge[d,c,t] - own_use[d,c] - sent[d,c,t]
    floor            S[d,c,t] + breach[d,c,t] >= floor[d,c]
    partner_balance  P[c,t] = P[c,t-1] + Σ_d sent[d,c,t-lead_d] - demand[c,t] + short[c,t]
    bounds           S, P >= 0;  sent >= pledged;  0 <= surge <= surge_cap;
                     0 <= breach <= floor;  0 <= short <= demand

``used = demand - short``.  Objectives, minimised in this order (lexicographic; see
:mod:`sustain.stockpile.solve`): ``floor_breach`` = Σ breach, then ``shortfall`` =
Σ priority[c]·short, then ``surge_cost`` = Σ surge_cost·surge (plus tie-breaks: serve
earlier months first, then send no more, and no earlier, than needed).  No constraint
links two consumables, so each is a programme of its own, priced in its own terms:
priorities weigh the reported total, but no priority changes any consumable's plan.

Every block is built over whole arrays (numpy index arithmetic, one sparse matrix in
coordinate form per family); there is no Python loop per variable or constraint.
Blocks are labelled by their axes, and every column and row carries the consumable
it belongs to: the programme separates by consumable, which the solver exploits.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import scipy.sparse as sp

from sustain._types import BoolArray, FloatArray, IntArray
from sustain.stockpile.data import PlanData, least_breach, no_shortfall_possible, quantity_range

#: Weights of the tie-breaks of the last stage, relative to the consumable's cheapest
#: surge cost (or 1).
TIEBREAK_SHORT = 1e-4
TIEBREAK_SENT = 1e-6


class Sense(StrEnum):
    """Sense of a constraint family: ``A x = b`` or ``A x <= b``."""

    EQ = "eq"
    LE = "le"


class FixBy(StrEnum):
    """How a stage's optimum is held while later stages are solved.

    ``bounds``: each variable of the stage's objective keeps at most its optimal value
    (right when that value is unique per variable, as for floor breach: see
    :func:`sustain.stockpile.data.least_breach`); ``rows``: one budget row per group,
    Σ cost·x <= optimum (+ tolerance); ``none``: the last stage.
    """

    BOUNDS = "bounds"
    ROWS = "rows"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class VarBlock:
    """A labelled block of columns: ``index()`` has shape ``shape`` over ``axes``."""

    name: str
    axes: tuple[str, ...]
    shape: tuple[int, ...]
    start: int

    @property
    def size(self) -> int:
        """Number of columns."""
        return int(np.prod(self.shape, dtype=np.int64))

    def index(self) -> IntArray:
        """Column numbers, shaped like the block."""
        return (self.start + np.arange(self.size, dtype=np.int64)).reshape(self.shape)


@dataclass(frozen=True, slots=True)
class RowBlock:
    """A labelled constraint family: rows ``start … start+size`` of its sense's matrix."""

    name: str
    axes: tuple[str, ...]
    shape: tuple[int, ...]
    sense: Sense
    start: int

    @property
    def size(self) -> int:
        """Number of rows."""
        return int(np.prod(self.shape, dtype=np.int64))

    def index(self) -> IntArray:
        """Row numbers (in the matrix of its sense), shaped like the family."""
        return (self.start + np.arange(self.size, dtype=np.int64)).reshape(self.shape)


@dataclass(frozen=True, slots=True)
class Stage:
    """One term of the lexicographic objective and how its optimum is held afterwards
    (by rows: one budget row per group of :attr:`LinearProgram.col_group`).

    ``zero_ok[j]`` (optional) marks columns that are 0 in a plan known in closed form to
    reach the stage's least value: as costs and variables are >= 0, where the whole
    group's objective columns are so marked the stage needs no solve (optimum 0, every
    optimal plan has them at 0).  ``scope`` (optional) marks the columns the stage's
    programme needs: it is solved on them and the rows entirely within them, the other
    objective columns (which must be ``zero_ok``) held at 0.  That is exact only when
    every solution of the smaller programme extends to the whole one (see
    :func:`objectives`).
    """

    name: str
    cost: FloatArray
    fix: FixBy
    zero_ok: BoolArray | None = None
    scope: BoolArray | None = None


@dataclass(frozen=True, slots=True)
class LinearProgram:
    """``min cost·x`` (stage by stage) s.t. ``A_eq x = b_eq``, ``A_ub x <= b_ub``, bounds.

    ``col_group``, ``eq_group`` and ``ub_group`` give the consumable of every column and
    row: no row mixes groups, so each group is a programme of its own.  ``qty_lo`` and
    ``qty_hi`` (per group) are the smallest non-zero quantity of its inputs and a bound on
    every quantity of its plan; :mod:`sustain.stockpile.solve` scales by them.
    """

    variables: dict[str, VarBlock]
    constraints: dict[str, RowBlock]
    stages: tuple[Stage, ...]
    A_eq: sp.csr_array
    b_eq: FloatArray
    A_ub: sp.csr_array
    b_ub: FloatArray
    lb: FloatArray
    ub: FloatArray
    col_group: IntArray
    eq_group: IntArray
    ub_group: IntArray
    n_groups: int
    qty_lo: FloatArray
    qty_hi: FloatArray

    @property
    def n_cols(self) -> int:
        """Number of variables."""
        return int(self.lb.size)


@dataclass
class LPBuilder:
    """Collects labelled blocks of variables and constraints in coordinate form."""

    variables: dict[str, VarBlock] = field(default_factory=dict)
    constraints: dict[str, RowBlock] = field(default_factory=dict)
    _lb: list[FloatArray] = field(default_factory=list)
    _ub: list[FloatArray] = field(default_factory=list)
    _group: list[IntArray] = field(default_factory=list)
    _n: int = 0
    _rows: dict[Sense, int] = field(default_factory=lambda: {Sense.EQ: 0, Sense.LE: 0})
    _coo: dict[Sense, list[tuple[IntArray, IntArray, FloatArray]]] = field(
        default_factory=lambda: {Sense.EQ: [], Sense.LE: []}
    )
    _rhs: dict[Sense, list[FloatArray]] = field(
        default_factory=lambda: {Sense.EQ: [], Sense.LE: []}
    )
    _row_group: dict[Sense, list[IntArray]] = field(
        default_factory=lambda: {Sense.EQ: [], Sense.LE: []}
    )

    def add_variables(
        self,
        name: str,
        axes: tuple[str, ...],
        *,
        lb: FloatArray,
        ub: FloatArray,
        group: IntArray,
    ) -> IntArray:
        """Add a block of ``lb.shape`` columns; return their numbers, shaped like ``lb``."""
        block = VarBlock(name, axes, tuple(lb.shape), self._n)
        self.variables[name] = block
        self._lb.append(np.asarray(lb, dtype=np.float64).ravel())
        self._ub.append(np.broadcast_to(ub, lb.shape).astype(np.float64).ravel())
        self._group.append(np.broadcast_to(group, lb.shape).astype(np.int64).ravel())
        self._n += block.size
        return block.index()

    def add_constraints(
        self,
        name: str,
        axes: tuple[str, ...],
        sense: Sense,
        *,
        rhs: FloatArray,
        group: IntArray,
        terms: list[tuple[IntArray, IntArray, float | FloatArray]],
    ) -> IntArray:
        """Add a family of ``rhs.shape`` rows.

        ``terms`` are ``(row, col, coefficient)`` arrays, ``row`` numbering the family's
        rows from 0 (flat, C order).  Returns the row numbers in the sense's matrix.
        """
        block = RowBlock(name, axes, tuple(rhs.shape), sense, self._rows[sense])
        self.constraints[name] = block
        for row, col, val in terms:
            row = np.asarray(row, dtype=np.int64).ravel()
            vals = np.broadcast_to(np.asarray(val, dtype=np.float64), row.shape).ravel()
            self._coo[sense].append((row + block.start, np.asarray(col).ravel(), vals))
        self._rhs[sense].append(np.asarray(rhs, dtype=np.float64).ravel())
        self._row_group[sense].append(np.broadcast_to(group, rhs.shape).astype(np.int64).ravel())
        self._rows[sense] += block.size
        return block.index()

    @property
    def n_cols(self) -> int:
        """Columns added so far."""
        return self._n

    def matrix(self, sense: Sense) -> sp.csr_array:
        """The assembled matrix of one sense."""
        parts = self._coo[sense]
        if not parts:
            return sp.csr_array((self._rows[sense], self._n))
        rows = np.concatenate([p[0] for p in parts])
        cols = np.concatenate([p[1] for p in parts])
        vals = np.concatenate([p[2] for p in parts])
        return sp.csr_array((vals, (rows, cols)), shape=(self._rows[sense], self._n))

    def build(
        self,
        stages: tuple[Stage, ...],
        n_groups: int,
        *,
        qty_lo: FloatArray | None = None,
        qty_hi: FloatArray | None = None,
    ) -> LinearProgram:
        """The programme, ready for :mod:`sustain.stockpile.solve` (quantity magnitudes
        per group: 1 unless given)."""

        def cat(xs: list[FloatArray] | list[IntArray], dtype: type) -> np.ndarray:
            return np.concatenate(xs).astype(dtype) if xs else np.zeros(0, dtype=dtype)

        return LinearProgram(
            variables=dict(self.variables),
            constraints=dict(self.constraints),
            stages=stages,
            A_eq=self.matrix(Sense.EQ),
            b_eq=cat(self._rhs[Sense.EQ], np.float64),
            A_ub=self.matrix(Sense.LE),
            b_ub=cat(self._rhs[Sense.LE], np.float64),
            lb=cat(self._lb, np.float64),
            ub=cat(self._ub, np.float64),
            col_group=cat(self._group, np.int64),
            eq_group=cat(self._row_group[Sense.EQ], np.int64),
            ub_group=cat(self._row_group[Sense.LE], np.int64),
            n_groups=n_groups,
            qty_lo=np.ones(n_groups) if qty_lo is None else np.asarray(qty_lo, dtype=np.float64),
            qty_hi=np.ones(n_groups) if qty_hi is None else np.asarray(qty_hi, dtype=np.float64),
        )


@dataclass(frozen=True, slots=True)
class Columns:
    """Column numbers of each variable block, shaped over its axes."""

    stock: IntArray  # S (D, C, T)
    sent: IntArray  # (D, C, T)
    surge: IntArray  # (D, C, T)
    breach: IntArray  # (D, C, T)
    partner: IntArray  # P (C, T)
    short: IntArray  # (C, T)


def _cgroup(d: PlanData) -> tuple[IntArray, IntArray]:
    """Consumable index broadcast over (D, C, T) and over (C, T)."""
    D, C, T = d.shape
    c = np.arange(C, dtype=np.int64)
    return (np.broadcast_to(c[None, :, None], (D, C, T)),
            np.broadcast_to(c[:, None], (C, T)))


def add_variables(lp: LPBuilder, d: PlanData) -> Columns:
    """S, P >= 0;  sent >= pledged;  0 <= surge <= surge_cap;  0 <= breach <= floor;
    0 <= short <= demand."""
    D, C, T = d.shape
    g3, g2 = _cgroup(d)
    zeros3, inf = np.zeros((D, C, T)), np.inf
    return Columns(
        stock=lp.add_variables("stock", ("donor", "consumable", "month"),
                               lb=zeros3, ub=np.full((D, C, T), inf), group=g3),
        sent=lp.add_variables("sent", ("donor", "consumable", "month"),
                              lb=d.pledged, ub=np.full((D, C, T), inf), group=g3),
        surge=lp.add_variables("surge", ("donor", "consumable", "month"),
                               lb=zeros3, ub=d.surge_cap, group=g3),
        breach=lp.add_variables("breach", ("donor", "consumable", "month"),
                                lb=zeros3, ub=np.broadcast_to(d.floor[:, :, None], (D, C, T)),
                                group=g3),
        partner=lp.add_variables("partner_stock", ("consumable", "month"),
                                 lb=np.zeros((C, T)), ub=np.full((C, T), inf), group=g2),
        short=lp.add_variables("short", ("consumable", "month"),
                               lb=np.zeros((C, T)), ub=d.demand, group=g2),
    )


def add_donor_balance(lp: LPBuilder, d: PlanData, v: Columns) -> IntArray:
    """S[d,c,t] - S[d,c,t-1] - surge[d,c,t] + sent[d,c,t] = made[d,c,t] - own_use[d,c],
    with ``S[d,c,-1]`` (the starting stock) moved to the right-hand side at t = 0."""
    D, C, T = d.shape
    row = np.arange(D * C * T, dtype=np.int64).reshape(D, C, T)
    rhs = d.made - d.own_use[:, :, None]
    rhs[:, :, 0] += d.stock
    return lp.add_constraints(
        "donor_balance", ("donor", "consumable", "month"), Sense.EQ,
        rhs=rhs, group=_cgroup(d)[0],
        terms=[
            (row, v.stock, 1.0),
            (row[:, :, 1:], v.stock[:, :, :-1], -1.0),
            (row, v.surge, -1.0),
            (row, v.sent, 1.0),
        ],
    )


def add_floor(lp: LPBuilder, d: PlanData, v: Columns) -> IntArray:
    """S[d,c,t] + breach[d,c,t] >= floor[d,c], written -S - breach <= -floor."""
    D, C, T = d.shape
    row = np.arange(D * C * T, dtype=np.int64).reshape(D, C, T)
    return lp.add_constraints(
        "floor", ("donor", "consumable", "month"), Sense.LE,
        rhs=-np.broadcast_to(d.floor[:, :, None], (D, C, T)), group=_cgroup(d)[0],
        terms=[(row, v.stock, -1.0), (row, v.breach, -1.0)],
    )


def add_partner_balance(lp: LPBuilder, d: PlanData, v: Columns) -> IntArray:
    """P[c,t] - P[c,t-1] - Σ_d sent[d,c,t-lead_d] - short[c,t] = -demand[c,t],
    with ``P[c,-1]`` (the partner's starting stock) on the right at t = 0.  A shipment
    arriving after the last month (t + lead_d >= T) counts nowhere."""
    D, C, T = d.shape
    row = np.arange(C * T, dtype=np.int64).reshape(C, T)
    rhs = -d.demand.copy()
    rhs[:, 0] += d.partner_stock
    arrive = np.arange(T)[None, None, :] + d.lead_months[:, None, None]  # (D, 1, T)
    arrive = np.broadcast_to(arrive, (D, C, T))
    cons = np.broadcast_to(np.arange(C)[None, :, None], (D, C, T))
    ok = arrive < T
    return lp.add_constraints(
        "partner_balance", ("consumable", "month"), Sense.EQ,
        rhs=rhs, group=_cgroup(d)[1],
        terms=[
            (row, v.partner, 1.0),
            (row[:, 1:], v.partner[:, :-1], -1.0),
            (row, v.short, -1.0),
            (row[cons[ok], arrive[ok]], v.sent[ok], -1.0),
        ],
    )


def objectives(d: PlanData, v: Columns, n_cols: int) -> tuple[Stage, ...]:
    """The three stages: floor breach, priority-weighted shortfall, surge cost.

    The shortfall stage is held by a budget row (:mod:`sustain.stockpile.solve`), with a
    small slack; the last stage also charges ``2·max surge cost[c] + min(1, ε[c])`` per
    unit short, more than any surge saves, so that it never uses that slack to buy less
    surge.  It adds two tie-breaks, tiny next to any surge cost of the consumable (ε[c] =
    its cheapest surge cost, or 1 if it has none): ``TIEBREAK_SHORT·ε[c]·(2 − t/T)`` per
    unit short, so that among plans with the same total shortfall the earlier months are
    served first (the shortfall shows when supply runs out), then
    ``TIEBREAK_SENT·ε[c]·(2 − t/T)`` per unit sent, so that no more is sent, and no
    earlier, than needed (donors keep what the partner does not need yet).  Every term
    of a consumable scales with its own surge costs: multiplying them all by a factor
    multiplies its last stage by that factor (up to the ``min(1, ε)``).
    """
    D, C, T = d.shape
    breach = np.zeros(n_cols)
    breach[v.breach] = 1.0
    short = np.zeros(n_cols)
    short[v.short] = np.broadcast_to(d.priority[:, None], (C, T))
    cost = np.zeros(n_cols)
    surge_cost = d.surge_cost * (d.surge_cap > 0)
    priced = np.where(surge_cost > 0, surge_cost, np.inf)
    base = np.min(priced, axis=(0, 2), initial=np.inf)  # (C,)
    base[~np.isfinite(base)] = 1.0
    cost[v.surge] = surge_cost
    early = 2.0 - np.arange(T) / max(T, 1)  # 2 … 1: earlier months weigh more
    cost[v.sent] = TIEBREAK_SENT * base[None, :, None] * np.broadcast_to(early, (D, C, T))
    hold = 2.0 * np.max(surge_cost, axis=(0, 2), initial=0.0) + np.minimum(1.0, base)  # (C,)
    cost[v.short] = hold[:, None] + TIEBREAK_SHORT * base[:, None] * early[None, :]
    # Stage 1 separates by donor and consumable, and the partner side never limits it
    # (short can absorb any demand): its programme is the donor blocks of the pairs that
    # some month is forced below the floor (least_breach > 0); every other pair has a
    # plan with no breach (the plan of most_stock), which any solution extends.
    forced = np.any(least_breach(d) > 0, axis=2)  # (D, C)
    pairs = np.broadcast_to(forced[:, :, None], (D, C, T))
    breach_zero = np.ones(n_cols, dtype=bool)
    breach_zero[v.breach] = ~pairs
    scope = np.zeros(n_cols, dtype=bool)
    for block in (v.stock, v.sent, v.surge, v.breach):
        scope[block] = pairs
    # Stage 2 needs no solve where all demand can be met (the plan of most_arrivals).
    short_zero = np.ones(n_cols, dtype=bool)
    short_zero[v.short] = np.broadcast_to(no_shortfall_possible(d)[:, None], (C, T))
    return (
        Stage("floor_breach", breach, FixBy.BOUNDS, breach_zero, scope),
        Stage("shortfall", short, FixBy.ROWS, short_zero),
        Stage("surge_cost", cost, FixBy.NONE),
    )


def build_lp(d: PlanData) -> tuple[LinearProgram, Columns]:
    """The whole programme of ``d`` and the column numbers of its variable blocks."""
    lp = LPBuilder()
    v = add_variables(lp, d)
    add_donor_balance(lp, d, v)
    add_floor(lp, d, v)
    add_partner_balance(lp, d, v)
    lo, hi = quantity_range(d)
    return lp.build(objectives(d, v, lp.n_cols), n_groups=d.shape[1], qty_lo=lo, qty_hi=hi), v
