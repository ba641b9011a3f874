"""The Lagrangian decomposition (``search="lagrange"``): targets met by an independent
evaluation, its cost against brute force, the parametric problem's monotonicity, and the
same plan on one process, two, and a Dask LocalCluster."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from benchmarks.evaluate import build
from benchmarks.optimize_cases import (
    ME_MAX,
    METHOD,
    TARGET_TOL,
    brute_min_cost,
    multi_echelon_instance,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from sustain.errors import SustainError
from sustain.optimize import decompose, greedy, lagrange, scale
from sustain.optimize.api import optimize_arrays
from sustain.optimize.decompose import Problem, choose, make_chunks, targeted_families
from sustain.optimize.family import families_of
from sustain.optimize.greedy import marginal_allocation
from sustain.optimize.parallel import Builder
from sustain.optimize.state import AllocationState
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays

SEEDS = range(2000, 2006)
#: Decomposition and repair alone (no neighbourhood search) on these tiny instances: at
#: most this far above the brute-force optimum (measured: median about 1.07, worst 1.41
#: on seeds 2000–2029: with two to four items the multipliers' knapsack gap is large).
TINY_GAP = 1.5


@pytest.mark.parametrize("seed", SEEDS)
def test_tiny_instances_meet_targets_near_brute_force(seed: int) -> None:
    """Targets met by a full evaluation of the plan; cost between the brute-force
    optimum and TINY_GAP times it; with the neighbourhood search (the default on
    small cases) no dearer than the greedy's own plan."""
    _, a, t = multi_echelon_instance(seed)
    hi = np.full_like(a.stock, ME_MAX)
    bf = brute_min_cost(a, np.full(a.fleet_system.size, t), a.stock, hi)
    assert bf is not None
    bare = optimize_arrays(a, target=t, max_stock=hi, method=METHOD, search="lagrange",
                           refine_seconds=0)
    ev = evaluate_arrays(a.with_stock(bare.evaluation.arrays.stock), method=METHOD)
    assert np.all(ev.availability >= t - TARGET_TOL)
    assert np.all(bare.evaluation.arrays.stock <= ME_MAX)
    assert bf.cost * (1 - 1e-9) <= bare.purchase_cost <= TINY_GAP * bf.cost + 1e-9
    full = optimize_arrays(a, target=t, max_stock=hi, method=METHOD, search="lagrange")
    greedy = optimize_arrays(a, target=t, max_stock=hi, method=METHOD, search="greedy")
    assert full.purchase_cost <= greedy.purchase_cost * (1 + 1e-9)


def _zero(n_items: int, n_bases: int) -> ScenarioArrays:
    a = build(n_items, n_bases, n_systems=3, seed=5)
    return a.with_stock(np.zeros_like(a.stock))


def test_medium_case_close_to_the_greedy(monkeypatch: pytest.MonkeyPatch) -> None:
    """150 items × 4 bases, every fleet to 0.9 from zero stock, through the sample
    stages (samples smaller than the scenario): targets met on re-evaluation, and the
    cost within 3 % of the greedy's (no neighbourhood search on either)."""
    monkeypatch.setattr(decompose, "CHUNK_FAMILIES", 40)
    monkeypatch.setattr(lagrange, "SAMPLE_FAMILIES", 60)
    monkeypatch.setattr(lagrange, "SCALE_FAMILIES", 30)
    a = _zero(150, 4)
    opt = optimize_arrays(a, target=0.9, search="lagrange", refine_seconds=0)
    ev = evaluate_arrays(a.with_stock(opt.evaluation.arrays.stock))
    assert np.all(ev.availability >= 0.9 - 1e-9)
    greedy = optimize_arrays(a, target=0.9, search="greedy", refine_seconds=0)
    assert opt.purchase_cost <= 1.03 * greedy.purchase_cost


@settings(max_examples=15, deadline=None)
@given(s1=st.floats(-3.0, 3.0), s2=st.floats(-3.0, 3.0))
def test_higher_price_never_lowers_the_priced_availability(s1: float, s2: float) -> None:
    """The items' problems at prices s·λ: at the higher s the solution's priced
    availability Σ λ_f log A_f is no lower and its cost no lower (from the optimality of
    each at its own price: (s2 − s1)(V2 − V1) ≥ 0 and likewise for the cost)."""
    a = _CASE
    lo, hi = a.stock.copy(), np.full_like(a.stock, np.inf)
    tgt = np.ones(a.fleet_system.size, dtype=bool)
    problem = Problem(a=a, lo=lo, hi=hi, method=Method.VARI_METRIC,
                      chunks=tuple(make_chunks(a, targeted_families(a, tgt))))
    base = _PRICES
    lo_s, hi_s = sorted((s1, s2))
    with Builder(problem) as b:
        one = [choose(c, base * np.exp(s), base.size, np.zeros(base.size))
               for s, c in ((x, b.candidates(base * np.exp(x), 1.0)) for x in (lo_s, hi_s))]
    v = [float(base @ ch.log_a) for ch in one]
    assert v[1] >= v[0] - 1e-9 * max(1.0, abs(v[0]))
    assert one[1].cost >= one[0].cost * (1 - 1e-12)


_CASE = _zero(12, 3)
_PRICES = np.linspace(2e6, 8e6, _CASE.fleet_system.size)


def _plan(a: ScenarioArrays, **kw: object) -> np.ndarray:
    return optimize_arrays(a, target=0.9, search="lagrange", refine_seconds=0,
                           **kw).evaluation.arrays.stock  # type: ignore[arg-type]


def test_same_plan_on_one_and_two_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Chunks are fixed by the scenario: the plan is the same for any worker count."""
    monkeypatch.setattr(decompose, "CHUNK_FAMILIES", 20)
    monkeypatch.setattr(decompose, "SAMPLE_CHUNK_FAMILIES", 8)
    monkeypatch.setattr(lagrange, "SAMPLE_FAMILIES", 40)
    monkeypatch.setattr(lagrange, "SCALE_FAMILIES", 20)
    a = _zero(90, 3)
    one = _plan(a)
    np.testing.assert_array_equal(_plan(a, workers=2), one)


def test_same_plan_on_a_dask_local_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Dask LocalCluster (2 workers, one thread each) gives the same plan."""
    distributed = pytest.importorskip("dask.distributed")
    monkeypatch.setattr(decompose, "CHUNK_FAMILIES", 20)
    monkeypatch.setattr(decompose, "SAMPLE_CHUNK_FAMILIES", 8)
    monkeypatch.setattr(lagrange, "SAMPLE_FAMILIES", 40)
    monkeypatch.setattr(lagrange, "SCALE_FAMILIES", 20)
    a = _zero(90, 3)
    with (
        distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                 dashboard_address=":0") as cluster,
        distributed.Client(cluster) as client,
    ):
        by_dask = _plan(a, dask_address=client)
    np.testing.assert_array_equal(by_dask, _plan(a))


def test_builder_gives_every_chunk_in_order_on_two_processes() -> None:
    """Chunks owned by workers (k mod 2) come back in chunk order: the same candidates
    as in this process, for an odd number of chunks."""
    a = _zero(30, 3)
    n = a.fleet_system.size
    every = targeted_families(a, np.ones(n, dtype=bool))
    lo, hi = a.stock.copy(), np.full_like(a.stock, np.inf)
    prob = Problem(a=a, lo=lo, hi=hi, method=Method.VARI_METRIC,
                   chunks=tuple(make_chunks(a, every, size=10)))
    assert len(prob.chunks) % 2 == 1
    prices = np.linspace(0.5, 2.0, n)
    with Builder(prob) as one, Builder(prob, workers=2) as two:
        assert len(two.pools) == 2
        for cut in (0.0, 1.0):
            x, y = one.candidates(prices, cut), two.candidates(prices, cut)
            for name in ("top", "first", "units", "stock", "pair_point", "pair_fleet", "term"):
                np.testing.assert_array_equal(getattr(x, name), getattr(y, name))


def test_answers_are_the_last_points_of_the_curves(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each family's answer at the prices (found without its curve) is the last point
    of its curve built down to a gain of 1 per money, at prices from buying little to
    buying much."""
    a = _zero(60, 3)
    n = a.fleet_system.size
    every = targeted_families(a, np.ones(n, dtype=bool))
    prob = Problem(a=a, lo=a.stock.copy(), hi=np.full_like(a.stock, np.inf),
                   method=Method.VARI_METRIC, chunks=tuple(make_chunks(a, every)))
    state = decompose.chunk_state(prob, prob.chunks[0])
    rows = prob.chunks[0].rows
    whole = decompose.build_curves
    rng = np.random.default_rng(3)
    bought = []
    for scale_ in 10.0 ** np.arange(6, 13, 2):
        prices = scale_ * np.exp(rng.normal(0.0, 0.5, n))
        fast = decompose.chunk_candidates(state, rows, prices, 1.0)
        with monkeypatch.context() as m:
            m.setattr(decompose, "build_curves",
                      lambda st, fams, cut=0.0, rel=0.0, answer=False: whole(st, fams, cut=cut))
            slow = decompose.chunk_candidates(state, rows, prices, 1.0)
        np.testing.assert_array_equal(fast.stock, slow.stock)
        np.testing.assert_allclose(fast.term, slow.term, rtol=1e-12, atol=0)
        bought.append(fast.units.sum())
    assert bought[0] < bought[-1]


def test_repair_near_the_margin_first(monkeypatch: pytest.MonkeyPatch) -> None:
    """The repair buying first for a few families near the margin (and for all of them
    when those are not enough) meets every target on re-evaluation, at a cost close to
    the greedy's; the families it picks serve a short fleet."""
    a = _zero(150, 4)
    t = np.full(a.fleet_system.size, 0.9)
    greedy = optimize_arrays(a, target=0.9, search="greedy", refine_seconds=0)
    start = evaluate_arrays(a)
    monkeypatch.setattr(scale, "REPAIR_MIN_FAMILIES", 3)
    near = scale.repair_families(a, start, t)
    fams = families_of(a)
    short = start.availability < t
    assert near is not None and 3 <= near.size < len(fams)
    assert all(short[fams[n].fleets].any() for n in near.tolist())
    # One family a fleet is too few here: the greedy over all of them follows.
    for least, share in ((3, 0.1), (1, 1e-6)):
        monkeypatch.setattr(scale, "REPAIR_MIN_FAMILIES", least)
        monkeypatch.setattr(scale, "REPAIR_SHARE", share)
        opt = optimize_arrays(a, target=0.9, search="lagrange", refine_seconds=0)
        ev = evaluate_arrays(a.with_stock(opt.evaluation.arrays.stock))
        assert np.all(ev.availability >= 0.9 - 1e-9)
        assert opt.purchase_cost <= 1.03 * greedy.purchase_cost


def test_repair_curves_cut_at_the_prices_give_the_same_repair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The repair's first curves built only down to a share of the marginal ratio at the
    decomposition's prices (and extended on demand) buy what the curves built down to
    INITIAL_CUT of each item's best unit buy: targets met, cost within 0.1 %."""
    monkeypatch.setattr(decompose, "CHUNK_FAMILIES", 40)
    monkeypatch.setattr(lagrange, "SAMPLE_FAMILIES", 60)
    monkeypatch.setattr(lagrange, "SCALE_FAMILIES", 30)
    a = _zero(300, 5)
    goals = np.full(a.fleet_system.size, 0.93)
    lo, hi = scale.stock_bounds(a, None, None)
    plan = lagrange.lagrange_plan(a, goals, lo, hi, Method.VARI_METRIC)
    start = evaluate_arrays(a.with_stock(plan.stock))
    assert np.any(start.availability < goals)  # the repair has work to do
    cut = scale.repair_cut(plan.prices, start, goals)
    assert cut is not None and cut > 0
    assert scale.repair_cut(np.zeros_like(plan.prices), start, goals) is None
    points: list[int] = []  # curve points in each call of build_curves
    build = greedy.build_curves

    def counted(state: AllocationState, fams: list[Any], *args: Any, **kw: Any) -> None:
        build(state, fams, *args, **kw)
        points.append(sum(f.curve.units.size for f in fams if f.curve is not None))

    monkeypatch.setattr(greedy, "build_curves", counted)
    costs, first = [], []
    for first_cut in (None, cut):
        points.clear()
        res = marginal_allocation(a, targets=goals, min_stock=plan.stock, start=start,
                                  first_cut=first_cut)
        ev = evaluate_arrays(a.with_stock(res.stock))
        assert res.met and np.all(ev.availability >= goals - 1e-9)
        costs.append(float(np.sum((res.stock - plan.stock) * a.unit_cost[:, None])))
        first.append(points[0])
    assert first[1] < first[0]  # shorter first curves, extended where the greedy went on
    assert abs(costs[1] - costs[0]) <= 1e-3 * float(np.sum(plan.stock * a.unit_cost[:, None]))


def test_options_are_checked() -> None:
    a = _CASE
    with pytest.raises(SustainError, match="search must be one of"):
        optimize_arrays(a, target=0.9, search="fast")
    with pytest.raises(SustainError, match="workers must be a whole number"):
        optimize_arrays(a, target=0.9, workers=0)
    with pytest.raises(SustainError, match="search lagrange works with availability targets"):
        optimize_arrays(a, budget=1e6, search="lagrange")


@pytest.mark.parametrize(("n", "size", "count"), [
    (100_000, 2048, 54), (10_000, 2048, 6), (300, 256, 2), (1500, 256, 6), (30, 10, 3),
    (13, 1, 13), (5, 7, 1), (50, 20, 3),
])
def test_chunks_are_equal_and_split_evenly(n: int, size: int, count: int) -> None:
    """1, 2, 3 or a multiple of 6 chunks (never more than the families), of sizes
    differing by at most one, covering the families in order."""
    assert decompose.chunk_count(n, size) == count
    a = _zero(n, 2) if n <= 1500 else None
    if a is not None:
        every = targeted_families(a, np.ones(a.fleet_system.size, dtype=bool))
        chunks = make_chunks(a, every, size=size)
        sizes = [c.families.size for c in chunks]
        assert len(chunks) == count and max(sizes) - min(sizes) <= 1
        np.testing.assert_array_equal(np.concatenate([c.families for c in chunks]), every)
