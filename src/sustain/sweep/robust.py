"""The robust plan: the cheapest stock that meets the targets in a share of the draws.

Problem
-------
For draws ``s = 1..S`` from the ``uncertainty:`` section (:mod:`sustain.sweep.sample`),
find the stock ``x`` of least purchase cost such that every fleet ``f`` with a target
``t_f`` meets it in at least ``m = ⌈c·S⌉`` draws, ``c`` the confidence:

    min cost(x)  subject to  #{s : A_f(x; s) ≥ t_f} ≥ m  for every fleet f.

This is the sample-average approximation of the chance-constrained problem
``P(A_f(x) ≥ t_f) ≥ c`` (Luedtke and Ahmed, *SIAM J. Optim.* 19, 2008, problem (2);
Kleywegt, Shapiro and Homem-de-Mello, *SIAM J. Optim.* 12, 2002, on the convergence of
such sample problems as ``S`` grows).  Each fleet's constraint is separate (an
individual chance constraint); the share of draws in which every fleet meets its
target at once is reported as well.

Method
------
Exact solutions pick which ``S − m`` draws to give up, a combinatorial problem (a
mixed-integer programme in Luedtke and Ahmed).  Sustain uses a greedy on the sampled
scenarios instead, on the family decomposition of the optimiser:

1. Each family's *chain* of stocks (:mod:`sustain.sweep.chains`) is evaluated in
   every draw, giving its fleet terms ``T_g(k; s)`` at each point ``k``; a fleet's
   log-availability in draw ``s`` is ``Σ_g T_g(k_g; s)``, the same formula as
   ``sustain evaluate``.
2. Start at the nominal plan (``sustain optimize --target``), a point of every chain.
3. While some fleet meets its target in fewer than ``m`` draws: for that fleet keep the
   ``m`` draws in which it is closest to its target (the draws it is cheapest to
   satisfy), and move the family whose next 1 to :data:`LOOKAHEAD` units give the
   largest gain per money of ``Σ_f Σ_{s kept} min(log A_f(s), log t_f)`` (the
   shortfall over the kept draws, capped at the target as in the optimiser's greedy).
4. Prune: step families back along their chains, the dearest unit first, below the
   nominal plan too, while every fleet still meets its target in ``m`` draws; then
   exchange a unit for cheaper ones (a single move on another chain, else the
   greedy) and prune again, until nothing cheaper is found.

The shares of the build draws meeting each target (``p_build``) come from the
search's family terms; the tests check them against ``evaluate_arrays`` draw by draw.
Both plans are then evaluated afresh with
:func:`sustain.readiness.evaluate.evaluate_arrays` in fresh draws the search never saw
(``p_check``, drawn with a different seed stream), with a Clopper–Pearson interval.
The plan's limits: each family stays on its chain (units added in the order that suits
the scenario as given), and the greedy does not prove optimality; the tests compare
it with brute force on small cases.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.errors import SustainError
from sustain.optimize import TargetUnreachable
from sustain.optimize.api import (
    REFINE_SECONDS,
    Optimization,
    fleet_targets,
    optimize_arrays,
    stock_limits,
)
from sustain.optimize.family import families_of
from sustain.optimize.state import stock_bounds
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays, compile_scenario
from sustain.scenario.model import Scenario
from sustain.simulate.dispatch import Progress, map_chunks
from sustain.sweep.chains import Chain, TermsJob, build_chains, terms_chunk, worst_corner
from sustain.sweep.factors import Scaling, SweepError, apply_scaling
from sustain.sweep.sample import MAX_SAMPLES, draw, random_inputs

#: A move may take a family up to this many units along its chain at once (a unit
#: that helps little alone may open the way for the next).
LOOKAHEAD = 4
#: Most exchanges tried after the prune (each followed by a prune).
EXCHANGE_PASSES = 50
#: Availability within this of a target meets it (as in ``sustain optimize``).
MEET_TOL = 1e-9
#: Default number of fresh draws the plan is checked on.
CHECK_SAMPLES = 500
#: The fresh draws' seed is the first word of ``SeedSequence([seed, CHECK_STREAM])``:
#: a stream of its own, never the design the plan was built on.
CHECK_STREAM = 1
#: Two-sided level of the binomial intervals reported.
CI_LEVEL = 0.95


def check_seed(seed: int) -> int:
    """The seed of the fresh draws, derived from ``seed`` (see :data:`CHECK_STREAM`)."""
    state = np.random.SeedSequence([seed, CHECK_STREAM]).generate_state(1, dtype=np.uint32)
    return int(state[0])


def clopper_pearson(k: int, n: int, level: float = CI_LEVEL) -> tuple[float, float]:
    """The exact (Clopper–Pearson, *Biometrika* 26, 1934) interval for a binomial
    probability after ``k`` successes in ``n`` trials."""
    from scipy.special import betaincinv

    alpha = 1.0 - level
    low = 0.0 if k == 0 else float(betaincinv(k, n - k + 1, alpha / 2))
    high = 1.0 if k == n else float(betaincinv(k + 1, n - k, 1 - alpha / 2))
    return low, high


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanCheck:
    """How often a plan meets the targets in a set of draws.

    Attributes
    ----------
    draws : int
    met : IntArray
        Per fleet, the draws meeting its target (0 for a fleet without one).
    all_met : int
        Draws in which every fleet with a target meets it.
    availability : FloatArray
        (draws × fleets) availability of the plan.
    """

    draws: int
    met: IntArray
    all_met: int
    availability: FloatArray

    def p(self) -> FloatArray:
        """Per fleet, the share of draws meeting its target."""
        return np.asarray(self.met / max(self.draws, 1), dtype=np.float64)

    def p_all(self) -> float:
        """The share of draws in which every fleet with a target meets it."""
        return self.all_met / max(self.draws, 1)


def _check(avail: FloatArray, targets: FloatArray, counts: FloatArray) -> PlanCheck:
    has = ~np.isnan(targets) & (counts > 0)
    meets = np.nan_to_num(avail, nan=1.0) >= targets - MEET_TOL
    met = np.where(has, np.sum(meets, axis=0), 0).astype(np.int64)
    return PlanCheck(draws=avail.shape[0], met=met,
                     all_met=int(np.sum(np.all(meets[:, has], axis=1))), availability=avail)


@dataclass(frozen=True, slots=True, kw_only=True)
class RobustPlan:
    """A plan meeting the targets in a share of the draws, with the nominal plan.

    Attributes
    ----------
    robust, nominal : Optimization
        The robust plan and the nominal one (``sustain optimize --target``), each
        evaluated on the scenario as given.
    confidence : float
    samples, seed : int
        The draws the plan was built on.
    check_seed : int
        Seed of the fresh draws.
    required : int
        Draws each fleet must meet its target in (⌈confidence · samples⌉).
    robust_build, nominal_build : PlanCheck
        Each plan in the draws the robust plan was built on (from the search's family
        terms, the same formula as ``sustain evaluate``).
    robust_check, nominal_check : PlanCheck
        Each plan in the fresh draws.
    fleets : tuple of (str, str)
    targets, counts : FloatArray
    target : float or mapping
        As given.
    """

    robust: Optimization
    nominal: Optimization
    confidence: float
    samples: int
    seed: int
    check_seed: int
    required: int
    robust_build: PlanCheck
    nominal_build: PlanCheck
    robust_check: PlanCheck
    nominal_check: PlanCheck
    fleets: tuple[tuple[str, str], ...]
    targets: FloatArray
    counts: FloatArray
    target: float | Mapping[str, float]

    @property
    def cost_of_robustness(self) -> float:
        """Robust plan's purchases less the nominal plan's."""
        return self.robust.purchase_cost - self.nominal.purchase_cost

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``sustain optimize --confidence --json``."""
        doc = self.robust.to_dict()
        n = self.robust_check.draws

        def ci(k: int) -> list[float]:
            return list(clopper_pearson(k, n))

        fleets = []
        for j, (k, s) in enumerate(self.fleets):
            t = float(self.targets[j])
            if math.isnan(t) or self.counts[j] <= 0:
                continue
            fleets.append({
                "system": k, "site": s, "target": t,
                "p_nominal_build": float(self.nominal_build.p()[j]),
                "p_robust_build": float(self.robust_build.p()[j]),
                "p_nominal_check": float(self.nominal_check.p()[j]),
                "p_robust_check": float(self.robust_check.p()[j]),
                "p_robust_check_ci": ci(int(self.robust_check.met[j])),
            })
        doc["robust"] = {
            "confidence": self.confidence,
            "samples": self.samples,
            "seed": self.seed,
            "required_draws": self.required,
            "check_samples": n,
            "check_seed": self.check_seed,
            "ci_level": CI_LEVEL,
            "nominal_cost": self.nominal.purchase_cost,
            "robust_cost": self.robust.purchase_cost,
            "cost_of_robustness": self.cost_of_robustness,
            "nominal_purchases": self.nominal.purchases(),
            "fleets": fleets,
            "p_all_nominal_build": self.nominal_build.p_all(),
            "p_all_robust_build": self.robust_build.p_all(),
            "p_all_nominal_check": self.nominal_check.p_all(),
            "p_all_robust_check": self.robust_check.p_all(),
            "p_all_robust_check_ci": ci(self.robust_check.all_met),
        }
        return doc


def _goals(targets: FloatArray, counts: FloatArray) -> FloatArray:
    """log t_f for fleets with a target above 0 and systems; NaN otherwise."""
    ok = ~np.isnan(targets) & (targets > 0) & (counts > 0)
    return np.where(ok, np.log(np.where(ok, targets, 1.0)), np.nan)


class _Search:
    """The chain positions and each draw's log-availability (draws × fleets)."""

    def __init__(self, chains: list[Chain], terms: list[list[FloatArray]], fleets_of: list[
            IntArray], n_fleets: int, goals: FloatArray, required: int) -> None:
        self.chains = chains
        # tables[c]: (draws × points × family fleets)
        self.tables = [np.stack([t[c] for t in terms]) for c in range(len(chains))]
        self.fleets_of = fleets_of
        self.goals = goals
        self.required = required
        self.pos = np.array([c.nominal for c in chains], dtype=np.int64)
        self.log_a = np.zeros((len(terms), n_fleets))
        self.log_a = self.log_a_at(self.pos)

    def log_a_at(self, pos: IntArray) -> FloatArray:
        """(draws × fleets) log-availability with the chains at ``pos``."""
        log_a = np.zeros_like(self.log_a)
        for c, tab in enumerate(self.tables):
            log_a[:, self.fleets_of[c]] += tab[:, pos[c], :]
        return log_a

    def met_counts(self, log_a: FloatArray) -> FloatArray:
        """Per fleet, draws meeting the target (inf for a fleet without one)."""
        meets = log_a >= self.goals[None, :] - MEET_TOL
        return np.where(np.isnan(self.goals), np.inf, np.sum(meets, axis=0))

    def short(self) -> FloatArray:
        """Fleets meeting their target in fewer than ``required`` draws (bool)."""
        return np.asarray(self.met_counts(self.log_a) < self.required)

    def kept(self, short: FloatArray) -> FloatArray:
        """(draws × fleets) True for the ``required`` draws closest to each short
        fleet's target (ties: the earlier draw)."""
        keep = np.zeros(self.log_a.shape, dtype=bool)
        for f in np.flatnonzero(short).tolist():
            order = np.argsort(-self.log_a[:, f], kind="stable")
            keep[order[: self.required], f] = True
        return keep

    def best_move(self) -> tuple[int, int] | None:
        """(chain, units) of the largest gain per money, None when nothing gains."""
        short = self.short()
        keep = self.kept(short)
        goal = np.where(np.isnan(self.goals), np.inf, self.goals)
        best: tuple[float, int, int] | None = None
        for c, chain in enumerate(self.chains):
            fl = self.fleets_of[c]
            if not np.any(short[fl]):
                continue
            tab, p = self.tables[c], int(self.pos[c])
            top = min(p + LOOKAHEAD, tab.shape[1] - 1)
            if top == p:
                continue
            la, k, g = self.log_a[:, fl], keep[:, fl], goal[fl]
            now = np.minimum(la, g)
            for q in range(p + 1, top + 1):
                new = np.minimum(la + tab[:, q, :] - tab[:, p, :], g)
                gain = float(np.sum(np.where(k, new - now, 0.0)))
                money = float(chain.cost[q] - chain.cost[p])
                if gain <= 1e-15:
                    continue
                ratio = math.inf if money <= 0 else gain / money
                if best is None or ratio > best[0]:
                    best = (ratio, c, q - p)
        return None if best is None else (best[1], best[2])

    def move(self, c: int, to: int) -> None:
        """Put chain ``c`` at point ``to``."""
        tab, p = self.tables[c], int(self.pos[c])
        self.log_a[:, self.fleets_of[c]] += tab[:, to, :] - tab[:, p, :]
        self.pos[c] = to

    def prune(self) -> None:
        """Step chains back, the dearest last unit first, while no fleet falls short."""
        changed = True
        while changed:
            changed = False
            order = sorted(
                (c for c in range(len(self.chains)) if self.pos[c] > 0),
                key=lambda c: -(self.chains[c].cost[self.pos[c]]
                                - self.chains[c].cost[self.pos[c] - 1]))
            for c in order:
                while self.pos[c] > 0:
                    p = int(self.pos[c])
                    fl = self.fleets_of[c]
                    trial = self.log_a[:, fl] + self.tables[c][:, p - 1, :] \
                        - self.tables[c][:, p, :]
                    log_a = self.log_a.copy()
                    log_a[:, fl] = trial
                    if np.any(self.met_counts(log_a)[fl] < self.required):
                        break
                    self.move(c, p - 1)
                    changed = True


    def fill(self, budget: float = math.inf) -> float | None:
        """Greedy moves until no fleet is short; their cost, or None when nothing gains
        or the cost would reach ``budget`` (the moves made are kept either way)."""
        spent = 0.0
        while np.any(self.short()):
            mv = self.best_move()
            if mv is None:
                return None
            c, units = mv
            p = int(self.pos[c])
            spent += float(self.chains[c].cost[p + units] - self.chains[c].cost[p])
            self.move(c, p + units)
            if spent >= budget - 1e-9:
                return None
        return spent

    def cost(self) -> float:
        """Purchases at the current positions (from each chain's start)."""
        return float(sum(ch.cost[int(p)] for ch, p in zip(self.chains, self.pos, strict=True)))

    def swap(self, budget: float) -> bool:
        """One chain moved up by 1 to :data:`LOOKAHEAD` units costing less than
        ``budget`` that leaves no fleet short (the cheapest such move is made)."""
        moves = []
        for c, chain in enumerate(self.chains):
            p = int(self.pos[c])
            for q in range(p + 1, min(p + LOOKAHEAD, chain.cost.size - 1) + 1):
                money = float(chain.cost[q] - chain.cost[p])
                if money < budget - 1e-9:
                    moves.append((money, c, q))
        for _, c, q in sorted(moves):
            fl = self.fleets_of[c]
            log_a = self.log_a.copy()
            log_a[:, fl] += self.tables[c][:, q, :] - self.tables[c][:, int(self.pos[c]), :]
            if not np.any(self.met_counts(log_a) < self.required):
                self.move(c, q)
                return True
        return False

    def exchange(self) -> bool:
        """Remove one unit (the dearest last unit of a chain first) and refill with the
        greedy, kept only when the refill costs less than the unit removed (a 1-for-k
        exchange, as the optimiser's local search); True when one was kept."""
        order = sorted((c for c in range(len(self.chains)) if self.pos[c] > 0),
                       key=lambda c: -(self.chains[c].cost[self.pos[c]]
                                       - self.chains[c].cost[self.pos[c] - 1]))
        for c in order:
            saved_pos, saved_log_a = self.pos.copy(), self.log_a.copy()
            p = int(self.pos[c])
            unit = float(self.chains[c].cost[p] - self.chains[c].cost[p - 1])
            self.move(c, p - 1)
            if self.swap(unit):
                return True
            refill = self.fill(budget=unit)
            if refill is not None and refill < unit - 1e-9:
                return True
            self.pos, self.log_a = saved_pos, saved_log_a
        return False


def _stock(a: ScenarioArrays, lo: FloatArray, chains: list[Chain], fam_rows: list[IntArray],
           pos: IntArray) -> FloatArray:
    stock = lo.copy()
    for c, chain in enumerate(chains):
        stock[fam_rows[c]] = chain.stocks[int(pos[c])]
    return stock


@dataclass(frozen=True, slots=True, kw_only=True)
class _PlansJob:
    scenario: Scenario
    stocks: tuple[FloatArray, ...]
    method: Method


def _plans_chunk(job: _PlansJob, scalings: list[Scaling]) -> list[FloatArray]:
    """Each plan's availability per fleet in each scaled scenario (plans × fleets)."""
    out = []
    for s in scalings:
        a = compile_scenario(apply_scaling(job.scenario, s))
        out.append(np.stack([evaluate_arrays(a.with_stock(x), method=job.method).availability
                             for x in job.stocks]))
    return out


def _as_optimization(a: ScenarioArrays, stock: FloatArray, targets: FloatArray,
                     method: Method, before: Optimization) -> Optimization:
    ev = evaluate_arrays(a.with_stock(stock), method=method)
    cost = float(np.sum((stock - a.stock) * a.unit_cost[:, None]))
    start = before.curve_cost[:1]
    return Optimization(
        evaluation=ev, held=a.stock, targets=targets, budget=None,
        curve_cost=np.array([float(start[0]), cost]),
        curve_availability=np.stack([before.curve_availability[0], ev.availability]),
        before=before.before, weights=before.weights)


def robust_optimize(
    scenario: Scenario,
    *,
    target: float | Mapping[str, float],
    confidence: float,
    samples: int = 200,
    seed: int = 7,
    check_samples: int = CHECK_SAMPLES,
    method: Method | str = Method.VARI_METRIC,
    refine_seconds: float = REFINE_SECONDS,
    workers: int = 1,
    dask_address: str | Any | None = None,
    progress: Progress | None = None,
) -> RobustPlan:
    """The cheapest stock found that meets ``target`` in ``confidence`` of the draws.

    Parameters
    ----------
    scenario : Scenario
        With an ``uncertainty:`` section; its stock is held, its ``stock_limits``
        bound the plan.
    target : float or mapping
        As for :func:`sustain.optimize`.
    confidence : float
        Above 0, below 1: the share of draws in which each fleet must meet its target.
    samples, seed : int
        The draws the plan is built on (Latin hypercube, :mod:`sustain.sweep.sample`).
    check_samples : int
        Fresh draws (another seed stream, :func:`check_seed`) both plans are checked on.
    method, refine_seconds
        As for :func:`sustain.optimize` (the nominal plan).
    workers, dask_address
        Where the draws are evaluated (as for :func:`sustain.sweep.propagate`); the
        plan and the numbers are the same whatever the split.
    progress : callable, optional
        ``progress(done, total)``: draws evaluated so far, the draws the plan is built
        on first, then the fresh ones.

    Raises
    ------
    SweepError
        No ``uncertainty:`` section, a confidence outside (0, 1), a number of samples
        out of range.
    TargetUnreachable
        The stock limits keep a fleet from meeting its target in enough draws.
    """
    if not (isinstance(confidence, int | float) and 0 < confidence < 1):
        raise SweepError(f"confidence must be above 0 and below 1: got {confidence}")
    for name, n in (("samples", samples), ("check_samples", check_samples)):
        if not 1 <= n <= MAX_SAMPLES:
            raise SweepError(f"{name} {n}: must be a whole number from 1 to {MAX_SAMPLES:,}")
    if seed < 0:
        raise SweepError(f"seed {seed}: must be a whole number >= 0")
    method = Method(method)
    if method is Method.EXACT:
        raise SustainError("a robust plan uses metric or vari-metric, not the exact method")
    inputs = random_inputs(scenario)
    a = compile_scenario(scenario)
    targets = fleet_targets(a, target)
    goals = _goals(targets, a.fleet_count)
    lo_lim, hi_lim = stock_limits(scenario, a)
    lo, hi = stock_bounds(a, lo_lim, hi_lim)
    nominal = optimize_arrays(a, target=target, method=method, min_stock=lo_lim,
                              max_stock=hi_lim, refine_seconds=refine_seconds)
    _, scalings = draw(scenario, inputs, samples, seed)
    lean = _lean(scenario)
    corner = compile_scenario(apply_scaling(lean, worst_corner(scalings)))
    chains = build_chains(a, nominal.stock, lo=lo, hi=hi, method=method, corner=corner)
    job = TermsJob(scenario=lean, chains=tuple(chains), lo=lo, hi=hi, method=method)
    total = samples + check_samples

    def built(done: int, _: int) -> None:
        if progress is not None:
            progress(done, total)

    def checked(done: int, _: int) -> None:
        if progress is not None:
            progress(samples + done, total)

    terms = map_chunks(terms_chunk, job, scalings, workers=workers, dask_address=dask_address,
                       progress=built, what="optimize --confidence with --dask")
    required = max(1, math.ceil(confidence * samples - 1e-9))
    fams = families_of(a)
    fleets_of = [fams[c.family].fleets for c in chains]
    fam_rows = [fams[c.family].rows for c in chains]
    search = _Search(chains, terms, fleets_of, a.fleet_system.size, goals, required)
    while np.any(search.short()):
        mv = search.best_move()
        if mv is None:
            counts = search.met_counts(search.log_a)
            raise TargetUnreachable([
                (a.system_ids[a.fleet_system[f]], a.site_ids[a.fleet_site[f]],
                 float(targets[f]), float(np.exp(np.sort(search.log_a[:, f])[::-1][
                     required - 1])))
                for f in np.flatnonzero(counts < required).tolist()
            ], "; ".join(
                f"fleet {a.system_ids[a.fleet_system[f]]} at {a.site_ids[a.fleet_site[f]]}: "
                f"target {targets[f]:.4g} met in at most {int(counts[f])} of {samples} "
                f"draws within the stock limits, {required} needed"
                for f in np.flatnonzero(counts < required).tolist())
                + " (loosen max or exclusions, or lower --confidence)")
        c, units = mv
        search.move(c, int(search.pos[c]) + units)
    search.prune()
    for _ in range(EXCHANGE_PASSES):
        if not search.exchange():
            break
        search.prune()
    stock = _stock(a, lo, chains, fam_rows, search.pos)
    robust = _as_optimization(a, stock, targets, method, nominal)
    nominal_log_a = search.log_a_at(np.array([c.nominal for c in chains], dtype=np.int64))
    fresh_seed = check_seed(seed)
    _, fresh = draw(scenario, inputs, check_samples, fresh_seed)
    check = map_chunks(_plans_chunk, _PlansJob(scenario=lean, stocks=(stock, nominal.stock),
                                               method=method), fresh,
                       workers=workers, dask_address=dask_address, progress=checked,
                       what="optimize --confidence with --dask")
    k = np.stack(check)
    counts = a.fleet_count
    fleets = tuple((a.system_ids[kk], a.site_ids[s])
                   for kk, s in zip(a.fleet_system.tolist(), a.fleet_site.tolist(), strict=True))
    return RobustPlan(
        robust=robust, nominal=nominal, confidence=float(confidence), samples=samples,
        seed=seed, check_seed=fresh_seed, required=required,
        robust_build=_check(np.exp(search.log_a), targets, counts),
        nominal_build=_check(np.exp(nominal_log_a), targets, counts),
        robust_check=_check(k[:, 0], targets, counts),
        nominal_check=_check(k[:, 1], targets, counts),
        fleets=fleets, targets=targets, counts=counts, target=target,
    )


def _lean(scenario: Scenario) -> Scenario:
    """The scenario without the parts readiness does not read (smaller to send)."""
    return replace(scenario, stockpile=None, offers=(), value=())
