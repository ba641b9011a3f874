"""``optimize``: targets or a budget in, purchases, readiness and the efficient curve out."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from sustain._types import FloatArray
from sustain.errors import SustainError
from sustain.optimize.greedy import marginal_allocation
from sustain.optimize.plain import plain_greedy
from sustain.optimize.refine import REFINE_MAX_PAIRS, refine_plan
from sustain.optimize.state import MarginalResult, Progress
from sustain.readiness.evaluate import Evaluation, evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays, compile_scenario
from sustain.scenario.model import Scenario
from sustain.scenario.validate import did_you_mean

#: Points kept in the reported efficient curve (every step is kept internally).
CURVE_POINTS = 400
#: Up to this many item-site pairs, a second greedy strategy is tried as well.
SMALL_CASE_PAIRS = 2_000
#: Up to this many, the plain one-unit-at-a-time greedy is tried too.
TINY_CASE_PAIRS = 120


def _cost(a: ScenarioArrays, res: MarginalResult) -> float:
    return float(np.sum((res.stock - a.stock) * a.unit_cost[:, None]))


class TargetUnreachable(SustainError):
    """No allocation within the stock limits meets a fleet's target."""

    def __init__(self, shortfalls: list[tuple[str, str, float, float]]) -> None:
        self.shortfalls = shortfalls
        parts = [
            f"fleet {k} at {s}: target {t:.4g} cannot be reached; best reachable {b:.4g}"
            for k, s, t, b in shortfalls
        ]
        super().__init__(
            "; ".join(parts) + " (within the stock limits given; loosen max or exclusions)"
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
        doc.update(
            {
                "targets": targets,
                "budget": self.budget,
                "purchases": self.purchases(),
                "purchase_cost": self.purchase_cost,
                "curve": self.curve(),
            }
        )
        return doc


def fleet_targets(
    a: ScenarioArrays, target: float | Mapping[str, float] | None
) -> FloatArray:
    """Per-fleet targets from a number (all fleets) or a mapping.

    Keys are a system id (every fleet of it), ``SYSTEM@SITE`` (one fleet), or ``*``
    (every fleet not otherwise named).
    """
    n_f = a.fleet_system.size
    out = np.full(n_f, np.nan)
    if target is None:
        return out
    if not isinstance(target, Mapping):
        target = {"*": float(target)}
    systems = [a.system_ids[k] for k in a.fleet_system]
    sites = [a.site_ids[s] for s in a.fleet_site]
    for key, value in target.items():
        if not 0 <= value <= 1:
            raise SustainError(f"target for {key}: must be between 0 and 1: got {value}")
        if key == "*":
            continue
        sys_id, _, site = key.partition("@")
        hits = [f for f in range(n_f) if systems[f] == sys_id and (not site or sites[f] == site)]
        if not hits:
            known = sorted({*systems, *(f"{k}@{s}" for k, s in zip(systems, sites, strict=True))})
            raise SustainError(f"target {key}: no such fleet{did_you_mean(key, known)}")
        out[hits] = value
    if "*" in target:
        out[np.isnan(out)] = target["*"]
    return out


def optimize_arrays(
    a: ScenarioArrays,
    *,
    target: float | Mapping[str, float] | None = None,
    budget: float | None = None,
    method: Method | str = Method.VARI_METRIC,
    min_stock: FloatArray | None = None,
    max_stock: FloatArray | None = None,
    progress: Progress | None = None,
) -> Optimization:
    """:func:`optimize` on compiled arrays."""
    method = Method(method)
    if method is Method.EXACT:
        raise SustainError("optimize uses metric or vari-metric, not the exact method")
    if target is None and budget is None:
        raise SustainError("give a target (--target) or a budget (--budget)")
    if budget is not None and budget < 0:
        raise SustainError(f"budget must be >= 0: got {budget}")
    targets = fleet_targets(a, target)
    res: MarginalResult = marginal_allocation(
        a, targets=None if target is None else targets, budget=budget, method=method,
        min_stock=min_stock, max_stock=max_stock, progress=progress,
    )
    if target is not None and a.n_items * a.n_sites <= SMALL_CASE_PAIRS:
        # Small cases: also try keeping met fleets' weights, and keep the cheaper plan.
        other = marginal_allocation(
            a, targets=targets, budget=budget, method=method, min_stock=min_stock,
            max_stock=max_stock, drop_met=False,
        )
        if other.met and (not res.met or _cost(a, other) < _cost(a, res) - 1e-9):
            res = other
        if a.n_items * a.n_sites <= TINY_CASE_PAIRS:
            plain = plain_greedy(a, targets=targets, method=method, min_stock=min_stock,
                                 max_stock=max_stock)
            if plain.met and (not res.met or _cost(a, plain) < _cost(a, res) - 1e-9):
                res = plain
    if target is not None and a.n_items * a.n_sites <= REFINE_MAX_PAIRS:
        # Exact search of the plan's neighbourhood for a cheaper one (refine.py).
        res = refine_plan(a, res, targets=targets, method=method, min_stock=min_stock,
                          max_stock=max_stock)
    final = evaluate_arrays(a.with_stock(res.stock), method=method)
    if target is not None:
        av = np.nan_to_num(final.availability, nan=1.0)
        short = ~np.isnan(targets) & (av < targets - 1e-9)
        if np.any(short):
            raise TargetUnreachable(
                [
                    (a.system_ids[a.fleet_system[f]], a.site_ids[a.fleet_site[f]],
                     float(targets[f]), float(av[f]))
                    for f in np.flatnonzero(short)
                ]
            )
    costs = np.array([res.start_cost] + [s.cost for s in res.steps])
    avs = np.array([res.start_availability] + [s.availability for s in res.steps])
    return Optimization(
        evaluation=final, held=a.stock, targets=targets, budget=budget,
        curve_cost=costs, curve_availability=avs,
    )


def optimize(
    scenario: Scenario,
    *,
    target: float | Mapping[str, float] | None = None,
    budget: float | None = None,
    method: Method | str = Method.VARI_METRIC,
    progress: Progress | None = None,
) -> Optimization:
    """The cheapest spares to reach ``target``, or the most readiness for ``budget``.

    Parameters
    ----------
    scenario : Scenario
        Its ``stock`` is what is held already (never sold); its ``stock_limits``
        (optional) bound the stock per item and site.
    target : float or mapping, optional
        Availability for every fleet, or per system id / ``SYSTEM@SITE``.
    budget : float, optional
        Money for purchases.
    method : {"vari-metric", "metric"}
    progress : callable, optional
        ``progress(step, cost, worst_gap)``, called every few steps.

    Raises
    ------
    TargetUnreachable
        When the stock limits keep a fleet below its target (names it and the best
        value reachable).
    """
    a = compile_scenario(scenario)
    lo, hi = stock_limits(scenario, a)
    return optimize_arrays(
        a, target=target, budget=budget, method=method, min_stock=lo, max_stock=hi,
        progress=progress,
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
