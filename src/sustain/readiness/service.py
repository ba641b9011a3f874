"""Service measures besides availability: fill rate and mean waiting time.

For one item at one site with stock ``s`` and pipeline ``X`` (units in repair or in
resupply, Palm's theorem), a demand arriving finds a spare on the shelf when fewer
than ``s`` units are in the pipeline.  Poisson arrivals see time averages (PASTA), so

    fill_is = P(X_is < s_is) = P(X_is ≤ s_is − 1)

(Sherbrooke 2004, *Optimal Inventory Modeling of Systems*, 2nd ed., ch. 2; the
``fill_rate`` of :func:`sustain.readiness.metric.pipelines`).  A demand that finds the
shelf empty waits; by Little's law the mean wait of a demand (counting the zero waits
of the demands filled at once) is

    wait_is = EBO_is / m_is   days

with ``m_is`` the demands per day on the site's stock (the same quantity is a base's
extra resupply delay in METRIC: Sherbrooke 1968; Sherbrooke 2004, ch. 4).

Aggregates, each a demand-weighted mean of these:

* **per site** ``s`` — over every request on the site's stock (failures of the fleets
  there, sub-item demands of the repairs done there, and the resupply orders of the
  sites below it), weighted by ``m_is``::

      fill_s = Σ_i m_is · fill_is / Σ_i m_is,      wait_s = Σ_i EBO_is / Σ_i m_is

* **per fleet** ``f`` (system ``k`` at site ``s``) — over the failures of its own
  systems, i.e. the top-level items installed, weighted by the fleet's demand for each,
  ``Z_ik · λ_i · N_f · h_f`` (``N_f · h_f`` cancels)::

      fill_f = Σ_i Z_ik λ_i fill_is / Σ_i Z_ik λ_i,
      wait_f = Σ_i Z_ik λ_i (EBO_is / m_is) / Σ_i Z_ik λ_i

  A fleet's systems share the site's shelf with the other fleets there, and a request
  waits the same whoever makes it, so the fleet's own items at its site are what its
  systems see.  Sub-items do not enter: their backorders lengthen their parents'
  repairs, so they are already in the parents' ``EBO``.

Both are NaN where there is no demand (a site no request reaches, a fleet of zero
systems).  Fill rate lies in [0, 1] and never falls when a unit is added at the site
(``P(X < s)`` grows with ``s``); waiting time never rises.  Neither is convex in the
stock: ``fill_is(s + 1) − fill_is(s) = P(X = s)`` rises up to the mode of ``X`` and
falls after it (the optimiser's answer to that is in :mod:`sustain.optimize.service`).

Pure array code: no I/O, no printing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from sustain._types import FloatArray
from sustain.readiness.metric import Flows, Pipelines
from sustain.scenario.compile import ScenarioArrays


def _ratio(num: FloatArray, den: FloatArray) -> FloatArray:
    """``num / den``, NaN where ``den`` is 0."""
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def item_wait_days(flows: Flows, ebo: FloatArray) -> FloatArray:
    """Mean wait of a demand on each item at each site, ``EBO / m`` days (0 where ``m`` is 0)."""
    out = np.zeros(np.broadcast(ebo, flows.demand).shape)
    np.divide(ebo, flows.demand, out=out, where=flows.demand > 0)
    return out


def fleet_item_weights(a: ScenarioArrays) -> sparse.csr_matrix:
    """(systems × items): ``Z_ik · λ_i``, a system's failures of item ``i`` per operating
    hour (top-level items only: sub-items have ``λ = 0``)."""
    inst = a.installations
    return sparse.csr_matrix(
        (inst.qty * a.failures_per_hour[inst.item], (inst.system, inst.item)),
        shape=(len(a.system_ids), a.n_items),
    )


def fleet_means(a: ScenarioArrays, values: FloatArray) -> FloatArray:
    """Per fleet: the mean of ``values`` (items × sites) at the fleet's site over the
    items its systems fail, weighted by ``Z_ik · λ_i``; NaN for a fleet without demand."""
    w = fleet_item_weights(a)
    num = np.asarray(w @ values)  # systems × sites
    den = np.asarray(w.sum(axis=1)).ravel()
    k, s = a.fleet_system, a.fleet_site
    den_f = np.where(a.fleet_count > 0, den[k], 0.0)
    return _ratio(num[k, s], den_f)


def site_fill_rate(flows: Flows, fill: FloatArray) -> FloatArray:
    """Per site: the share of the requests on its stock filled at once (NaN: no demand)."""
    return _ratio(np.sum(flows.demand * fill, axis=0), np.sum(flows.demand, axis=0))


def site_mean_wait(flows: Flows, ebo: FloatArray) -> FloatArray:
    """Per site: the mean wait of a request on its stock, days (NaN: no demand)."""
    return _ratio(np.sum(ebo, axis=0), np.sum(flows.demand, axis=0))


@dataclass(frozen=True, slots=True, kw_only=True)
class ServiceMeasures:
    """Fill rate and mean waiting time per fleet and per site (NaN: no demand)."""

    fleet_fill_rate: FloatArray
    fleet_mean_wait_days: FloatArray
    site_fill_rate: FloatArray
    site_mean_wait_days: FloatArray
    site_demand_per_day: FloatArray

    def sites_list(self, a: ScenarioArrays) -> list[dict[str, Any]]:
        """The ``sites`` of the JSON documents: one row per site in compiled order."""
        return [
            {"site": a.site_ids[s], "demand_per_day": float(self.site_demand_per_day[s]),
             "fill_rate": _known(self.site_fill_rate[s]),
             "mean_wait_days": _known(self.site_mean_wait_days[s])}
            for s in range(a.n_sites)
        ]


def _known(x: float) -> float | None:
    return None if np.isnan(x) else float(x)


def service_measures(a: ScenarioArrays, flows: Flows, pipes: Pipelines) -> ServiceMeasures:
    """Fill rate and mean wait of every fleet and site (module docstring)."""
    return ServiceMeasures(
        fleet_fill_rate=fleet_means(a, pipes.fill_rate),
        fleet_mean_wait_days=fleet_means(a, item_wait_days(flows, pipes.ebo)),
        site_fill_rate=site_fill_rate(flows, pipes.fill_rate),
        site_mean_wait_days=site_mean_wait(flows, pipes.ebo),
        site_demand_per_day=np.sum(flows.demand, axis=0),
    )
