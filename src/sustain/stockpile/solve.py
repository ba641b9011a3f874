"""Solve the stockpile programme lexicographically with HiGHS.

Stage by stage (``shared/spec/stockpile-format.md``): minimise total floor breach;
hold it; minimise priority-weighted shortfall; hold it (within :data:`FIX_RTOL` and
:data:`FIX_ATOL`); minimise surge cost.  A later stage never buys back an earlier one.

- Floor breach is held **by bounds**: every month's least breach is the same in every
  optimal plan (:func:`sustain.stockpile.data.least_breach`), so ``breach[d,c,t] <=``
  its stage-1 value (+ tolerance) describes exactly the stage-1 optima.
- Shortfall is held **by rows**: ``Σ_t priority[c]·short[c,t] <= optimum[c]`` per
  consumable, since shortfall can move between months at equal total.

The programme separates by consumable (no row mixes two), so each consumable is
solved on its own: the same optimum, and much faster than one large programme.  A stage
whose optimum of 0 is known in closed form is not solved, and a stage may be solved on
the part of the programme it needs (``Stage.zero_ok`` and ``Stage.scope`` in
:mod:`sustain.stockpile.build`, where the reasons are given).

Each consumable's programme is brought into the range where HiGHS is accurate by
powers of two, quantities once and costs stage by stage (:mod:`sustain.stockpile.scale`);
tolerances apply to the scaled programme, answers are mapped back exactly.

Duals of ``donor_balance`` are kept from the shortfall stage, per unit of its cost (the
consumable's priority): ``−dual`` is the shortfall one more unit of committed
production would avoid, with the breach stage held at its optimum (``capacity_value``
in the JSON).

With ``workers > 1`` the consumables are solved by a pool of processes that ignore
Ctrl-C: the calling process receives it, terminates the pool (no process is left
behind, none prints a traceback) and raises ``KeyboardInterrupt`` once.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol

import numpy as np
import scipy.sparse as sp
from scipy.optimize import OptimizeWarning, linprog

from sustain._procs import run_in_processes
from sustain._types import BoolArray, FloatArray, IntArray
from sustain.stockpile.build import FixBy, LinearProgram
from sustain.stockpile.scale import COST_WINDOW, exponent, quantity_exponents

#: Slack of a budget row holding an earlier stage's optimum: relative, absolute.
FIX_RTOL = 1e-9
FIX_ATOL = 1e-6
#: Slack of a bound holding a variable at its earlier optimum: absolute, and relative
#: (some 45 units in the last place: the bound must stay above the value it holds).
FIX_BOUND_ATOL = 1e-9
FIX_BOUND_RTOL = 1e-14


class Status(StrEnum):
    """Outcome of a solve (linopy's vocabulary)."""

    OPTIMAL = "optimal"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    TIME_LIMIT = "time_limit"
    ERROR = "error"


@dataclass(frozen=True, slots=True, kw_only=True)
class LPProblem:
    """One linear programme: ``min c·x`` s.t. ``A_eq x = b_eq``, ``A_ub x <= b_ub``, bounds."""

    c: FloatArray
    A_eq: sp.csr_array
    b_eq: FloatArray
    A_ub: sp.csr_array
    b_ub: FloatArray
    lb: FloatArray
    ub: FloatArray


@dataclass(frozen=True, slots=True, kw_only=True)
class LPSolution:
    """A solver's answer: ``eq_duals`` are ∂(optimum)/∂b_eq (empty unless optimal)."""

    status: Status
    x: FloatArray
    objective: float
    eq_duals: FloatArray
    message: str = ""


class Solver(Protocol):
    """Anything that solves an :class:`LPProblem` (HiGHS through scipy by default)."""

    def __call__(self, problem: LPProblem) -> LPSolution:
        """Solve ``problem``."""
        ...


_LINPROG_STATUS = {
    0: Status.OPTIMAL,
    1: Status.TIME_LIMIT,
    2: Status.INFEASIBLE,
    3: Status.UNBOUNDED,
    4: Status.ERROR,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class HighsSolver:
    """HiGHS through :func:`scipy.optimize.linprog`.

    The default, dual simplex with Devex pricing (``method="highs-ds"``,
    ``pricing="devex"``), was the fastest overall in ``benchmarks/stockpile.py``;
    ``"highs-ipm"`` (interior point, then crossover to a vertex) is faster on plans with
    no shortfall and slower on those with.  Both end at a vertex, so duals are those of
    a basis.  ``time_limit`` in seconds per programme.
    """

    method: str = "highs-ds"
    pricing: str | None = "devex"
    time_limit: float | None = None

    def __call__(self, problem: LPProblem) -> LPSolution:
        """Solve ``problem`` with HiGHS."""
        options: dict[str, float | bool | str] = {"presolve": True}
        if self.time_limit is not None:
            options["time_limit"] = self.time_limit
        if self.pricing is not None and self.method in ("highs", "highs-ds"):
            options["simplex_dual_edge_weight_strategy"] = self.pricing
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            res = linprog(
                problem.c,
                A_ub=problem.A_ub if problem.A_ub.shape[0] else None,
                b_ub=problem.b_ub if problem.A_ub.shape[0] else None,
                A_eq=problem.A_eq if problem.A_eq.shape[0] else None,
                b_eq=problem.b_eq if problem.A_eq.shape[0] else None,
                bounds=np.column_stack([problem.lb, problem.ub]),
                method=self.method,
                options=options,
            )
        status = _LINPROG_STATUS.get(int(res.status), Status.ERROR)
        if status is not Status.OPTIMAL or res.x is None:
            n = problem.c.size
            return LPSolution(status=status, x=np.full(n, np.nan), objective=np.nan,
                              eq_duals=np.zeros(0), message=str(res.message))
        duals = (np.asarray(res.eqlin.marginals, dtype=np.float64)
                 if problem.A_eq.shape[0] else np.zeros(0))
        return LPSolution(status=status, x=np.asarray(res.x, dtype=np.float64),
                          objective=float(res.fun), eq_duals=duals, message=str(res.message))


@dataclass(frozen=True, slots=True, kw_only=True)
class Solution:
    """The lexicographic optimum of a :class:`LinearProgram`.

    Attributes
    ----------
    status : Status
        ``optimal``, or how the first failing solve ended.
    x : FloatArray
        Values of every column (NaN where not solved).
    stage_values : dict of str to FloatArray
        Each stage's optimum per group (consumable).
    eq_duals : FloatArray
        ∂(optimum of the dual stage)/∂b_eq for every equality row, divided by the
        largest cost of that stage in the row's group (for the shortfall stage, whose
        costs are the consumable's priority: per unit short).
    failed_group : int or None
        The group (consumable index) whose solve failed, if any.
    failed_stage : str or None
        The stage of that failure.
    message : str
        The solver's message for the failure.
    qty_exp : IntArray
        Per group (consumable): its quantities were solved multiplied by ``2**qty_exp``
        (:mod:`sustain.stockpile.scale`); the solver's tolerances apply in those units.
    """

    status: Status
    x: FloatArray
    stage_values: dict[str, FloatArray] = field(default_factory=dict)
    eq_duals: FloatArray
    qty_exp: IntArray
    failed_group: int | None = None
    failed_stage: str | None = None
    message: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class _Group:
    """One group's programme and its stages (picklable, for worker processes)."""

    A_eq: sp.csr_array
    b_eq: FloatArray
    A_ub: sp.csr_array
    b_ub: FloatArray
    lb: FloatArray
    ub: FloatArray
    # name, cost, fix, zero_ok (or None), scope (or None), restricted to the group
    stages: tuple[tuple[str, FloatArray, FixBy, BoolArray | None, BoolArray | None], ...]
    dual_stage: str
    qty_exp: int = 0  # quantities are solved multiplied by 2**qty_exp
    rescale: bool = True  # each stage's costs brought into COST_WINDOW


@dataclass(frozen=True, slots=True, kw_only=True)
class _GroupResult:
    status: Status
    x: FloatArray
    values: dict[str, float]
    eq_duals: FloatArray
    stage: str = ""
    message: str = ""


def _rows_within(a: sp.csr_array, scope: BoolArray) -> IntArray:
    """Rows of ``a`` with entries in ``scope`` columns only (and at least one)."""
    inside = np.asarray((a[:, scope] != 0).sum(axis=1)).ravel()
    outside = np.asarray((a[:, ~scope] != 0).sum(axis=1)).ravel()
    return np.flatnonzero((inside > 0) & (outside == 0))


def _cost_exponent(c: FloatArray) -> int:
    """The power of two that brings a stage's costs into :data:`COST_WINDOW`."""
    mag = np.abs(c[c != 0])
    if not mag.size:
        return 0
    return exponent(float(np.min(mag)), float(np.max(mag)), COST_WINDOW)


def _solve_group(group: _Group, solver: Solver) -> _GroupResult:
    """The stages of one group, each optimum held while the next is solved.

    Quantities are multiplied by ``2**group.qty_exp`` and each stage's costs by its own
    power of two (:mod:`sustain.stockpile.scale`); held optima, tolerances and the
    solution are in those units until the end, where they are mapped back.
    """
    q = group.qty_exp
    lb, ub = np.ldexp(group.lb, q), np.ldexp(group.ub, q)
    b_eq = np.ldexp(group.b_eq, q)
    a_ub, b_ub = group.A_ub, np.ldexp(group.b_ub, q)
    values: dict[str, float] = {}
    duals = np.zeros(b_eq.size)
    x = np.full(lb.size, np.nan)
    for name, c_given, fix, zero_ok, scope in group.stages:
        nz = np.flatnonzero(c_given)
        known = zero_ok is not None and bool(np.all(zero_ok[nz]))
        if fix is not FixBy.NONE and (known or (scope is not None and not np.any(scope))):
            # A plan with this stage at 0 exists and costs are >= 0: hold its variables at 0.
            values[name] = 0.0
            ub[nz] = lb[nz]
            continue
        k = _cost_exponent(c_given if scope is None else c_given[scope]) if group.rescale else 0
        c = np.ldexp(c_given, k)
        if scope is not None:  # the stage's own smaller programme (see build.Stage)
            cols = np.flatnonzero(scope)
            req, rub = _rows_within(group.A_eq, scope), _rows_within(a_ub, scope)
            sub = LPProblem(c=c[cols], A_eq=group.A_eq[req][:, cols], b_eq=b_eq[req],
                            A_ub=a_ub[rub][:, cols], b_ub=b_ub[rub], lb=lb[cols], ub=ub[cols])
        else:
            cols = np.arange(lb.size)
            sub = LPProblem(c=c, A_eq=group.A_eq, b_eq=b_eq, A_ub=a_ub, b_ub=b_ub,
                            lb=lb, ub=ub)
        sol = solver(sub)
        if sol.status is not Status.OPTIMAL:
            return _GroupResult(status=sol.status, x=np.ldexp(x, -q), values=values,
                                eq_duals=duals, stage=name, message=sol.message)
        x = x.copy()
        x[cols] = sol.x
        value = float(c[cols] @ sol.x)
        values[name] = math.ldexp(value, -(q + k))
        if name == group.dual_stage and scope is None:
            duals = sol.eq_duals / float(np.max(np.abs(c)))  # per unit of its largest cost
        if scope is not None:  # objective columns outside the scope are 0 (zero_ok)
            out = nz[~scope[nz]]
            ub[out] = lb[out]
            nz = nz[scope[nz]]
        if fix is FixBy.BOUNDS:
            slack = np.maximum(FIX_BOUND_ATOL, FIX_BOUND_RTOL * np.abs(x[nz]))
            held = np.where(x[nz] <= lb[nz] + FIX_BOUND_ATOL, lb[nz], x[nz] + slack)
            ub[nz] = np.minimum(ub[nz], held)
        elif fix is FixBy.ROWS and value <= FIX_ATOL:
            ub[nz] = lb[nz]  # an optimum of 0: each variable at 0
        elif fix is FixBy.ROWS:
            row = sp.csr_array((c[nz], (np.zeros(nz.size, dtype=np.int64), nz)),
                               shape=(1, c.size))
            a_ub = sp.vstack([a_ub, row]).tocsr()
            # The slack is in the row's own units: FIX_ATOL per unit of its largest
            # coefficient, so that it stays above the solver's feasibility tolerance
            # whatever the stage's costs.
            scale = float(np.max(np.abs(c[nz])))
            b_ub = np.append(b_ub, value + FIX_RTOL * abs(value) + FIX_ATOL * max(scale, 1.0))
    return _GroupResult(status=Status.OPTIMAL, x=np.ldexp(x, -q), values=values, eq_duals=duals)


def _solve_in_pool(groups: Sequence[_Group], solver: Solver, workers: int) -> list[_GroupResult]:
    """Solve ``groups`` in ``workers`` processes (:func:`sustain._procs.run_in_processes`:
    on Ctrl-C every worker is ended before ``KeyboardInterrupt`` is raised here)."""
    results: list[_GroupResult | None] = [None] * len(groups)

    def keep(k: int, result: _GroupResult) -> None:
        results[k] = result

    run_in_processes(_solve_group, [(g, solver) for g in groups], workers, keep)
    return [r for r in results if r is not None]


def _order(groups: IntArray, n_groups: int) -> tuple[IntArray, IntArray]:
    """A stable permutation that makes each group contiguous, and the group offsets."""
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(n_groups + 1))
    return order, bounds


def split(
    lp: LinearProgram, *, dual_stage: str = "shortfall", decompose: bool = True,
    rescale: bool = True,
) -> list[tuple[IntArray, IntArray, _Group]]:
    """The independent programmes of ``lp`` (one per consumable, or one in all), each
    with its column and equality-row numbers in ``lp`` (and, with ``rescale``, the
    power of two for its quantities)."""
    n = lp.n_groups if decompose else 1
    col_g = lp.col_group if decompose else np.zeros_like(lp.col_group)
    eq_g = lp.eq_group if decompose else np.zeros_like(lp.eq_group)
    ub_g = lp.ub_group if decompose else np.zeros_like(lp.ub_group)
    cols, cb = _order(col_g, n)
    eqs, eb = _order(eq_g, n)
    ubs, ubb = _order(ub_g, n)
    if not rescale:
        qty_exp = np.zeros(n, dtype=np.int64)
    elif decompose:
        qty_exp = quantity_exponents(lp.qty_lo, lp.qty_hi)
    else:
        positive = lp.qty_lo[lp.qty_lo > 0]
        qty_exp = quantity_exponents(np.array([np.min(positive, initial=np.inf)]),
                                     np.array([np.max(lp.qty_hi, initial=0.0)]))
    A_eq = lp.A_eq[eqs][:, cols].tocsr()
    A_ub = lp.A_ub[ubs][:, cols].tocsr()
    out = []
    nnz = 0
    for g in range(n):
        cg, eg, ug = cols[cb[g]:cb[g + 1]], eqs[eb[g]:eb[g + 1]], ubs[ubb[g]:ubb[g + 1]]
        a_eq = A_eq[eb[g]:eb[g + 1], cb[g]:cb[g + 1]]
        a_ub = A_ub[ubb[g]:ubb[g + 1], cb[g]:cb[g + 1]]
        nnz += a_eq.nnz + a_ub.nnz
        stages = [
            (st.name, st.cost[cg], st.fix,
             None if st.zero_ok is None else st.zero_ok[cg],
             None if st.scope is None else st.scope[cg])
            for st in lp.stages
        ]
        out.append((cg, eg, _Group(A_eq=a_eq, b_eq=lp.b_eq[eg], A_ub=a_ub, b_ub=lp.b_ub[ug],
                                   lb=lp.lb[cg], ub=lp.ub[cg], stages=tuple(stages),
                                   dual_stage=dual_stage, qty_exp=int(qty_exp[g]),
                                   rescale=rescale)))
    if nnz != lp.A_eq.nnz + lp.A_ub.nnz:
        raise ValueError("the programme does not separate by its groups (a builder bug)")
    return out


def solve_lexicographic(
    lp: LinearProgram,
    *,
    solver: Solver | None = None,
    dual_stage: str = "shortfall",
    decompose: bool = True,
    workers: int = 1,
    rescale: bool = True,
) -> Solution:
    """Solve ``lp`` stage by stage, each group (consumable) on its own.

    Parameters
    ----------
    lp : LinearProgram
        From :func:`sustain.stockpile.build.build_lp`.
    solver : Solver, optional
        Default :class:`HighsSolver` (dual simplex).
    dual_stage : str
        The stage whose equality duals are returned (per unit of its largest cost).
    decompose : bool
        Solve each group separately (default) or all at once (same optimum).
    workers : int
        Processes solving groups side by side (1: in this process).
    rescale : bool
        Bring each group's quantities and each stage's costs into the range where HiGHS
        is accurate (default; :mod:`sustain.stockpile.scale`), or solve the numbers as
        given (for comparison).

    Returns
    -------
    Solution
    """
    solver = solver or HighsSolver()
    parts = split(lp, dual_stage=dual_stage, decompose=decompose, rescale=rescale)
    groups = [p[2] for p in parts]
    if workers > 1 and len(parts) > 1:
        results = _solve_in_pool(groups, solver, min(workers, len(parts)))
    else:
        results = [_solve_group(g, solver) for g in groups]
    x = np.full(lp.n_cols, np.nan)
    duals = np.zeros(lp.b_eq.size)
    values = {s.name: np.zeros(len(parts)) for s in lp.stages}
    qty_exp = np.array([g.qty_exp for g in groups], dtype=np.int64)
    if not decompose:
        qty_exp = np.full(lp.n_groups, qty_exp[0] if qty_exp.size else 0, dtype=np.int64)
    for g, ((cg, eg, _), r) in enumerate(zip(parts, results, strict=True)):
        for name, value in r.values.items():
            values[name][g] = value
        if r.status is not Status.OPTIMAL:
            return Solution(status=r.status, x=x, stage_values=values, eq_duals=duals,
                            qty_exp=qty_exp, failed_group=g if decompose else None,
                            failed_stage=r.stage, message=r.message)
        x[cg] = r.x
        duals[eg] = r.eq_duals
    if not decompose:  # per unit of each group's largest cost, as when decomposed
        duals *= _group_cost_ratio(lp, dual_stage)[lp.eq_group]
    return Solution(status=Status.OPTIMAL, x=x, stage_values=values, eq_duals=duals,
                    qty_exp=qty_exp)


def _group_cost_ratio(lp: LinearProgram, stage: str) -> FloatArray:
    """(groups,) the largest cost of ``stage`` over the largest in the group."""
    cost = np.abs(next(s.cost for s in lp.stages if s.name == stage))
    per_group = np.zeros(lp.n_groups)
    np.maximum.at(per_group, lp.col_group, cost)
    top = float(np.max(per_group, initial=0.0))
    return np.divide(top, per_group, out=np.ones(lp.n_groups), where=per_group > 0)
