"""Each family's sequence of stocks for the robust plan, and its fleet terms in a draw.

The optimiser's objective separates by family (a top-level item and its sub-items,
:mod:`sustain.optimize.family`): a fleet's log-availability is the sum over families
of one term each, a term depending on that family's stock alone.  The robust search
(:mod:`sustain.sweep.robust`) therefore fixes, for every family, one sequence of
stocks, each one unit more than the last (its *chain*), and chooses a point on each
chain.  The chain is built on the scenario as given, by single-unit marginal
analysis within the family (Sherbrooke, *Optimal Inventory Modeling of Systems*,
2nd ed., 2004, ch. 2 and 4: the unit with the largest gain of Σ log A per money
next):

1. from the lowest stock allowed up to the nominal plan's stock of the family (only
   units that plan buys), so that the nominal plan is a point of every chain;
2. beyond it, any unit of the family at a site with demand, until every fleet's term
   of the family is within :data:`CHAIN_TAIL` of 0 (the family then keeps a fleet
   down for less than that share of the time) in the *worst corner* of the draws
   (every MTBF at its lowest multiplier drawn, every repair time, resupply time and
   tempo at its highest), so in every draw, or :data:`MAX_CHAIN_UNITS` units.

Every point of every chain is then evaluated in every draw with the same family
terms the optimiser uses (:meth:`~sustain.optimize.state.AllocationState.families_eval`,
which calls :mod:`sustain.readiness.metric`): one batch per draw.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sustain._types import FloatArray
from sustain.optimize.family import Family
from sustain.optimize.state import AllocationState
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays, compile_scenario
from sustain.scenario.model import Scenario
from sustain.sweep.factors import Scaling, apply_scaling

#: A chain ends once every fleet's term of the family is at least log(1 − CHAIN_TAIL)
#: in the worst corner of the draws (so in every draw): the family then takes less
#: than 0.01 % off any fleet's availability, a thousandth of the gap between 100 % and
#: a 90 % target.
CHAIN_TAIL = 1e-4
#: Most units a chain adds beyond the nominal plan.
MAX_CHAIN_UNITS = 400


@dataclass(frozen=True, slots=True, kw_only=True)
class Chain:
    """One family's stocks, one unit apart.

    Attributes
    ----------
    family : int
        Index in :func:`sustain.optimize.family.families_of` order.
    stocks : FloatArray
        (points × family rows × sites); point 0 is the lowest stock allowed.
    cost : FloatArray
        Purchases of the family at each point (point 0: 0).
    nominal : int
        The point that is the nominal plan's stock of the family.
    """

    family: int
    stocks: FloatArray
    cost: FloatArray
    nominal: int


def _candidates(state: AllocationState, fam: Family, cur: FloatArray, toward: FloatArray | None
                ) -> list[tuple[int, int]]:
    """(row in family, site) of the units the chain may add next."""
    hi = state.hi[fam.rows]
    demand = state.flows.demand[fam.rows]
    if toward is not None:
        rr, ss = np.nonzero(cur < toward)
    else:
        rr, ss = np.nonzero((demand > 0) & (cur + 1 <= hi))
    return list(zip(rr.tolist(), ss.tolist(), strict=True))


def worst_corner(scalings: list[Scaling]) -> Scaling:
    """The lowest MTBF multiplier and the highest repair, resupply and tempo multipliers
    of ``scalings``, entry by entry: no draw is worse for readiness."""
    return Scaling(mtbf=np.min([s.mtbf for s in scalings], axis=0),
                   repair=np.max([s.repair for s in scalings], axis=0),
                   ship=np.max([s.ship for s in scalings], axis=0),
                   tempo=np.max([s.tempo for s in scalings], axis=0))


def build_chains(a: ScenarioArrays, nominal: FloatArray, *, lo: FloatArray, hi: FloatArray,
                 method: Method, corner: ScenarioArrays | None = None) -> list[Chain]:
    """The chain of every family with fleets (see the module docstring).

    ``nominal`` is the nominal plan's stock (items × sites, within ``[lo, hi]``);
    ``corner`` the worst corner of the draws (:func:`worst_corner`; None: the scenario
    as given), where a chain's end is judged.  The families advance together, one unit
    each per round, so that each round is one batched evaluation.
    """
    state = AllocationState(a, weights=np.ones(a.fleet_system.size), lo=lo, hi=hi,
                            method=method)
    state.start_log_availability(evaluate_arrays(a.with_stock(lo), method=method))
    worst = state
    if corner is not None:
        worst = AllocationState(corner, weights=np.ones(a.fleet_system.size), lo=lo, hi=hi,
                                method=method)
        worst.start_log_availability(evaluate_arrays(corner.with_stock(lo), method=method))
    floor = math.log1p(-CHAIN_TAIL)
    live = [g for g, fam in enumerate(state.families) if fam.fleets.size]
    points: dict[int, list[FloatArray]] = {g: [lo[state.families[g].rows].copy()] for g in live}
    costs: dict[int, list[float]] = {g: [0.0] for g in live}
    nominal_at: dict[int, int] = {}
    beyond: dict[int, int] = dict.fromkeys(live, 0)
    active = list(live)
    while active:
        batch: list[tuple[Family, FloatArray]] = []
        picks: list[tuple[int, list[tuple[int, int]], bool]] = []
        for g in active:
            fam = state.families[g]
            cur = points[g][-1]
            target = nominal[fam.rows]
            first_leg = bool(np.any(cur < target))
            if not first_leg and g not in nominal_at:
                nominal_at[g] = len(points[g]) - 1
            cands = _candidates(state, fam, cur, target if first_leg else None)
            if not first_leg and (not cands or beyond[g] >= MAX_CHAIN_UNITS
                                  or float(np.min(worst.terms.current[g])) >= floor):
                continue
            copies = np.repeat(cur[None], len(cands), axis=0)
            for n, (j, s) in enumerate(cands):
                copies[n, j, s] += 1
            batch.append((fam, copies))
            picks.append((g, cands, first_leg))
        if not batch:
            break
        results = state.families_eval(batch)
        active = []
        chosen: list[tuple[int, Family, FloatArray]] = []
        for (g, cands, first_leg), (fam, copies), terms in zip(picks, batch, results,
                                                               strict=True):
            gain = np.sum(terms - state.terms.current[g][None, :], axis=1)
            unit = a.unit_cost[fam.rows[[j for j, _ in cands]]]
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = np.where(unit > 0, gain / np.maximum(unit, 1e-300),
                                 np.where(gain > 0, np.inf, gain))
            n = int(np.argmax(ratio))
            if not first_leg and not gain[n] > 0:
                continue  # no unit of the family helps any more
            points[g].append(copies[n])
            costs[g].append(costs[g][-1] + float(unit[n]))
            state.terms.assign(g, terms[n])
            if not first_leg:
                beyond[g] += 1
            active.append(g)
            chosen.append((g, fam, copies[n]))
        if worst is not state and chosen:
            for (g, _, _), t in zip(chosen, worst.families_eval(
                    [(fam, x[None]) for _, fam, x in chosen]), strict=True):
                worst.terms.assign(g, t[0])
    return [
        Chain(family=g, stocks=np.stack(points[g]), cost=np.array(costs[g]),
              nominal=nominal_at.get(g, len(points[g]) - 1))
        for g in live
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class TermsJob:
    """What a worker needs to evaluate the chains in a draw (small, picklable)."""

    scenario: Scenario
    chains: tuple[Chain, ...]
    lo: FloatArray
    hi: FloatArray
    method: Method


def draw_terms(job: TermsJob, scaling: Scaling) -> list[FloatArray]:
    """Every chain's fleet terms in the scaled scenario: one (points × family fleets)
    array per chain, in one batched evaluation."""
    a = compile_scenario(apply_scaling(job.scenario, scaling))
    state = AllocationState(a, weights=np.ones(a.fleet_system.size), lo=job.lo, hi=job.hi,
                            method=job.method)
    return state.families_eval([(state.families[c.family], c.stocks) for c in job.chains])


def terms_chunk(job: TermsJob, scalings: list[Scaling]) -> list[list[FloatArray]]:
    """:func:`draw_terms` of each scaling (top level, so worker processes import it)."""
    return [draw_terms(job, s) for s in scalings]
