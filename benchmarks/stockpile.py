"""Benchmark: the stockpile LP, 30 donors × 20 consumables × 120 months.

    python benchmarks/stockpile.py [--donors 30] [--consumables 20] [--months 120]
                                   [--workers 2] [--whole] [--magnitudes]

Builds a random plan (every donor holds, makes and may be pledged every consumable;
surge on about half the pairs; a few floors above the starting stock, so some stage-1
programmes are solved) directly as :class:`~sustain.stockpile.data.PlanData`, then

- times the vectorised builder (``build_lp``: one numpy block per constraint family)
  against the same programme built naively, one Python loop iteration per constraint
  row, in the same process, checks that both give identical matrices, and prints the
  ratio;
- times the lexicographic solve (HiGHS through scipy) in this process and with
  ``--workers`` processes, and, with ``--whole``, the same stages on the whole programme
  instead of one programme per consumable (slow; the baseline for the decomposition);
- checks the answer: stage 1 against its closed form, balances of the retrieved plan;
- with ``--magnitudes``, solves a small random plan (6 donors × 4 consumables × 36
  months) and the worked example with every quantity, and separately every cost and
  priority, multiplied by powers of ten, with and without the rescaling of
  :mod:`sustain.stockpile.scale`, and prints which solves give the plan of the
  unscaled case (total shortfall and breach), a different plan, or an error.

The target is build + solve under 10 s on a 2-core machine.  Wall times on a shared
machine vary with its load: the script prints the load average, and the CPU time of
the one-process solve (what it takes on a core of its own).
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from sustain.scenario import load_scenario
from sustain.stockpile.build import LinearProgram, build_lp
from sustain.stockpile.data import PlanData, least_breach, no_shortfall_possible, plan_data
from sustain.stockpile.explain import impossible
from sustain.stockpile.result import retrieve
from sustain.stockpile.solve import HighsSolver, Status, solve_lexicographic

#: The quantities of a plan (multiplied together by ``--magnitudes``).
QUANTITIES = ("demand", "partner_stock", "stock", "floor", "own_use", "made", "surge_cap",
              "pledged")


def random_plan(D: int, C: int, T: int, seed: int = 1) -> PlanData:
    """A plausible random plan: ramps in production, surge from year 2, some pledges."""
    rng = np.random.default_rng(seed)
    made0 = rng.uniform(500, 5000, (D, C))
    ramp_at = rng.integers(6, T, (D, C))
    ramp = rng.uniform(1.0, 3.0, (D, C))
    t = np.arange(T)
    made = made0[:, :, None] * np.where(t[None, None, :] >= ramp_at[:, :, None],
                                        ramp[:, :, None], 1.0)
    stock = rng.uniform(2e4, 2e5, (D, C))
    floor = stock * rng.uniform(0.4, 0.9, (D, C))
    forced = rng.random((D, C)) < 0.05
    floor[forced] = stock[forced] * 1.1  # starts below its floor
    own = made0 * rng.uniform(0.0, 0.3, (D, C))
    surge_on = rng.random((D, C)) < 0.5
    surge_from = rng.integers(12, T, (D, C))
    cap = np.where(surge_on[:, :, None] & (t[None, None, :] >= surge_from[:, :, None]),
                   made0[:, :, None] * rng.uniform(0.2, 0.6, (D, C))[:, :, None], 0.0)
    unit_cost = rng.uniform(1e3, 1e5, C)
    cost = unit_cost[None, :, None] * rng.uniform(1.2, 2.0, (D, C, T))
    pledged = np.where(rng.random((D, C, T)) < 0.1, rng.uniform(0, 1, (D, C, T)) *
                       made0[:, :, None], 0.0)
    # Half the consumables wanted beyond what donors make (they run short), half within.
    level = np.where(np.arange(C) % 2 == 0, rng.uniform(1.3, 2.0, C), rng.uniform(0.3, 0.8, C))
    demand = made0.sum(axis=0)[:, None] * level[:, None] * rng.uniform(0.8, 1.2, (C, T))
    d = PlanData(
        months=tuple(f"{2025 + k // 12}-{k % 12 + 1:02d}" for k in range(T)),
        donor_ids=tuple(f"D{k:02d}" for k in range(D)),
        consumable_ids=tuple(f"C{k:02d}" for k in range(C)),
        priority=rng.choice([1.0, 2.0, 5.0], C),
        unit_cost=unit_cost,
        demand=demand,
        partner_stock=rng.uniform(0, 2, C) * demand[:, 0],
        stock=stock, floor=floor, own_use=own, lead_months=rng.integers(0, 3, D),
        made=made, surge_cap=cap, surge_cost=cost, pledged=pledged,
    )
    if impossible(d):  # keep a plan possible: drop the pledges of impossible pairs
        bad = np.any(d.stock[:, :, None] + np.cumsum(
            d.made + d.surge_cap - d.own_use[:, :, None] - d.pledged, axis=2) < 0, axis=2)
        d = replace(d, pledged=np.where(bad[:, :, None], 0.0, d.pledged))
    return d


def build_naive(d: PlanData) -> tuple[sp.csr_array, np.ndarray, sp.csr_array, np.ndarray]:
    """The same constraint matrices, one Python loop iteration per row (how one might first
    write it), with the same column numbering as :func:`build_lp`."""
    D, C, T = d.shape
    n = D * C * T
    S, sent, surge, breach = 0, n, 2 * n, 3 * n
    P, short = 4 * n, 4 * n + C * T

    def k(i: int, j: int, t: int) -> int:
        return (i * C + j) * T + t

    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    b_eq: list[float] = []
    r = 0
    for i in range(D):  # donor_balance
        for j in range(C):
            for t in range(T):
                rows += [r, r, r]
                cols += [S + k(i, j, t), surge + k(i, j, t), sent + k(i, j, t)]
                vals += [1.0, -1.0, 1.0]
                if t > 0:
                    rows.append(r)
                    cols.append(S + k(i, j, t - 1))
                    vals.append(-1.0)
                rhs = d.made[i, j, t] - d.own_use[i, j] + (d.stock[i, j] if t == 0 else 0.0)
                b_eq.append(rhs)
                r += 1
    for j in range(C):  # partner_balance
        for t in range(T):
            rows += [r, r]
            cols += [P + j * T + t, short + j * T + t]
            vals += [1.0, -1.0]
            if t > 0:
                rows.append(r)
                cols.append(P + j * T + t - 1)
                vals.append(-1.0)
            for i in range(D):
                s = t - int(d.lead_months[i])
                if s >= 0:
                    rows.append(r)
                    cols.append(sent + k(i, j, s))
                    vals.append(-1.0)
            b_eq.append(-d.demand[j, t] + (d.partner_stock[j] if t == 0 else 0.0))
            r += 1
    n_cols = 4 * n + 2 * C * T
    A_eq = sp.csr_array((vals, (rows, cols)), shape=(r, n_cols))
    rows, cols, vals, b_ub = [], [], [], []
    r = 0
    for i in range(D):  # floor
        for j in range(C):
            for t in range(T):
                rows += [r, r]
                cols += [S + k(i, j, t), breach + k(i, j, t)]
                vals += [-1.0, -1.0]
                b_ub.append(-d.floor[i, j])
                r += 1
    A_ub = sp.csr_array((vals, (rows, cols)), shape=(r, n_cols))
    return A_eq, np.array(b_eq), A_ub, np.array(b_ub)


def _same(a: sp.csr_array, b: sp.csr_array) -> bool:
    return a.shape == b.shape and abs(a - b).max() == 0


def _time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def _residual(d: PlanData, lp: LinearProgram, x: np.ndarray) -> float:
    return float(np.max(np.abs(lp.A_eq @ x - lp.b_eq))) if x.size else 0.0


def main() -> None:
    """Run the benchmark and print the timings."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--donors", type=int, default=30)
    ap.add_argument("--consumables", type=int, default=20)
    ap.add_argument("--months", type=int, default=120)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--whole", action="store_true",
                    help="also solve the whole programme at once (slow baseline)")
    ap.add_argument("--ipm", action="store_true", help="also solve with the interior point")
    ap.add_argument("--magnitudes", action="store_true",
                    help="only sweep magnitudes, with and without rescaling")
    args = ap.parse_args()
    if args.magnitudes:
        magnitudes()
        return
    D, C, T = args.donors, args.consumables, args.months
    d = random_plan(D, C, T)
    print(f"stockpile LP: {D} donors × {C} consumables × {T} months "
          f"(load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")

    t_build = _time(lambda: build_lp(d), 5)
    lp, cols = build_lp(d)
    t_naive = _time(lambda: build_naive(d), 1)
    A_eq, b_eq, A_ub, b_ub = build_naive(d)
    same = (_same(A_eq, lp.A_eq) and _same(A_ub, lp.A_ub) and np.array_equal(b_eq, lp.b_eq)
            and np.array_equal(b_ub, lp.b_ub))
    print(f"  programme: {lp.n_cols:,} columns, {lp.A_eq.shape[0]:,} equalities, "
          f"{lp.A_ub.shape[0]:,} inequalities, {lp.A_eq.nnz + lp.A_ub.nnz:,} non-zeros")
    print(f"  build (vectorised, best of 5): {t_build:8.3f} s")
    print(f"  build (loop per row, baseline): {t_naive:7.3f} s   ratio {t_naive / t_build:6.1f}×"
          f"   identical matrices: {same}")

    runs = [("solve, dual simplex (default), 1 process", HighsSolver(), 1)]
    if args.workers > 1:
        runs.append((f"solve, dual simplex, {args.workers} processes", HighsSolver(),
                     args.workers))
    if args.ipm:
        runs.append(("solve, interior point, 1 process", HighsSolver(method="highs-ipm"), 1))
    times = {}
    for label, solver, workers in runs:
        t0, c0 = time.perf_counter(), time.process_time()
        sol = solve_lexicographic(lp, solver=solver, workers=workers)
        times[label] = time.perf_counter() - t0
        cpu = f"   (CPU {time.process_time() - c0:.3f} s)" if workers == 1 else ""
        print(f"  {label}: {times[label]:7.3f} s{cpu}   status {sol.status}")
    if args.workers > 1:
        print(f"  processes speed-up: {times[runs[0][0]] / times[runs[1][0]]:.2f}×")
    stage1 = float(sol.stage_values["floor_breach"].sum())
    solved1 = int(np.sum(np.any(least_breach(d) > 0, axis=(0, 2))))
    solved2 = int(np.sum(~no_shortfall_possible(d)))
    print(f"  programmes solved: stage 1 (floor breach) in {solved1} of {C} consumables, "
          f"stage 2 (shortfall) in {solved2}, stage 3 (surge cost) in {C}; the others "
          "have a known optimum of 0")
    plan = retrieve(d, lp, cols, sol)
    print(f"  floor breach {stage1:,.1f} (closed form {least_breach(d).sum():,.1f}); "
          f"weighted shortfall {sol.stage_values['shortfall'].sum():,.0f}; "
          f"surge cost {plan.objective['surge_cost']:,.0f}")
    print(f"  max |A_eq x − b| of the solution {_residual(d, lp, sol.x):.2e}; "
          f"retrieved plan: total shortfall {plan.shortfall.sum():,.0f}")
    print(f"  build + solve: {t_build + times[runs[0][0]]:.2f} s in 1 process, "
          f"{t_build + min(times.values()):.2f} s at best (target < 10 s)")
    if args.whole:
        t0 = time.perf_counter()
        whole = solve_lexicographic(lp, decompose=False)
        t_whole = time.perf_counter() - t0
        print(f"  solve whole programme (baseline): {t_whole:7.2f} s   ratio "
              f"{t_whole / times[runs[0][0]]:.1f}× against per consumable; shortfall "
              f"{whole.stage_values['shortfall'].sum():,.0f}")


def _outcome(d: PlanData, ref: tuple[np.ndarray, np.ndarray] | None, scale: float,
             rescale: bool, atol: float = 0.0) -> tuple[str, tuple[np.ndarray, np.ndarray]]:
    """``.`` the plan of ``ref`` (quantities × ``scale``; to ``atol`` in its units and
    relative 1e-6), ``w`` another plan, ``E`` an error (a solve that did not end
    optimal); and the plan's total shortfall per consumable and breach."""
    none = (np.zeros(0), np.zeros(0))
    lp, cols = build_lp(d)
    try:
        sol = solve_lexicographic(lp, rescale=rescale)
        if sol.status is not Status.OPTIMAL:
            return "E", none
        plan = retrieve(d, lp, cols, sol)
    except Exception:  # a solve that raises is an outcome here
        return "E", none
    got = (plan.shortfall.sum(axis=1), plan.breach)
    if ref is None:
        return ".", got
    same = all(np.allclose(a / scale, b, rtol=1e-6, atol=atol)
               for a, b in zip(got, ref, strict=True))
    return ("." if same else "w"), got


def _sweep(name: str, d: PlanData) -> None:
    """One plan's table of outcomes (see :func:`magnitudes`)."""
    _, ref = _outcome(d, None, 1.0, True)
    q = np.concatenate([np.ravel(getattr(d, n)) for n in QUANTITIES])
    atol = 1e-9 * float(np.sum(q))  # the precision claimed: 1e-9 of a bound on any quantity
    ks = list(range(-9, 16, 3))
    c = d.surge_cost[d.surge_cap > 0]
    print(f"{name}: quantities {float(np.min(q[q > 0])):.3g} to {float(np.max(q)):.3g}, "
          f"surge costs {float(np.min(c)):.3g} to {float(np.max(c)):.3g}, priorities "
          f"{float(np.min(d.priority)):.3g} to {float(np.max(d.priority)):.3g}")
    for label, key in (("quantities", "qty"), ("costs and priorities", "cost")):
        print(f"  {label + ' × 10**k:':<26} k = " + " ".join(f"{k:>3d}" for k in ks))
        for rescale in (False, True):
            row = []
            for k in ks:
                s = 10.0**k
                if key == "qty":
                    dk = replace(d, **{n: getattr(d, n) * s for n in QUANTITIES})
                else:
                    dk = replace(d, surge_cost=d.surge_cost * s, unit_cost=d.unit_cost * s,
                                 priority=d.priority * s)
                row.append(_outcome(dk, ref, s if key == "qty" else 1.0, rescale, atol)[0])
            label2 = "rescaled (default)" if rescale else "as given"
            print(f"    {label2:<28}" + " ".join(f"{x:>3s}" for x in row))


def magnitudes() -> None:
    """Which magnitudes HiGHS solves, with and without rescaling (see the module doc)."""
    print("stockpile LP magnitudes: . the plan of k = 0 (total shortfall and breach, "
          "relative 1e-6, absolute 1e-9 of all quantities summed), w another plan, "
          "E an error")
    _sweep("random plan, 6 donors × 4 consumables × 36 months", random_plan(6, 4, 36, seed=2))
    example = Path(__file__).resolve().parents[1] / "examples" / "coalition-munitions.yaml"
    plan = load_scenario(example).stockpile
    assert plan is not None
    _sweep("examples/coalition-munitions.yaml", plan_data(plan))


if __name__ == "__main__":
    main()
