"""The simulator against the analytic engine (METRIC and VARI-METRIC) for the same stock.

This module sits above both engines: :mod:`sustain.simulate` and
:mod:`sustain.readiness` never import each other, and the comparison of their answers
lives here.  :func:`simulate` is the public ``sustain.simulate``: the simulator with
the option ``compare`` that adds the analytic availability of every fleet to the result
(``SimulationResult.analytic``, the ``analytic`` block of the JSON document)::

    import sustain
    res = sustain.simulate(scenario, days=730, replications=200, seed=7, compare=True)
    res.to_dict()["analytic"]["vari-metric"]["fleets"][0]["inside_ci95"]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from sustain._types import FloatArray
from sustain.readiness.evaluate import evaluate_arrays
from sustain.readiness.shops import peak_load, repair_shops, scenario_channels
from sustain.scenario.compile import ScenarioArrays
from sustain.scenario.model import Scenario
from sustain.simulate import Delays, Progress, SimulationResult
from sustain.simulate import simulate as simulate_only
from sustain.simulate.budget import MAX_EVENTS, MAX_MEMORY


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
