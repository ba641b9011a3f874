"""The simulator against the analytic engine (METRIC and VARI-METRIC) for the same stock.

This module sits above both engines: :mod:`sustain.simulate` and
:mod:`sustain.readiness` never import each other, and the comparison of their answers
lives here.  :func:`simulate` is the public ``sustain.simulate``: the simulator with
the option ``compare`` that adds the analytic availability of every fleet to the result
(``SimulationResult.analytic``, the ``analytic`` block of the JSON document)::

    import sustain
    res = sustain.simulate(scenario, days=730, replications=200, seed=7, compare=True)
    res.to_dict()["analytic"]["vari-metric"]["fleets"][0]["inside_ci95"]

:func:`over_time_comparison` draws the simulator's 95 % band around the analytic
readiness over time (:func:`sustain.evaluate_over_time`) for the same scenario, run
under the analytic model's assumptions after a lead-in that fills its pipelines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from sustain._types import FloatArray
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.over_time import OverTime
from sustain.readiness.shops import peak_load, repair_shops, scenario_channels
from sustain.scenario.compile import ScenarioArrays
from sustain.scenario.model import Attrition, Scenario
from sustain.simulate import Delays, Progress, SimulationResult
from sustain.simulate import simulate as simulate_only
from sustain.simulate.budget import MAX_EVENTS, MAX_MEMORY
from sustain.simulate.replicate import t_quantile


def analytic_comparison(result: SimulationResult) -> dict[str, Any]:
    """Per method and fleet: analytic availability, difference, inside the 95 % CI?

    The analytic models are steady state: with time-phased keys they evaluate the
    day-0 scenario, so the difference measures those keys as much as the models.
    """
    a = result.arrays
    cis = result.availability_ci95()
    sim = result.availability_mean
    out: dict[str, Any] = {}
    for method in ("vari-metric", "metric"):
        ev = evaluate_arrays(a, method=method)
        rows = []
        for f in range(a.fleet_system.size):
            av = float(ev.availability[f])
            lo, hi = cis[f]
            both = not (np.isnan(av) or np.isnan(sim[f]))  # else nothing to compare
            rows.append({
                "system": a.system_ids[a.fleet_system[f]],
                "site": a.site_ids[a.fleet_site[f]],
                "availability": None if np.isnan(av) else av,
                "difference": av - float(sim[f]) if both else None,
                "inside_ci95": bool(lo <= av <= hi) if both else None,
            })
        diffs = [abs(r["difference"]) for r in rows if r["difference"] is not None]
        out[method] = {
            "fleets": rows,
            "mean_abs_difference": float(np.mean(diffs)) if diffs else None,
        }
    return out


def with_analytic(result: SimulationResult) -> SimulationResult:
    """``result`` with :func:`analytic_comparison` attached (``result.analytic``)."""
    return replace(result, analytic=analytic_comparison(result))


def shop_load(
    result: SimulationResult,
    scenario: Scenario | ScenarioArrays,
    repair_channels: Mapping[str, int] | None = None,
) -> list[dict[str, Any]] | None:
    """The ``repair_shops`` block of a simulation: per site with channels, the analytic
    offered load and utilisation of the day-0 fleets, the peak over the run (deliveries
    and tempo), the simulated time-average jobs at the shop (queued or in service) and
    the simulated utilisation (time-average busy channels / channels).

    None when no site has channels.
    """
    channels = scenario_channels(scenario) if isinstance(scenario, Scenario) else {}
    channels.update(repair_channels or {})
    if not channels:
        return None
    a = result.arrays
    shops = repair_shops(a, channels)
    rows = shops.to_list(a)
    peak = (
        peak_load(scenario, a, shops, days=result.days) if isinstance(scenario, Scenario)
        else None
    )
    jobs = result.in_repair.mean(axis=0)
    busy = None if result.busy is None else result.busy.mean(axis=0)
    for n, row in enumerate(rows):
        load = row["offered_load"] if peak is None else float(peak.offered_load[n])
        row["peak_offered_load"] = load
        row["peak_utilisation"] = load / row["channels"]
        day = 0.0 if peak is None else float(peak.day[n])
        row["peak_day"] = int(day) if day == int(day) else day
        row["in_repair_mean"] = float(jobs[shops.sites[n]])
        if busy is not None:
            row["utilisation_simulated"] = float(busy[shops.sites[n]]) / row["channels"]
    return rows


def simulate(
    scenario: Scenario | ScenarioArrays,
    *,
    days: float,
    replications: int,
    seed: int,
    warmup_days: float | None = None,
    stock: FloatArray | Mapping[tuple[str, str], float] | None = None,
    failures_while_down: bool = False,
    delays: Delays | str = Delays.DETERMINISTIC,
    repair_channels: Mapping[str, int] | None = None,
    cannibalisation: bool | None = None,
    workers: int = 1,
    dask_address: str | Any | None = None,
    progress: Progress | None = None,
    max_events: float = MAX_EVENTS,
    max_memory: float = MAX_MEMORY,
    compare: bool = False,
) -> SimulationResult:
    """:func:`sustain.simulate.simulate`, plus the analytic comparison when ``compare``.

    Parameters
    ----------
    compare : bool
        Add the analytic (VARI-METRIC and METRIC) availability of every fleet, its
        difference from the simulation and whether it lies inside the 95 % CI.
    others
        As :func:`sustain.simulate.simulate`.

    Returns
    -------
    SimulationResult
        With ``repair_shops`` (:func:`shop_load`) when some site has repair channels.
    """
    result = simulate_only(
        scenario, days=days, replications=replications, seed=seed, warmup_days=warmup_days,
        stock=stock, failures_while_down=failures_while_down, delays=delays,
        repair_channels=repair_channels, cannibalisation=cannibalisation, workers=workers,
        dask_address=dask_address, progress=progress, max_events=max_events,
        max_memory=max_memory,
    )
    shops = shop_load(result, scenario, repair_channels)
    if shops is not None:
        result = replace(result, repair_shops=shops)
    return with_analytic(result) if compare else result


# ------------------------------------------------------------- readiness over time

#: A run's lead-in is at least this many days (and at least the longest delay chain,
#: times :data:`LEAD_IN_FACTOR`).
MIN_LEAD_IN_DAYS = 30.0
#: The lead-in in multiples of the longest chain of delays: with deterministic delays
#: the pipelines are stationary once the chain has passed; with exponential delays
#: their means approach it as ``1 − e^{−t/L}``, within 1 % after 5 mean delays.
LEAD_IN_FACTOR = {Delays.DETERMINISTIC: 1.5, Delays.EXPONENTIAL: 5.0}


def lead_in_days(scenario: Scenario, delays: Delays | str = Delays.DETERMINISTIC) -> float:
    """Days the simulator runs at the day-0 state before the scenario's day 0.

    The simulator starts with empty pipelines; the analytic model over time starts
    in steady state.  The lead-in is :data:`LEAD_IN_FACTOR` times the longest chain
    of delays (an item's repair, condemnation and procurement times plus its
    sub-items' chain, the order-and-ship times from the root to the deepest site,
    and the longest battle-damage repair), and at least :data:`MIN_LEAD_IN_DAYS`.
    """
    items = {it.id: it for it in scenario.items}
    children: dict[str, list[str]] = {}
    for it in scenario.items:
        if it.parent is not None:
            children.setdefault(it.parent, []).append(it.id)

    def chain(item_id: str, seen: frozenset[str] = frozenset()) -> float:
        it = items[item_id]
        own = it.base_repair_days + it.depot_repair_days + it.procurement_days
        subs = [chain(c, seen | {item_id}) for c in children.get(item_id, []) if c not in seen]
        return own + max(subs, default=0.0)

    sites = {s.id: s for s in scenario.sites}

    def depth(site_id: str) -> float:
        total, s = 0.0, sites[site_id]
        for _ in range(len(sites)):
            total += s.order_ship_days
            if s.parent is None:
                break
            s = sites[s.parent]
        return total

    longest = (
        max((chain(i) for i in items), default=0.0) + max(map(depth, sites), default=0.0)
        + max((b.repair_days for b in scenario.battle_damage), default=0.0)
    )
    return max(MIN_LEAD_IN_DAYS, math.ceil(LEAD_IN_FACTOR[Delays(delays)] * longest))


def _shifted(day: float, lead_in: float) -> float:
    """A scenario day on the simulator's clock: days <= 0 hold from the run's start."""
    return 0.0 if day <= 0 else day + lead_in


def analytic_assumptions(scenario: Scenario, lead_in: float) -> Scenario:
    """``scenario`` as the simulator runs it for a comparison with the model over time.

    The analytic model's assumptions: no repair-channel limits, exponential lifetimes
    (``weibull_shape`` 1), no cannibalisation (pass ``cannibalisation=False``, and
    ``failures_while_down=True``).  Deliveries, tempo windows and dated losses move
    ``lead_in`` days later (those on day 0 or before hold from the start, as in the
    analytic model's steady state before day 0).  Losses given as a rate are left
    out: :func:`over_time_comparison` draws them for each replication.
    """
    return replace(
        scenario,
        sites=tuple(replace(s, repair_channels=None) for s in scenario.sites),
        items=tuple(replace(it, weibull_shape=1.0) for it in scenario.items),
        deliveries=tuple(replace(d, day=_shifted(d.day, lead_in)) for d in scenario.deliveries),
        tempo=tuple(
            replace(t, from_day=_shifted(t.from_day, lead_in),
                    to_day=_shifted(t.to_day, lead_in))
            for t in scenario.tempo
        ),
        attrition=tuple(
            replace(r, day=_shifted(r.day, lead_in))
            for r in scenario.attrition if r.losses_per_day is None and r.day is not None
        ),
    )


def losses_drawn(
    scenario: Scenario, lead_in: float, days: float, rng: np.random.Generator
) -> tuple[Attrition, ...]:
    """One path of the Poisson losses of every fleet with ``losses_per_day``, as dated
    losses of one system on the simulator's clock ``(lead_in, lead_in + days]``.

    A loss that finds no system is void, as is the rate's loss in the simulator (its
    process pauses while the fleet is empty, which by memorylessness is the same).
    """
    drawn: list[Attrition] = []
    for r in scenario.attrition:
        if r.losses_per_day is None or r.losses_per_day <= 0:
            continue
        k = int(rng.poisson(r.losses_per_day * days))
        at = np.sort(rng.uniform(0.0, days, size=k))  # Poisson points on (0, days]
        drawn += [Attrition(system=r.system, site=r.site, day=lead_in + float(t), count=1)
                  for t in at]
    return tuple(drawn)


def over_time_comparison(
    scenario: Scenario,
    ot: OverTime,
    *,
    replications: int,
    seed: int,
    lead_in: float | None = None,
    workers: int = 1,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The simulator's 95 % band around its mean availability, per fleet and day of
    ``ot``, for ``scenario`` under the analytic assumptions
    (:func:`analytic_assumptions`), and the share of days the analytic value lies in it.

    The simulator runs ``lead_in`` (default :func:`lead_in_days`) + ``ot.days[-1]``
    days; the analytic day ``t`` is compared with the simulator's day ``lead_in + t``
    (the nearest day it sampled, the same one for runs of at most 1,000 days).  The
    band is the 95 % t confidence interval of the mean over the replications in which
    the fleet had a system present at that day.  Without losses given as a rate, the
    replications run as one simulation with ``seed``; with them, replication ``r``
    draws its loss days and its simulation's seed from stream ``r`` of
    ``SeedSequence(seed).spawn(replications)``.

    Returns
    -------
    dict
        The ``simulated`` block of the ``evaluate --over-time --compare`` document
        (docs/over-time.md).
    """
    delays = Delays.EXPONENTIAL if ot.exponential else Delays.DETERMINISTIC
    lead = lead_in_days(scenario, delays) if lead_in is None else float(lead_in)
    horizon = float(ot.days[-1])
    base = analytic_assumptions(scenario, lead)
    rated = any(r.losses_per_day for r in scenario.attrition)

    def run(sc: Scenario, reps: int, run_seed: int, done: int) -> SimulationResult:
        return simulate_only(
            sc, days=lead + horizon, replications=reps, seed=run_seed, warmup_days=0.0,
            failures_while_down=True, delays=delays, cannibalisation=False,
            workers=workers if not rated else 1,
            progress=None if progress is None else (
                lambda k, _n: progress(done + k, replications)),
        )

    if not rated:
        results = [run(base, replications, seed, 0)]
    else:
        results = []
        for r, child in enumerate(np.random.SeedSequence(seed).spawn(replications)):
            draw, sim_seed = child.spawn(2)
            losses = losses_drawn(scenario, lead, horizon, np.random.default_rng(draw))
            sc = replace(base, attrition=base.attrition + losses)
            results.append(run(sc, 1, int(sim_seed.generate_state(1, np.uint64)[0] >> 1), r))
    sim = results[0]
    share_up = np.concatenate([res.series for res in results])  # reps × samples × fleets
    where = np.abs(sim.series_days[None, :] - (lead + ot.days.astype(float))[:, None])
    at = where.argmin(axis=1)
    a_sim, a = sim.arrays, ot.arrays
    col = {(a_sim.system_ids[a_sim.fleet_system[f]], a_sim.site_ids[a_sim.fleet_site[f]]): f
           for f in range(a_sim.fleet_system.size)}
    fleets = []
    for f in range(a.fleet_system.size):
        key = (a.system_ids[a.fleet_system[f]], a.site_ids[a.fleet_site[f]])
        x = share_up[:, at, col[key]]  # reps × days
        mean, lo, hi = _band(x)
        av = ot.availability[f]
        both = ~(np.isnan(av) | np.isnan(mean))
        inside = (lo <= av) & (av <= hi) & both
        fleets.append({
            "system": key[0], "site": key[1],
            "inside_ci95_share": float(inside.sum() / both.sum()) if both.any() else None,
            "series": [
                {"day": int(d), "simulator_day": _number(float(sim.series_days[k])),
                 "mean": _opt(mean[n]), "lo": _opt(lo[n]), "hi": _opt(hi[n])}
                for n, (d, k) in enumerate(zip(ot.days.tolist(), at.tolist(), strict=True))
            ],
        })
    return {
        "replications": replications, "seed": seed, "lead_in_days": _number(lead),
        "delays": str(delays), "failures_while_down": True, "fleets": fleets,
    }


def _band(x: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Per column of ``x`` (replications × days; NaN: no system present): the mean and
    its 95 % t confidence interval, cut to [0, 1] (a point with one value, NaN with none)."""
    ok = ~np.isnan(x)
    n = ok.sum(axis=0)
    z = np.where(ok, x, 0.0)
    mean = np.full(x.shape[1], np.nan)
    np.divide(z.sum(axis=0), n, out=mean, where=n > 0)
    dev = np.where(ok, x - mean, 0.0)
    var = np.zeros(x.shape[1])
    np.divide((dev**2).sum(axis=0), n - 1, out=var, where=n > 1)
    half = np.where(n > 1, t_quantile(0.975, np.maximum(n - 1, 1)), 0.0) * np.sqrt(
        var / np.maximum(n, 1))
    return mean, np.clip(mean - half, 0.0, 1.0), np.clip(mean + half, 0.0, 1.0)


def _opt(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _number(x: float) -> float | int:
    return int(x) if x == int(x) else x
