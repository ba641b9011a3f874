"""The decomposition's plan for availability targets (``decompose.py``), stage by stage.

1. *Scale*: a few hundred families' whole curves under one price for every fleet;
   the price at which the fleets are, on average, at their targets (bisection), each
   fleet's target shortfall scaled to the sample's share of its families.
2. *Sample*: rounds on a larger sample of the families: each item's problem solved at
   the prices, then each fleet's price moved by a damped step towards its target.
3. *Every family*: each item's problem at those prices, chunk by chunk
   (``parallel.py``: one process, several, or Dask); the sample's goals recalibrated to
   what every family gave there, the sample's rounds again, and every item's problem
   at the prices found.

The result is a stock meeting the targets by the candidates' own terms, or close to
them (``met`` False); the caller evaluates it independently and tops it up where
needed.  ``seconds`` says where the time went.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.optimize import decompose
from sustain.optimize.decompose import (
    DAMPING,
    MAX_STEP,
    SAMPLE_FAMILIES,
    SCALE_FAMILIES,
    Candidates,
    Choice,
    Problem,
    choose,
    every_kth,
    make_chunks,
    scale_goal,
    targeted_families,
)
from sustain.optimize.family import families_of
from sustain.optimize.parallel import Builder
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays

#: Seconds spent building curves (in the caller, waiting for the workers) and choosing
#: points, over all stages of the last run.
CLOCKS = {"curves": 0.0, "choose": 0.0}
#: Bisection steps on the common price (log scale, from e^±60).
SCALE_STEPS = 60
#: Rounds of curves and search on the sample, and on every family.
SAMPLE_ROUNDS = 4
#: Each round aims every fleet's shortfall −log A at this share of its target's.
AIM = 0.995


@dataclass(slots=True)
class LagrangePlan:
    """The decomposition's stock, its prices and where the time went."""

    stock: FloatArray
    prices: FloatArray
    met: bool  # every target met by the candidates' terms
    cost: float
    seconds: dict[str, float] = field(default_factory=dict)
    families: int = 0
    chunks: int = 0
    points: int = 0


def _common_scale(c: Candidates, goal: FloatArray, base: FloatArray) -> tuple[float, float]:
    """The one price for every targeted fleet at which the targeted fleets' mean of
    log(d / D) is 0 (``d = −log A``, ``D = −log target``), by bisection on its log;
    and the slope of that mean against the log price there (``−d log d / d log λ``)."""
    tgt = ~np.isnan(goal)
    n_f = goal.size
    d_goal = np.maximum(-goal[tgt], 1e-300)

    def mean_log(x: float) -> float:
        ch = choose(c, np.where(tgt, np.exp(x), 0.0), n_f, base)
        return float(np.mean(np.log(np.maximum(-ch.log_a[tgt], 1e-300) / d_goal)))

    lo, hi = -60.0, 60.0
    for _ in range(SCALE_STEPS):
        mid = 0.5 * (lo + hi)
        if mean_log(mid) > 0:
            lo = mid  # short on average: dearer availability
        else:
            hi = mid
        if hi - lo < 1e-3:
            break
    slope = mean_log(hi - 0.5) - mean_log(hi + 0.5)
    return float(np.exp(hi)), slope


def _exact(builder: Builder, prices: FloatArray, base: FloatArray) -> tuple[Candidates, Choice]:
    """Every family's best point at ``prices`` (the Lagrangian problem solved exactly):
    the last point of its curve at those prices built down to a gain of 1 per money."""
    t0 = time.perf_counter()
    cands = builder.candidates(prices, 1.0)
    t1 = time.perf_counter()
    choice = choose(cands, prices, prices.size, base)
    CLOCKS["curves"] += t1 - t0
    CLOCKS["choose"] += time.perf_counter() - t1
    return cands, choice


def _rounds(
    builder: Builder, prices: FloatArray, goal: FloatArray, base: FloatArray, slope: float,
    rounds: int,
) -> tuple[Candidates, Choice]:
    """``rounds`` times: the exact solution at ``prices``, then each fleet's price moved
    towards ``d = AIM·D`` (``d = −log A``, ``D = −log target``), taking ``d ∝ λ^−slope``
    (``slope``: measured on a common price), damped (:data:`DAMPING`: fleets sharing
    items move together; at most :data:`MAX_STEP` in log).  The last solution is
    returned, with its prices."""
    tgt = ~np.isnan(goal)
    d_aim = np.maximum(-np.nan_to_num(goal, nan=-1.0) * AIM, 1e-300)
    cands, choice = _exact(builder, prices, base)
    for _ in range(rounds - 1):
        y = np.log(np.maximum(-choice.log_a, 1e-300))
        step = np.clip(DAMPING / max(slope, 0.2) * (y - np.log(d_aim)), -MAX_STEP, MAX_STEP)
        prices = np.where(tgt, prices * np.exp(step), 0.0)
        cands, choice = _exact(builder, prices, base)
    return cands, choice


def lagrange_plan(
    a: ScenarioArrays, goals: FloatArray, lo: FloatArray, hi: FloatArray, method: Method,
    *, workers: int = 1, dask_address: str | Any | None = None,
) -> LagrangePlan:
    """Stock from ``lo`` (within ``hi``) meeting availability ``goals`` (per fleet, NaN:
    none), by the decomposition; ``met`` False when the candidates fall short."""
    clock = time.perf_counter
    t0 = clock()
    CLOCKS.update(curves=0.0, choose=0.0)
    n_f = a.fleet_system.size
    tgt = ~np.isnan(goals) & (a.fleet_count > 0)
    goal = np.where(tgt, np.log(np.where(tgt, goals, 1.0)), np.nan)
    base = np.zeros(n_f)
    fams = families_of(a)
    every: IntArray = targeted_families(a, tgt)
    stock = lo.copy()
    if every.size == 0:
        return LagrangePlan(stock=stock, prices=np.zeros(n_f), met=True, cost=0.0)

    def problem(ids: IntArray, size: int | None = None) -> Problem:
        return Problem(a=a, lo=lo, hi=hi, method=method,
                       chunks=tuple(make_chunks(a, ids, fams, size)))

    seconds: dict[str, float] = {}
    full = problem(every)
    with Builder(full, workers=workers, dask_address=dask_address) as builder:
        # 1. A common price from whole curves of a small sample.
        few = every_kth(every, SCALE_FAMILIES)
        with Builder(problem(few, decompose.SAMPLE_CHUNK_FAMILIES), workers=workers,
                     dask_address=builder.client) as b:
            c = b.candidates(np.where(tgt, 1.0, 0.0), 0.0)
        scale, slope = _common_scale(c, scale_goal(a, every, few, goal), base)
        del c
        prices = np.where(tgt, scale, 0.0)
        t1 = clock()
        seconds["scale"] = t1 - t0
        # 2. Prices per fleet from rounds on a larger sample; 3. every family at those
        # prices, the sample's goals recalibrated to what every family gave there, the
        # sample's rounds again, and every family at the prices found.
        some = every_kth(every, SAMPLE_FAMILIES)
        s_goal = scale_goal(a, every, some, goal)
        if some.size < every.size:
            with Builder(problem(some, decompose.SAMPLE_CHUNK_FAMILIES), workers=workers,
                         dask_address=builder.client) as b:
                _, s_choice = _rounds(b, prices, s_goal, base, slope, SAMPLE_ROUNDS)
                prices = s_choice.prices
                t2 = clock()
                seconds["sample"] = t2 - t1
                cands, choice = _exact(builder, prices, base)
                t3 = clock()
                seconds["full"] = t3 - t2
                ratio = np.maximum(-s_choice.log_a, 1e-300) / np.maximum(-choice.log_a, 1e-300)
                _, s_choice = _rounds(b, prices, goal * ratio, base, slope, SAMPLE_ROUNDS)
                prices = s_choice.prices
                t4 = clock()
                seconds["sample"] += t4 - t3
        else:
            t4 = clock()
            seconds["sample"] = 0.0
            seconds["full"] = 0.0
        cands, choice = _rounds(builder, prices, goal, base, slope,
                                1 if some.size < every.size else SAMPLE_ROUNDS)
    seconds["full"] += clock() - t4
    tg = ~np.isnan(goal)
    met = bool(np.all(choice.log_a[tg] >= goal[tg]))
    stock[cands.top] = cands.stock[choice.point]
    seconds.update({f"{k} (all stages)": v for k, v in CLOCKS.items()})
    return LagrangePlan(
        stock=stock, prices=choice.prices, met=met, cost=choice.cost, seconds=seconds,
        families=int(every.size), chunks=len(full.chunks), points=int(cands.units.size),
    )
