"""The exact neighbourhood search after the greedy (``sustain.optimize.refine``).

Its effect on solution quality is measured against brute force in
``test_brute_force.py``; here: the neighbourhood and the Pareto cut against their
definitions (Hypothesis), and the phase's guarantees (never dearer, targets kept,
size guards that leave the plan alone).
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pytest
from benchmarks.optimize_cases import ME_MAX, TARGET_TOL, multi_echelon_instance
from hypothesis import example, given, settings
from hypothesis import strategies as st

from sustain.optimize import api, refine
from sustain.optimize.api import optimize_arrays
from sustain.optimize.greedy import marginal_allocation
from sustain.optimize.refine import (
    DEEP_NEIGHBOURS,
    FAMILY_NEIGHBOURS,
    NEIGHBOUR_STEP,
    REFINE_MAX_PAIRS,
    _dual_prices,
    _neighbourhood,
    _pareto,
    refine_plan,
)
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario import scenario_from_dict
from sustain.scenario.compile import compile_scenario
from tests.optimize.test_targets import one_item


@st.composite
def boxes(draw: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rows, sites = draw(st.integers(1, 2)), draw(st.integers(1, 3))
    n = rows * sites
    lo = np.array(draw(st.lists(st.integers(0, 3), min_size=n, max_size=n)), dtype=float)
    width = np.array(draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), dtype=float)
    hi = lo + width
    pos = np.array(draw(st.lists(st.floats(0, 1), min_size=n, max_size=n)))
    centre = np.round(lo + pos * width)
    return lo.reshape(rows, sites), hi.reshape(rows, sites), centre.reshape(rows, sites)


def up_to_k_changes(ranges: list[range], centre: np.ndarray, limit: int) -> set[tuple[float, ...]]:
    """Plain enumeration: the stocks of the box ``ranges`` changing at most K cells of
    ``centre``, K the largest with at most ``limit`` such stocks."""
    every = np.array(list(itertools.product(*ranges)), dtype=float)
    changes = np.sum(every != centre[None], axis=1)
    k = max(k for k in range(centre.size + 1) if np.sum(changes <= k) <= limit)
    return {tuple(r) for r in every[changes <= k].tolist()}


@settings(max_examples=60, deadline=None)
@given(boxes())
@example((np.zeros((2, 3)), np.full((2, 3), 4.0), np.full((2, 3), 2.0)))  # 5^6: K = 3
@example((np.zeros((2, 3)), np.full((2, 3), 4.0), np.full((2, 3), 4.0)))  # deep: 0..4
def test_neighbourhood_is_near_stocks_and_deep_moves_up_to_k_changes(
    box: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    lo, hi, centre = box
    got = _neighbourhood(lo, hi, centre)
    assert got.shape[1:] == centre.shape
    np.testing.assert_array_equal(got[0], centre)
    flat = got.reshape(got.shape[0], -1)
    assert len({tuple(r) for r in flat.tolist()}) == flat.shape[0]  # no repeats
    c = centre.ravel()
    top = np.minimum(hi.ravel(), c + NEIGHBOUR_STEP)
    near = [range(int(max(l_, x - NEIGHBOUR_STEP)), int(t) + 1)
            for l_, x, t in zip(lo.ravel(), c, top, strict=True)]
    deep = [range(int(l_), int(t) + 1) for l_, t in zip(lo.ravel(), top, strict=True)]
    want = up_to_k_changes(near, c, FAMILY_NEIGHBOURS) | up_to_k_changes(
        deep, c, DEEP_NEIGHBOURS)
    assert {tuple(r) for r in flat.tolist()} == want


def test_neighbourhood_of_a_wide_family_is_cut_to_few_changes() -> None:
    """Two rows at 21 sites: 5^42 stocks in the box; K changed cells keep it small."""
    centre = np.full((2, 21), 3.0)
    got = _neighbourhood(np.zeros_like(centre), np.full_like(centre, 9.0), centre)
    changed = np.sum(got.reshape(got.shape[0], -1) != 3.0, axis=1)
    # Near: 1 + 42·4 with one change (+ C(42, 2)·16 = 13,776 with two: over the limit);
    # deep: 1 + 42·5 (levels 0..5), which holds the near ones.
    assert got.shape[0] == 1 + 42 * 5
    assert changed.max() == 1


@st.composite
def clouds(draw: Any) -> tuple[np.ndarray, np.ndarray]:
    n, d = draw(st.integers(1, 600)), draw(st.integers(1, 4))
    seed = draw(st.integers(0, 2**31))
    rng = np.random.default_rng(seed)
    # Few distinct values, so ties and duplicates are common.
    return rng.integers(0, 6, n).astype(float), rng.integers(0, 4, (n, d)).astype(float)


@settings(max_examples=60, deadline=None)
@given(clouds())
def test_pareto_keeps_exactly_a_minimal_dominating_set(
    cloud: tuple[np.ndarray, np.ndarray],
) -> None:
    cost, logs = cloud
    keep = _pareto(cost, logs)
    # covers[i, j]: point i costs no more than j and is at least as high on every fleet.
    covers = (cost[:, None] <= cost[None, :]) & np.all(logs[:, None] >= logs[None, :], axis=2)
    k = np.asarray(keep)
    assert len(set(k.tolist())) == k.size
    sub = covers[np.ix_(k, k)]
    np.fill_diagonal(sub, False)
    assert not sub.any(), "a kept point is covered by another kept point"
    dropped = np.setdiff1d(np.arange(cost.size), k)
    assert np.all(covers[np.ix_(k, dropped)].any(axis=0)), "a dropped point is not covered"


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 3), st.integers(1, 3))
def test_lagrangian_bound_never_exceeds_the_cheapest_feasible_choice(
    seed: int, n_fam: int, n_fleets: int
) -> None:
    """Weak duality: with the LP duals λ, Σ_n min_x (c − λ·L) + λ·need is at most the
    cost of every choice (one option per family) meeting ``need``; checked against all
    choices.  And it is at least the bound with λ = 0 (Σ_n min c): the LP's duals
    maximise this Lagrangian bound, whose maximum is the LP optimum."""
    rng = np.random.default_rng(seed)
    options = []
    for _ in range(n_fam):
        k = int(rng.integers(1, 6))
        logs = rng.uniform(-1, 0, (k, n_fleets))
        options.append((np.zeros((k, 1, 1)), rng.normal(0, 100, k), logs))
    total = np.array([sum(o[2][j] for o, j in zip(options, pick, strict=True))
                      for pick in itertools.product(*[range(o[1].size) for o in options])])
    costs = np.array([sum(o[1][j] for o, j in zip(options, pick, strict=True))
                      for pick in itertools.product(*[range(o[1].size) for o in options])])
    need = np.quantile(total, 0.5, axis=0)
    feasible = np.all(total >= need, axis=1)
    if not feasible.any():
        return
    lam = _dual_prices(options, need)
    assert np.all(lam >= 0)
    bound = sum(float(np.min(o[1] - o[2] @ lam)) for o in options) + float(need @ lam)
    best = float(costs[feasible].min())
    assert bound <= best + 1e-7 * max(1.0, abs(best))
    assert bound >= sum(float(o[1].min()) for o in options) - 1e-7 * max(1.0, abs(best))


def _padded(seed: int) -> tuple[Any, Any, np.ndarray, np.ndarray, float]:
    """A random instance, the greedy plan on it, and that plan plus one needless unit."""
    _, a, t = multi_echelon_instance(seed)
    targets = np.full(a.fleet_system.size, t)
    hi = np.full_like(a.stock, ME_MAX)
    res = marginal_allocation(a, targets=targets, method=Method.VARI_METRIC, max_stock=hi)
    assert res.met
    cost = float(np.sum((res.stock - a.stock) * a.unit_cost[:, None]))
    room = np.argwhere(res.stock < hi)
    r, s = room[seed % room.shape[0]]
    stock = res.stock.copy()
    stock[r, s] += 1
    padded = type(res)(
        stock=stock, start_stock=res.start_stock, steps=res.steps,
        start_availability=res.start_availability, start_cost=res.start_cost, met=True,
    )
    return a, padded, targets, hi, cost


@pytest.mark.parametrize("seed", [3001, 3002, 3003, 3004])
def test_refine_keeps_the_targets_and_drops_a_needless_unit(seed: int) -> None:
    """A plan with an extra unit: the plan without it lies in the neighbourhood, so the
    result costs at most that, meets every target (independent evaluation) and stays in
    the box."""
    a, padded, targets, hi, greedy_cost = _padded(seed)
    out = refine_plan(a, padded, targets=targets, method=Method.VARI_METRIC, max_stock=hi)
    cost = float(np.sum((out.stock - a.stock) * a.unit_cost[:, None]))
    assert cost <= greedy_cost + 1e-9 * max(1.0, greedy_cost)
    assert np.all(out.stock >= a.stock) and np.all(out.stock <= hi)
    av = evaluate_arrays(a.with_stock(out.stock), method="vari-metric").availability
    assert np.all(av >= targets - TARGET_TOL)
    # The curve ends at the new plan, below which it keeps the greedy's points.
    assert out.steps[-1].cost == pytest.approx(cost, rel=1e-12)  # purchases over the held stock
    assert all(st.cost < out.steps[-1].cost for st in out.steps[:-1])
    np.testing.assert_allclose(out.steps[-1].availability, av, rtol=1e-9)


def test_refine_gives_up_on_size_and_leaves_the_plan(monkeypatch: pytest.MonkeyPatch) -> None:
    a, padded, targets, hi, _ = _padded(3001)
    monkeypatch.setattr(refine, "ROUND_WORK", 1)
    out = refine_plan(a, padded, targets=targets, method=Method.VARI_METRIC, max_stock=hi)
    assert out is padded


@pytest.mark.parametrize(("n_items", "called"), [(REFINE_MAX_PAIRS, True),
                                                 (REFINE_MAX_PAIRS + 1, False)])
def test_refine_runs_only_up_to_the_size_guard(
    monkeypatch: pytest.MonkeyPatch, n_items: int, called: bool
) -> None:
    """One site, so items × sites = items: the phase runs at the guard, not beyond."""
    calls: list[int] = []

    def spy(a: Any, res: Any, **kw: Any) -> Any:
        calls.append(a.n_items)
        return res

    monkeypatch.setattr(api, "refine_plan", spy)
    a = compile_scenario(scenario_from_dict(one_item(0.02, n_items=n_items)))
    optimize_arrays(a, target=0.999)
    assert bool(calls) is called


def test_refine_respects_minimum_stock() -> None:
    """The needless unit locked in by a minimum: kept, everything else still refined."""
    a, padded, targets, hi, _ = _padded(3002)
    lo = a.stock.copy()
    extra = np.argwhere(padded.stock > 0)
    lo[tuple(extra[0])] = padded.stock[tuple(extra[0])]
    out = refine_plan(a, padded, targets=targets, method=Method.VARI_METRIC, min_stock=lo,
                      max_stock=hi)
    assert np.all(out.stock >= lo) and np.all(out.stock <= hi)
    av = evaluate_arrays(a.with_stock(out.stock), method="vari-metric").availability
    assert np.all(av >= targets - TARGET_TOL)
