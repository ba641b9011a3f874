"""``optimize``: targets or a budget in, purchases, readiness and the efficient curve out."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from sustain._types import FloatArray
from sustain.errors import SustainError
from sustain.optimize.greedy import marginal_allocation
from sustain.optimize.laterals import lateral_greedy, polish_with_laterals
from sustain.optimize.path import fills, plan_path
from sustain.optimize.plain import plain_greedy
from sustain.optimize.redistribute import (
    Moves,
    Routes,
    better_plan,
    redistribute_plan,
    refine_with_moves,
    scenario_routes,
)
from sustain.optimize.refine import REFINE_MAX_PAIRS, refine_plan
from sustain.optimize.scale import (
    check_lagrange_work,
    check_search,
    check_workers,
    lagrange_search,
    use_lagrange,
)
from sustain.optimize.service import (
    Quantities,
    ServiceTargets,
    describe,
    service_allocation,
    service_targets,
)
from sustain.optimize.spend import Spend, split_spend
from sustain.optimize.state import (
    Deadline,
    MarginalResult,
    Progress,
    RefineProgress,
    stock_bounds,
)
from sustain.optimize.work import check_work, default_max_memory
from sustain.readiness.evaluate import Evaluation, evaluate_arrays
from sustain.readiness.metric import Method
from sustain.readiness.shops import repair_shops, scenario_channels
from sustain.scenario.compile import ScenarioArrays, compile_scenario
from sustain.scenario.messages import did_you_mean
from sustain.scenario.model import Scenario

#: Points kept in the reported efficient curve (every step is kept internally).
CURVE_POINTS = 400
#: Up to this many item-site pairs, a second greedy strategy is tried as well.
SMALL_CASE_PAIRS = 2_000
#: Up to this many, the plain one-unit-at-a-time greedy is tried too, when the units
#: bought times the pairs (its family evaluations) are at most TINY_CASE_WORK.
TINY_CASE_PAIRS = 120
TINY_CASE_WORK = 20_000
#: Processor seconds for the searches after the first greedy on small cases (the second
#: greedy, the plain greedy and the neighbourhood search), by default.
REFINE_SECONDS = 5.0


def _cost(a: ScenarioArrays, res: MarginalResult) -> float:
    return float(np.sum((res.stock - a.stock) * a.unit_cost[:, None]))


class TargetUnreachable(SustainError):
    """No allocation within the stock limits meets a fleet's target.

    ``shortfalls`` lists ``(system, site, target, best)`` for each fleet left short.
    """

    def __init__(
        self, shortfalls: list[tuple[str, str, float, float]], message: str | None = None
    ) -> None:
        self.shortfalls = shortfalls
        if message is None:
            parts = [
                f"fleet {k} at {s}: target {t:.4g} cannot be reached; best reachable {b:.4g}"
                for k, s, t, b in shortfalls
            ]
            message = (
                "; ".join(parts) + " (within the stock limits given; loosen max or exclusions)"
            )
        super().__init__(message)


def _money(x: float) -> str:
    return f"{x:,.2f}".removesuffix(".00")


class BudgetTooSmall(TargetUnreachable):
    """The targets can be met within the stock limits, but not within the budget.

    ``budget`` is the money given, ``needed`` the cost of the cheapest plan found that
    meets every target, ``spent`` the cost of the best plan within the budget and
    ``reached`` lists ``(system, site, target, availability)`` of that plan for every
    fleet with a target; ``shortfalls`` (as in :class:`TargetUnreachable`) the fleets it
    leaves short.
    """

    def __init__(
        self, *, budget: float, needed: float, spent: float,
        reached: list[tuple[str, str, float, float]],
    ) -> None:
        self.budget, self.needed, self.spent, self.reached = budget, needed, spent, reached
        parts = [
            f"fleet {k} at {s} {v:.4g} (target {t:.4g}{', met' if v >= t - 1e-9 else ''})"
            for k, s, t, v in reached
        ]
        super().__init__(
            [r for r in reached if r[3] < r[2] - 1e-9],
            f"the budget {_money(budget)} is the cause: the targets cannot be met within "
            f"it (the cheapest plan found that meets them costs {_money(needed)}); within "
            f"the budget the best plan (cost {_money(spent)}) reaches " + ", ".join(parts)
            + ". Raise the budget or lower the targets",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Optimization:
    """A recommended stock, its independent evaluation and the efficient curve."""

    evaluation: Evaluation  # the recommended stock, re-evaluated by the readiness engine
    held: FloatArray  # (items × sites) stock held before
    targets: FloatArray  # per fleet, NaN where none
    budget: float | None
    curve_cost: FloatArray  # purchases at each point visited (first: the start)
    curve_availability: FloatArray  # (points × fleets)
    #: The small-case searches were cut short by their time budget (``refine_seconds``):
    #: the plan meets the targets, but a longer search might find a cheaper one.
    refinement_stopped: bool = False
    #: The stock held before buying, evaluated the same way (availability "now").
    before: Evaluation | None = None
    #: Each fleet's weight in the budget objective Σ weight·N·log A (1 by default).
    weights: FloatArray | None = None
    #: With ``redistribute``: the routes units may move along, and the moves made
    #: (``held`` is then the stock after the moves); None otherwise.
    routes: Routes | None = None
    moves: Moves | None = None

    @property
    def moved(self) -> FloatArray:
        """Units moved in less units moved out, per item and site (0 without moves)."""
        if self.moves is None:
            return np.zeros_like(self.held)
        return self.moves.net(self.held.shape)

    @property
    def move_cost(self) -> float:
        """Money spent on moving stock held (0 without moves)."""
        if self.moves is None or self.routes is None:
            return 0.0
        return self.moves.cost(self.routes)

    def move_lines(self) -> list[dict[str, Any]]:
        """One row per item moved along a route: item, from, to, qty, cost_per_unit,
        cost, days (transit); the dearest first."""
        if self.moves is None or self.routes is None:
            return []
        return self.moves.lines(self.evaluation.arrays, self.routes)
    #: Fill-rate and waiting-time targets of the run (with the availability targets),
    #: None when there are none (:mod:`sustain.optimize.service`).
    service: ServiceTargets | None = None
    #: With ``service``: every measure at each point of the curve (points × quantities
    #: in :class:`~sustain.optimize.service.Quantities` order).
    curve_values: FloatArray | None = None

    @property
    def stock(self) -> FloatArray:
        """The recommended stock (held + bought), items × sites in compiled order: what
        ``sustain.simulate(scenario, stock=opt.stock, ...)`` takes to check the plan."""
        return self.evaluation.arrays.stock

    @property
    def buy(self) -> FloatArray:
        """Units to buy per item and site."""
        return self.evaluation.arrays.stock - self.held

    @property
    def purchase_cost(self) -> float:
        """Money spent on the purchases."""
        return float(np.sum(self.buy * self.evaluation.arrays.unit_cost[:, None]))

    def purchases(self) -> list[dict[str, Any]]:
        """One row per item and site bought: item, site, qty, unit_cost, cost."""
        a = self.evaluation.arrays
        ii, ss = np.nonzero(self.buy > 0)
        return [
            {
                "item": a.item_ids[i],
                "site": a.site_ids[s],
                "qty": int(self.buy[i, s]),
                "unit_cost": float(a.unit_cost[i]),
                "cost": float(self.buy[i, s] * a.unit_cost[i]),
            }
            for i, s in zip(ii.tolist(), ss.tolist(), strict=True)
        ]

    def spend(self) -> Spend:
        """The purchase cost split among the fleets the purchases serve, by their shares
        of the demand on each item at each site (:mod:`sustain.optimize.spend`)."""
        return split_spend(self.evaluation.arrays, self.buy)

    def spend_by_fleet(self, spend: Spend | None = None) -> list[dict[str, Any]]:
        """Money spent for each fleet: system, site, cost (every fleet, in order).

        ``spend``: :meth:`spend`, when the caller has it already."""
        a = self.evaluation.arrays
        by_fleet = (spend or self.spend()).by_fleet.tolist()
        return [
            {"system": a.system_ids[k], "site": a.site_ids[s], "cost": c}
            for k, s, c in zip(a.fleet_system.tolist(), a.fleet_site.tolist(), by_fleet,
                               strict=True)
        ]

    def spend_by_system(self, spend: Spend | None = None) -> list[dict[str, Any]]:
        """Money spent for each system type (the sum over its fleets): system, fleets
        (how many), cost; system types in compiled order."""
        a = self.evaluation.arrays
        by_fleet = (spend or self.spend()).by_fleet
        out = []
        for k in sorted(set(a.fleet_system.tolist())):
            mine = a.fleet_system == k
            out.append({"system": a.system_ids[k], "fleets": int(np.sum(mine)),
                        "cost": float(np.sum(by_fleet[mine]))})
        return out

    def purchases_by_site(self) -> list[dict[str, Any]]:
        """The purchases grouped by site (sites in tree order, parents first): site,
        lines (item rows bought), units, cost."""
        a = self.evaluation.arrays
        buy = self.buy
        cost = buy * a.unit_cost[:, None]
        return [
            {"site": a.site_ids[s], "lines": int(np.count_nonzero(buy[:, s] > 0)),
             "units": int(np.sum(buy[:, s])), "cost": float(np.sum(cost[:, s]))}
            for s in range(a.n_sites) if np.any(buy[:, s] > 0)
        ]

    def fleets_dict(self) -> list[dict[str, Any]]:
        """The ``fleets`` of the document: the evaluation's after buying (with drivers), and each
        fleet's ``availability_before`` (the stock held), ``target`` (None where none)
        and ``weight``."""
        rows = self.evaluation.fleets_with_drivers()
        before = self.before.availability if self.before is not None else None
        n_f = len(rows)
        weights = self.weights if self.weights is not None else np.ones(n_f)
        for f, row in enumerate(rows):
            b = float(before[f]) if before is not None else math.nan
            t = float(self.targets[f])
            row["availability_before"] = None if math.isnan(b) else b
            row["target"] = None if math.isnan(t) else t
            row["weight"] = float(weights[f])
        return rows

    def curve(self, points: int = CURVE_POINTS) -> list[dict[str, Any]]:
        """The efficient points visited (thinned to about ``points``), for JSON and plots.

        ``availability`` is the share of all systems up (Σ N·A / Σ N); ``fleets``
        gives each fleet's availability.
        """
        a = self.evaluation.arrays
        n = self.curve_cost.size
        keep = np.unique(np.linspace(0, n - 1, min(points, n)).round().astype(int))
        count = a.fleet_count
        names = [f"{a.system_ids[k]}@{a.site_ids[s]}" for k, s in zip(
            a.fleet_system.tolist(), a.fleet_site.tolist(), strict=True)]
        out = []
        for p in keep.tolist():
            av = self.curve_availability[p]
            total = float(np.sum(count * av) / max(float(np.sum(count)), 1e-300))
            out.append(
                {
                    "cost": float(self.curve_cost[p]),
                    "availability": total,
                    "fleets": {nm: float(x) for nm, x in zip(names, av, strict=True)},
                }
            )
            if self.service is not None and self.curve_values is not None:
                out[-1].update(self._service_point(self.curve_values[p], names))
        return out

    def _service_point(self, values: FloatArray, names: list[str]) -> dict[str, Any]:
        """A curve point's ``fill_rate`` and ``mean_wait_days``: each measure with a
        target, by fleet (``SYSTEM@SITE``) or site."""
        assert self.service is not None
        a = self.evaluation.arrays
        n_f, n_s = len(names), a.n_sites
        has = ~np.isnan(self.service.vector())
        labels = [*names, *a.site_ids]
        out: dict[str, Any] = {}
        for key, fleet_at, site_at in (("fill_rate", n_f, 3 * n_f),
                                       ("mean_wait_days", 2 * n_f, 3 * n_f + n_s)):
            rows = [*range(fleet_at, fleet_at + n_f), *range(site_at, site_at + n_s)]
            out[key] = {labels[n]: float(values[i]) for n, i in enumerate(rows) if has[i]}
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``sustain optimize --json``: evaluate's, plus the plan."""
        doc = self.evaluation.to_dict()
        a = self.evaluation.arrays
        targets = [
            {"system": a.system_ids[k], "site": a.site_ids[s], "target": float(t)}
            for k, s, t in zip(
                a.fleet_system.tolist(), a.fleet_site.tolist(), self.targets.tolist(),
                strict=True,
            )
            if not np.isnan(t)
        ]
        spend = self.spend()
        doc.update(
            {
                "fleets": self.fleets_dict(),
                "targets": targets,
                "budget": self.budget,
                "purchases": self.purchases(),
                "purchase_cost": self.purchase_cost,
                "curve": self.curve(),
                "refinement_stopped": self.refinement_stopped,
                "spend_by_fleet": self.spend_by_fleet(spend),
                "spend_by_system": self.spend_by_system(spend),
                "spend_unattributed": spend.unattributed,
                "purchases_by_site": self.purchases_by_site(),
            }
        )
        if self.routes is not None:
            doc["moves"] = self.move_lines()
            doc["move_cost"] = self.move_cost
        if self.service is not None:
            doc["service_targets"] = self.service.to_list(a)
        return doc


def _number(value: object, what: str) -> float:
    """``value`` as a float, or a :class:`SustainError` naming ``what``."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise SustainError(f"{what}: must be a number: got {value!r}")
    return float(value)


def fleet_targets(
    a: ScenarioArrays, target: float | Mapping[str, float] | None
) -> FloatArray:
    """Per-fleet targets from a number (all fleets) or a mapping.

    Keys are a system id (every fleet of it), ``SYSTEM@SITE`` (one fleet), or ``*``
    (every fleet not otherwise named).  Every value must be a number from 0 to 1; a
    target of 0 is met by any stock.
    """
    n_f = a.fleet_system.size
    out = np.full(n_f, np.nan)
    if target is None:
        return out
    if not isinstance(target, Mapping):
        target = {"*": _number(target, "target")}
    if not target:
        raise SustainError(
            "target: no fleet given (a number, or targets by SYSTEM or SYSTEM@SITE)"
        )
    systems = [a.system_ids[k] for k in a.fleet_system]
    sites = [a.site_ids[s] for s in a.fleet_site]
    values: dict[str, float] = {}
    for key, value in target.items():
        if not isinstance(key, str):
            raise SustainError(f"target {key!r}: a fleet is named by a string (SYSTEM@SITE)")
        t = _number(value, f"target for {key}")
        if not (math.isfinite(t) and 0 <= t <= 1):
            raise SustainError(f"target for {key}: must be between 0 and 1: got {value}")
        values[key] = t
    for key, t in values.items():
        if key == "*":
            continue
        sys_id, _, site = key.partition("@")
        hits = [f for f in range(n_f) if systems[f] == sys_id and (not site or sites[f] == site)]
        if not hits:
            known = sorted({*systems, *(f"{k}@{s}" for k, s in zip(systems, sites, strict=True))})
            raise SustainError(f"target {key}: no such fleet{did_you_mean(key, known)}")
        out[hits] = t
    if "*" in values:
        out[np.isnan(out)] = values["*"]
    return out


def _check_budget(budget: float | None) -> float | None:
    if budget is None:
        return None
    b = _number(budget, "budget")
    if not (math.isfinite(b) and b >= 0):
        raise SustainError(f"budget must be a finite number >= 0: got {budget}")
    return b


def _check_max_memory(max_memory: float | None) -> float:
    if max_memory is None:
        return float(default_max_memory())
    m = _number(max_memory, "max_memory")
    if not (math.isfinite(m) and m > 0):
        raise SustainError(f"max_memory must be a positive number of bytes: got {max_memory}")
    return m


def _check_refine_seconds(seconds: float) -> float:
    t = _number(seconds, "refine_seconds")
    if not t >= 0:
        raise SustainError(
            f"refine_seconds must be a number of seconds >= 0 (inf: no limit): got {seconds}"
        )
    return t


def _check_weights(a: ScenarioArrays, weight: FloatArray | None) -> FloatArray:
    """Per-fleet weights: ones by default; else finite numbers > 0, one per fleet."""
    n_f = a.fleet_system.size
    if weight is None:
        return np.ones(n_f)
    w = np.asarray(weight, dtype=np.float64)
    if w.shape != (n_f,):
        raise SustainError(f"weight: one per fleet ({n_f}): got shape {w.shape}")
    bad = np.flatnonzero(~(np.isfinite(w) & (w > 0)))
    if bad.size:
        f = int(bad[0])
        raise SustainError(
            f"weight of fleet {a.system_ids[a.fleet_system[f]]}@{a.site_ids[a.fleet_site[f]]}"
            f": must be a finite number > 0: got {w[f]}"
        )
    return w


def _check_method(method: Method | str) -> Method:
    try:
        m = Method(method)
    except ValueError:
        raise SustainError(
            f"method must be 'vari-metric' or 'metric': got {method!r}"
        ) from None
    if m is Method.EXACT:
        raise SustainError("optimize uses metric or vari-metric, not the exact method")
    return m


def optimize_arrays(
    a: ScenarioArrays,
    *,
    target: float | Mapping[str, float] | None = None,
    budget: float | None = None,
    method: Method | str = Method.VARI_METRIC,
    min_stock: FloatArray | None = None,
    max_stock: FloatArray | None = None,
    progress: Progress | None = None,
    max_memory: float | None = None,
    refine_seconds: float = REFINE_SECONDS,
    refine_progress: RefineProgress | None = None,
    weight: FloatArray | None = None,
    routes: Routes | None = None,
    fill_rate: float | Mapping[str, float] | None = None,
    max_wait: float | Mapping[str, float] | None = None,
    search: str = "auto",
    workers: int = 1,
    dask_address: str | Any | None = None,
) -> Optimization:
    """:func:`optimize` on compiled arrays; ``weight`` per fleet (compiled order);
    ``routes``: stock held may also be moved along them (:mod:`.redistribute`);
    ``search``, ``workers``, ``dask_address``: see :func:`optimize`."""
    search = check_search(search)
    workers = check_workers(workers)
    if search == "lagrange" and (routes is not None or fill_rate is not None
                                 or max_wait is not None or target is None):
        raise SustainError("search lagrange works with availability targets (--target) "
                           "alone: not with a budget alone, fill-rate or waiting-time "
                           "targets, or moving stock held")
    if routes is not None and (fill_rate is not None or max_wait is not None):
        raise SustainError("moving stock held (redistribute) works with availability "
                           "targets or a budget, not with fill-rate or waiting-time targets")
    if a.laterals is not None and (routes is not None or fill_rate is not None
                                   or max_wait is not None):
        raise SustainError(
            "the scenario has lateral links (laterals): moving stock held and fill-rate or "
            "waiting-time targets do not model them; give availability targets or a budget")
    if routes is not None:
        return _redistributed(
            a, routes, target=target, budget=budget, method=method, min_stock=min_stock,
            max_stock=max_stock, progress=progress, max_memory=max_memory,
            refine_seconds=refine_seconds, refine_progress=refine_progress, weight=weight)
    method = _check_method(method)
    weights = _check_weights(a, weight)
    refine_seconds = _check_refine_seconds(refine_seconds)
    if target is None and budget is None and fill_rate is None and max_wait is None:
        raise SustainError("give a target (--target) or a budget (--budget)")
    budget = _check_budget(budget)
    limit = _check_max_memory(max_memory)
    targets = fleet_targets(a, target)
    if fill_rate is not None or max_wait is not None:
        return _service_run(a, targets, service_targets(
            a, np.where(targets > 0, targets, np.nan), fill_rate, max_wait),
            budget, method, min_stock, max_stock, progress, weights,
            Deadline(refine_seconds, refine_progress))
    lo, hi = stock_bounds(a, min_stock, max_stock)
    start = evaluate_arrays(a.with_stock(lo), method=method)
    # A target of 0 is met by any stock: such fleets constrain nothing.
    goals = np.where(targets > 0, targets, np.nan)
    decompose = target is not None and use_lagrange(a, search, goals)
    if decompose:
        check_lagrange_work(a, start, lo, hi, limit, workers)
    else:
        check_work(a, start, lo, hi, limit)
    # "Now": the stock held (below the start when a min of stock_limits raises it).
    before = start if np.array_equal(lo, a.stock) else evaluate_arrays(a, method=method)
    if target is None:
        # The most readiness for the budget: the greedy's points are the curve.
        # Only the weights' ratios matter: scaled so that the largest is 1 (the greedy's
        # tolerances are relative to an objective of that size).
        scaled = weights / weights.max() if weights.size else weights
        if a.laterals is not None:  # sites share stock: per-site curves do not separate
            res = lateral_greedy(a, budget=budget, fleet_weight=scaled, method=method,
                                 min_stock=min_stock, max_stock=max_stock)
        else:
            res = marginal_allocation(a, budget=budget, method=method, min_stock=min_stock,
                                      max_stock=max_stock, progress=progress, start=start,
                                      fleet_weight=scaled)
        final = evaluate_arrays(a.with_stock(res.stock), method=method)
        costs = np.array([res.start_cost] + [s.cost for s in res.steps])
        avs = np.array([res.start_availability] + [s.availability for s in res.steps])
        return Optimization(
            evaluation=final, held=a.stock, targets=targets, budget=budget,
            curve_cost=costs, curve_availability=avs, before=before, weights=weights,
        )
    deadline = Deadline(refine_seconds, refine_progress)
    if decompose:
        res = lagrange_search(a, goals, method, min_stock, max_stock, progress,
                              workers=workers, dask_address=dask_address, held=start)
        deadline.restart()
        if res.met and a.n_items * a.n_sites <= REFINE_MAX_PAIRS:
            # Small cases: the neighbourhood search from the decomposition's plan.
            res = refine_plan(a, res, targets=goals, method=method, min_stock=min_stock,
                              max_stock=max_stock, deadline=deadline)
    elif a.laterals is not None:
        res = _search_laterals(a, goals, method, min_stock, max_stock, deadline)
    elif np.all(np.isnan(goals)):
        res = marginal_allocation(a, targets=targets, method=method, min_stock=min_stock,
                                  max_stock=max_stock, start=start)
    else:
        res = _search(a, goals, method, min_stock, max_stock, progress, start, deadline)
    final = evaluate_arrays(a.with_stock(res.stock), method=method)
    _check_targets(a, targets, final)  # the stock limits (no money can help)
    if budget is not None and _cost(a, res) > budget * (1 + 1e-12):
        res, final = _within_budget(a, targets, goals, budget, _cost(a, res), method,
                                    min_stock, max_stock, start)
    # The plan's purchases in order: targeted fleets count (those with a target of 0
    # too, when every target is 0).
    weights = np.where(np.isnan(goals if np.any(~np.isnan(goals)) else targets), 0.0, 1.0)
    if decompose and not res.steps and not fills(res.start_stock, res.stock):
        # A plan found without steps (the decomposition's), too large to put in order
        # unit by unit: its curve is the start and the plan, as evaluated.
        costs = np.array([res.start_cost, _cost(a, res)])
        avs = np.array([res.start_availability, final.availability])
    else:
        costs, avs = plan_path(a, res, res.stock, method, CURVE_POINTS, weights)
    return Optimization(
        evaluation=final, held=a.stock, targets=targets, budget=budget,
        curve_cost=costs, curve_availability=avs, refinement_stopped=deadline.stopped,
        before=before, weights=weights,
    )


def _redistributed(
    a: ScenarioArrays, routes: Routes, *, target: float | Mapping[str, float] | None,
    budget: float | None, method: Method | str, min_stock: FloatArray | None,
    max_stock: FloatArray | None, progress: Progress | None, max_memory: float | None,
    refine_seconds: float, refine_progress: RefineProgress | None,
    weight: FloatArray | None,
) -> Optimization:
    """:func:`optimize_arrays` with moves of the stock held (:mod:`.redistribute`): the
    best plan with moves, or the plan without when no move beats buying."""
    method = _check_method(method)
    weights = _check_weights(a, weight)
    budget = _check_budget(budget)
    targets = fleet_targets(a, target)

    def solve(held: FloatArray, money: float | None, givers: npt.NDArray[np.bool_]
              ) -> Optimization | None:
        top = np.full_like(held, np.inf) if max_stock is None else max_stock
        try:
            return optimize_arrays(
                a.with_stock(held), target=target, budget=money, method=method,
                min_stock=min_stock, max_stock=np.where(givers, held, top), progress=progress,
                max_memory=max_memory, refine_seconds=refine_seconds,
                refine_progress=refine_progress, weight=weights)
        except TargetUnreachable:  # (BudgetTooSmall too) these moves leave it short
            return None

    try:
        plain: Optimization | None = optimize_arrays(
            a, target=target, budget=budget, method=method, min_stock=min_stock,
            max_stock=max_stock, progress=progress, max_memory=max_memory,
            refine_seconds=refine_seconds, refine_progress=refine_progress, weight=weights)
        failure: BudgetTooSmall | None = None
    except BudgetTooSmall as exc:
        plain, failure = None, exc
    lo, hi = stock_bounds(a, min_stock, max_stock)
    goals = None if target is None else np.where(targets > 0, targets, np.nan)
    # A budget run's objective Σ weight·N·log A (weights scaled as optimize_arrays does).
    w = a.fleet_count * (weights / weights.max() if weights.size else weights)
    moved, moves = redistribute_plan(
        a, routes, solve, goals=goals, budget=budget, weights=w, method=method, lo=lo,
        hi=hi, min_stock=min_stock)
    none = Moves(qty={})
    if moved is not None and (plain is None or better_plan(
            moved, moves, (plain, none), routes, goals, w)):
        chosen = moved
    elif plain is not None:
        chosen, moves = plain, none
    else:
        assert failure is not None
        raise failure
    before = plain.before if plain is not None else evaluate_arrays(a, method=method)
    if goals is not None and np.any(~np.isnan(goals)) and (
            a.n_items * a.n_sites <= REFINE_MAX_PAIRS):
        # Small cases: the neighbourhood search, moves priced with the purchases.
        found = refine_with_moves(a, routes, chosen.stock, goals=goals, method=method,
                                  min_stock=min_stock, max_stock=max_stock,
                                  deadline=Deadline(refine_seconds, refine_progress))
        if found is not None:
            held = a.stock + found[0].net(a.stock.shape)
            other = _fixed_plan(a.with_stock(held), found[1], targets, goals, budget, method,
                                min_stock)
            spend = other.purchase_cost + found[0].cost(routes)
            if (not _short(a, targets, other.evaluation) and
                    (budget is None or spend <= budget * (1 + 1e-12)) and
                    better_plan(other, found[0], (chosen, moves), routes, goals, w)):
                chosen, moves = other, found[0]
    return replace(chosen, before=before, routes=routes, moves=moves)


def _fixed_plan(
    a: ScenarioArrays, stock: FloatArray, targets: FloatArray, goals: FloatArray,
    budget: float | None, method: Method, min_stock: FloatArray | None,
) -> Optimization:
    """The plan that buys ``stock`` over the stock held ``a.stock`` (found by another
    search): evaluated, with the curve of its purchases (``path.py``)."""
    lo, _ = stock_bounds(a, min_stock, None)
    final = evaluate_arrays(a.with_stock(stock), method=method)
    res = MarginalResult(stock=stock, start_stock=lo, steps=[],
                         start_availability=final.availability, start_cost=0.0, met=True)
    weights = np.where(np.isnan(goals), 0.0, 1.0)
    costs, avs = plan_path(a, res, stock, method, CURVE_POINTS, weights)
    return Optimization(evaluation=final, held=a.stock, targets=targets, budget=budget,
                        curve_cost=costs, curve_availability=avs, weights=weights)
def _service_run(
    a: ScenarioArrays, targets: FloatArray, service: ServiceTargets, budget: float | None,
    method: Method, min_stock: FloatArray | None, max_stock: FloatArray | None,
    progress: Progress | None, weights: FloatArray, deadline: Deadline,
) -> Optimization:
    """Mixed availability, fill-rate and waiting-time targets
    (:mod:`sustain.optimize.service`), the plan re-evaluated and checked independently;
    ``deadline``: processor time for the improvement passes after the greedy."""
    lo, hi = stock_bounds(a, min_stock, max_stock)
    before = evaluate_arrays(a, method=method)
    plan = service_allocation(a, service, method=method, lo=lo, hi=hi, progress=progress,
                              deadline=deadline)
    goals = service.availability
    if plan.met and np.any(~np.isnan(goals)):
        # A second start: the availability targets' own plan (the multi-echelon search
        # above), completed for the other targets; the cheaper plan is kept.
        first = Deadline(deadline.seconds, deadline.report)
        seed = _search(a, goals, method, min_stock, max_stock, progress,
                       evaluate_arrays(a.with_stock(lo), method=method), first)
        second = Deadline(deadline.seconds, deadline.report)
        other = service_allocation(a, service, method=method, lo=lo, hi=hi,
                                   progress=progress, deadline=second, start=seed.stock)
        deadline.stopped |= first.stopped or second.stopped
        price = float(np.sum(plan.stock * a.unit_cost[:, None]))
        if other.met and float(np.sum(other.stock * a.unit_cost[:, None])) < price - 1e-9:
            plan = other
    if not plan.met:
        raise TargetUnreachable([], "; ".join(plan.shortfalls)
                                + " (within the stock limits given; loosen max or exclusions)")
    final = evaluate_arrays(a.with_stock(plan.stock), method=method)
    sm = final.service()
    q = Quantities(a, final.flows)
    measured = np.concatenate([
        np.log(np.maximum(np.nan_to_num(final.availability, nan=1.0), 1e-300)),
        sm.fleet_fill_rate, sm.fleet_mean_wait_days, sm.site_fill_rate,
        sm.site_mean_wait_days])
    tv = service.vector()
    tol = np.where(q.kind == 0, 1e-9, np.where(q.kind == 1, 1e-9 / np.where(
        np.isnan(tv), 1.0, tv), 1e-9))
    short = np.flatnonzero(q.shortfall(np.nan_to_num(measured, nan=0.0), tv) > tol)
    if short.size:  # the independent evaluation disagrees with the search's sums
        raise TargetUnreachable([], "; ".join(
            describe(a, q, i, float(tv[i]), float(measured[i])) for i in short.tolist()))
    cost = float(np.sum((plan.stock - a.stock) * a.unit_cost[:, None]))
    if budget is not None and cost > budget * (1 + 1e-12):
        raise TargetUnreachable([], (
            f"the budget {_money(budget)} is the cause: the targets cannot be met within "
            f"it (the cheapest plan found that meets them costs {_money(cost)}). Raise "
            "the budget or lower the targets"))
    n_f = a.fleet_system.size
    start_cost = float(np.sum((lo - a.stock) * a.unit_cost[:, None]))
    return Optimization(
        evaluation=final, held=a.stock, targets=targets, budget=budget,
        curve_cost=plan.curve_cost + start_cost,
        curve_availability=np.exp(plan.curve_values[:, :n_f]), before=before,
        weights=weights, service=service, curve_values=plan.curve_values,
        refinement_stopped=deadline.stopped,
    )


def _short(a: ScenarioArrays, targets: FloatArray, ev: Evaluation) -> list[int]:
    """Fleets whose target (if any) the evaluated stock misses."""
    av = np.nan_to_num(ev.availability, nan=1.0)
    return np.flatnonzero(~np.isnan(targets) & (av < targets - 1e-9)).tolist()


def _check_targets(a: ScenarioArrays, targets: FloatArray, ev: Evaluation) -> None:
    """Raise :class:`TargetUnreachable` naming the fleets that ``ev`` leaves short."""
    short = _short(a, targets, ev)
    if short:
        av = np.nan_to_num(ev.availability, nan=1.0)
        raise TargetUnreachable(
            [
                (a.system_ids[a.fleet_system[f]], a.site_ids[a.fleet_site[f]],
                 float(targets[f]), float(av[f]))
                for f in short
            ]
        )


def _within_budget(
    a: ScenarioArrays, targets: FloatArray, goals: FloatArray, budget: float, needed: float,
    method: Method, min_stock: FloatArray | None, max_stock: FloatArray | None,
    start: Evaluation,
) -> tuple[MarginalResult, Evaluation]:
    """The targets' plan costs more than ``budget``: the greedy pursuing the targets
    within the budget; its plan if it meets them, else :class:`BudgetTooSmall`."""
    if a.laterals is not None:
        res = lateral_greedy(a, targets=goals, budget=budget, method=method,
                             min_stock=min_stock, max_stock=max_stock)
    else:
        res = marginal_allocation(a, targets=goals, budget=budget, method=method,
                                  min_stock=min_stock, max_stock=max_stock, start=start)
    final = evaluate_arrays(a.with_stock(res.stock), method=method)
    if not _short(a, targets, final) and _cost(a, res) <= budget * (1 + 1e-12):
        return res, final
    av = np.nan_to_num(final.availability, nan=1.0)
    raise BudgetTooSmall(
        budget=budget, needed=needed, spent=_cost(a, res),
        reached=[
            (a.system_ids[a.fleet_system[f]], a.site_ids[a.fleet_site[f]],
             float(targets[f]), float(av[f]))
            for f in np.flatnonzero(~np.isnan(goals)).tolist()
        ],
    )


def _search(
    a: ScenarioArrays, targets: FloatArray, method: Method,
    min_stock: FloatArray | None, max_stock: FloatArray | None, progress: Progress | None,
    start: Evaluation,
    deadline: Deadline,
) -> MarginalResult:
    """The greedy, and on small cases the other strategies and the neighbourhood search
    (within ``deadline``, counted from the end of the greedy); the cheapest plan meeting
    the targets."""
    res: MarginalResult = marginal_allocation(
        a, targets=targets, method=method, min_stock=min_stock,
        max_stock=max_stock, progress=progress, start=start,
    )
    pairs = a.n_items * a.n_sites
    deadline.restart()
    if res.met:
        deadline.best_cost = _cost(a, res)
    if pairs <= SMALL_CASE_PAIRS and not deadline.expired():
        # Small cases: also try keeping met fleets' weights, and keep the cheaper plan.
        deadline.stage = "second greedy"
        other = marginal_allocation(
            a, targets=targets, method=method, min_stock=min_stock,
            max_stock=max_stock, drop_met=False, start=start, deadline=deadline,
        )
        if other.met and (not res.met or _cost(a, other) < _cost(a, res) - 1e-9):
            res = other
            deadline.best_cost = _cost(a, res)
        units = float(np.sum(res.stock - res.start_stock))
        if (pairs <= TINY_CASE_PAIRS and units * pairs <= TINY_CASE_WORK
                and not deadline.expired()):
            deadline.stage = "plain greedy"
            plain = plain_greedy(a, targets=targets, method=method, min_stock=min_stock,
                                 max_stock=max_stock, deadline=deadline)
            if plain.met and (not res.met or _cost(a, plain) < _cost(a, res) - 1e-9):
                res = plain
                deadline.best_cost = _cost(a, res)
    if pairs <= REFINE_MAX_PAIRS and not deadline.expired():
        # Exact search of the plan's neighbourhood for a cheaper one (refine.py).
        res = refine_plan(a, res, targets=targets, method=method, min_stock=min_stock,
                          max_stock=max_stock, deadline=deadline)
    return res


def _search_laterals(
    a: ScenarioArrays, targets: FloatArray, method: Method,
    min_stock: FloatArray | None, max_stock: FloatArray | None, deadline: Deadline,
) -> MarginalResult:
    """With lateral links: the single-unit greedy that re-evaluates whole families
    (:mod:`sustain.optimize.laterals`), then on small cases the neighbourhood search."""
    res = lateral_greedy(a, targets=targets, method=method, min_stock=min_stock,
                         max_stock=max_stock)
    # The greedy buys one unit at a time and lacks the curves' depot enumeration: the
    # default optimiser's plan for the scenario without its links, which the links can
    # only improve, trimmed by the local search with the links, may be cheaper.
    unlinked = marginal_allocation(replace(a, laterals=None), targets=targets, method=method,
                                   min_stock=min_stock, max_stock=max_stock)
    warm = (polish_with_laterals(a, unlinked.stock, targets, method=method,
                                 min_stock=min_stock, max_stock=max_stock)
            if unlinked.met else None)
    if warm is not None and (not res.met or _cost(a, warm) < _cost(a, res) - 1e-9):
        cheaper = [st for st in res.steps if st.cost < _cost(a, warm) - 1e-9]
        res = replace(warm, steps=cheaper + warm.steps)
    deadline.restart()
    if res.met:
        deadline.best_cost = _cost(a, res)
    if a.n_items * a.n_sites <= REFINE_MAX_PAIRS and not deadline.expired():
        res = refine_plan(a, res, targets=targets, method=method, min_stock=min_stock,
                          max_stock=max_stock, deadline=deadline)
    return res


def optimize(
    scenario: Scenario,
    *,
    target: float | Mapping[str, float] | None = None,
    budget: float | None = None,
    method: Method | str = Method.VARI_METRIC,
    progress: Progress | None = None,
    max_memory: float | None = None,
    refine_seconds: float = REFINE_SECONDS,
    refine_progress: RefineProgress | None = None,
    redistribute: bool = False,
    fill_rate: float | Mapping[str, float] | None = None,
    max_wait: float | Mapping[str, float] | None = None,
    search: str = "auto",
    workers: int = 1,
    dask_address: str | Any | None = None,
) -> Optimization:
    """The cheapest spares to reach ``target``, or the most readiness for ``budget``.

    Parameters
    ----------
    scenario : Scenario
        Its ``stock`` is what is held already (never sold); its ``stock_limits``
        (optional) bound the stock per item and site.
    target : float or mapping, optional
        Availability for every fleet, or per system id / ``SYSTEM@SITE`` (``*``: every
        fleet not named otherwise); each from 0 to 1.  A target of 0 is met by any
        stock (nothing is bought for it).
    budget : float, optional
        Money for purchases: a finite number, at least 0.  Alone: the most readiness
        for it, Σ_f weight_f · N_f · log A_f over the fleets (N_f systems, ``weight``
        of the scenario's fleets, 1 by default).  With ``target``: the cheapest plan
        meeting the targets, provided it costs no more than the budget (else
        :class:`BudgetTooSmall`); the weights play no part.
    method : {"vari-metric", "metric"}
    progress : callable, optional
        ``progress(step, cost, worst_gap)``, called every few steps.
    max_memory : float, optional
        Bytes the run may use; by default half of the machine's physical memory
        (``sustain.optimize.work.MEMORY_SHARE``).  The work is estimated before the
        run starts and refused above this (or above ``work.MAX_WORK``).
    refine_seconds : float
        Processor seconds (≥ 0; ``math.inf``: no limit) for the searches that small
        cases run after the first greedy: a second greedy, the plain greedy and the
        neighbourhood search.  When the budget stops them, the plan is the cheapest
        found so far (it meets the targets) and ``refinement_stopped`` is True.
    refine_progress : callable, optional
        ``refine_progress(stage, seconds, budget_seconds, cost)``, called while those
        searches run (``cost``: the cheapest plan meeting the targets so far).
    redistribute : bool
        Also move stock already held between sites, along the scenario's ``moves``
        (every pair of sites at the default cost when it has none), where a move beats
        buying (:mod:`sustain.optimize.redistribute`).  The plan's ``moves`` and
        ``move_cost`` say what to move; ``held`` is then the stock after the moves, and
        a budget pays for purchases and moves together.
    fill_rate : float or mapping, optional
        Fill-rate targets (above 0, below 1): a number for every site with demand, or
        per ``SITE``, system id, ``SYSTEM@SITE`` (``*``: every site with demand not
        named otherwise); :mod:`sustain.readiness.service` defines the measures.
    max_wait : float or mapping, optional
        Mean-waiting-time targets in days (above 0): a number for every fleet, or keyed
        as ``fill_rate`` (``*``: every fleet not named otherwise).  With either, the run
        uses the mixed-target search (:mod:`sustain.optimize.service`), ``target``
        (availability) joins it, and ``budget`` is a limit on the plan's cost.
    search : {"auto", "greedy", "lagrange"}
        With availability targets: the greedy, or the Lagrangian decomposition
        (:mod:`sustain.optimize.decompose`, docs/scale.md), which runs on ``workers``
        processes or on a Dask cluster; ``auto`` takes the decomposition on large
        scenarios (:data:`sustain.optimize.scale.AUTO_PAIRS` item-site pairs and up).
    workers : int
        Worker processes for the decomposition (the plan is the same for any number).
    dask_address : str or distributed.Client, optional
        A Dask scheduler (``tcp://host:8786``) or client for the decomposition.

    Raises
    ------
    TargetUnreachable
        When the stock limits keep a fleet below its target (names it and the best
        value reachable).
    BudgetTooSmall
        With a target and a budget, when the targets can be met but not within the
        budget (a :class:`TargetUnreachable` that names the budget, the cost of the
        cheapest plan found that meets the targets, and each targeted fleet's
        availability in the best plan within the budget).
    SustainError
        For an option out of range (a target outside 0..1 or not a number, a budget
        that is negative, infinite or NaN, a fleet that does not exist, a method
        other than the two above), and for a run whose estimated memory or work is
        too large (names the item, site and inputs that drive it).
    """
    a = compile_scenario(scenario)
    lo, hi = stock_limits(scenario, a)
    opt = optimize_arrays(
        a, target=target, budget=budget, method=method, min_stock=lo, max_stock=hi,
        progress=progress, max_memory=max_memory, refine_seconds=refine_seconds,
        refine_progress=refine_progress, weight=fleet_weights(scenario, a),
        routes=scenario_routes(scenario, a) if redistribute else None,
        fill_rate=fill_rate, max_wait=max_wait, search=search, workers=workers,
        dask_address=dask_address,
    )
    channels = scenario_channels(scenario)
    if not channels:
        return opt
    # The plan assumes unlimited repair capacity, as evaluate does: say what the shops
    # are asked for (the load does not depend on the spares held).
    ev = opt.evaluation
    return replace(opt, evaluation=replace(
        ev, repair_shops=repair_shops(ev.arrays, channels, ev.flows)))


def fleet_weights(scenario: Scenario, a: ScenarioArrays) -> FloatArray:
    """Each fleet's ``weight`` (scenario ``fleets``), in the compiled fleet order."""
    by_fleet = {(f.system, f.site): f.weight for f in scenario.fleets}
    return np.array(
        [by_fleet.get((a.system_ids[k], a.site_ids[s]), 1.0)
         for k, s in zip(a.fleet_system.tolist(), a.fleet_site.tolist(), strict=True)],
        dtype=np.float64,
    )


def stock_limits(
    scenario: Scenario, a: ScenarioArrays
) -> tuple[FloatArray | None, FloatArray | None]:
    """(min, max) stock matrices from the scenario's ``stock_limits`` rows."""
    rows = getattr(scenario, "stock_limits", ())
    if not rows:
        return None, None
    lo = np.zeros_like(a.stock)
    hi = np.full_like(a.stock, np.inf)
    i_idx = {x: n for n, x in enumerate(a.item_ids)}
    s_idx = {x: n for n, x in enumerate(a.site_ids)}
    for r in rows:
        sites = [s_idx[r.site]] if r.site is not None else list(range(a.n_sites))
        for s in sites:
            if r.min is not None:
                lo[i_idx[r.item], s] = r.min
            if r.max is not None:
                hi[i_idx[r.item], s] = r.max
    return lo, hi
