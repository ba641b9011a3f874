"""Evaluate a scenario: pipelines, backorders and fleet availability in one call."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.readiness.drivers import TOP_DRIVERS, FleetDrivers, fleet_drivers
from sustain.readiness.laterals import lateral_pipelines
from sustain.readiness.metric import Flows, Method, Pipelines, demand_flows, fleet_availability
from sustain.readiness.metric import pipelines as approx_pipelines
from sustain.readiness.redundancy import split_availability
from sustain.readiness.service import ServiceMeasures, service_measures
from sustain.readiness.shops import RepairShops, repair_shops, scenario_channels
from sustain.scenario.compile import ScenarioArrays, compile_scenario
from sustain.scenario.model import Scenario


@dataclass(frozen=True, slots=True, kw_only=True)
class Evaluation:
    """Readiness of a scenario under one stock allocation.

    Attributes
    ----------
    arrays : ScenarioArrays
        The compiled scenario (ids and stock).
    method : Method
        How the pipelines were modelled.
    flows : Flows
        Demand rates per item and site.
    pipes : Pipelines
        Pipeline moments, EBO, VBO and fill rate per item and site.
    availability : FloatArray
        Per fleet (NaN for a fleet of zero systems): mission capable, every essential
        item with at least its ``needed`` units in place (:mod:`.redundancy`).
    repair_shops : RepairShops or None
        Load of the sites with ``repair_channels`` (:func:`evaluate` of a scenario
        that has some; the analytic model itself assumes unlimited repair capacity).
    lateral_share : FloatArray or None
        (items × sites) share of the demands met from a linked site's shelf
        (:mod:`sustain.readiness.laterals`); None when the scenario has no laterals.
    availability_fmc : FloatArray or None
        Per fleet, fully mission capable: every position of every item filled (None: as
        ``availability``, the scenario has no redundant or inessential item).
    """

    arrays: ScenarioArrays
    method: Method
    flows: Flows
    pipes: Pipelines
    availability: FloatArray
    repair_shops: RepairShops | None = None
    lateral_share: FloatArray | None = None
    availability_fmc: FloatArray | None = None

    @property
    def fully_mission_capable(self) -> FloatArray:
        """Per fleet, every position of every item filled."""
        return self.availability if self.availability_fmc is None else self.availability_fmc

    @property
    def expected_available(self) -> FloatArray:
        """Expected number of systems up, per fleet."""
        return np.nan_to_num(self.availability) * self.arrays.fleet_count

    @property
    def stock_cost(self) -> float:
        """Value of the spares held, in the scenario's currency."""
        return float(np.sum(self.arrays.stock * self.arrays.unit_cost[:, None]))

    def item_rows(self) -> tuple[IntArray, IntArray]:
        """(item, site) indices of the rows reported: stocked or demanded."""
        a = self.arrays
        ii, ss = np.nonzero((a.stock > 0) | (self.flows.demand > 0))
        return ii.astype(np.int64), ss.astype(np.int64)

    def service(self) -> ServiceMeasures:
        """Fill rate and mean waiting time per fleet and per site
        (:mod:`sustain.readiness.service`)."""
        return service_measures(self.arrays, self.flows, self.pipes)

    def fleets_dict(self) -> list[dict[str, Any]]:
        """The ``fleets`` part of the JSON contract (``fill_rate`` and ``mean_wait_days``:
        :meth:`service`; None for a fleet without demand)."""
        a = self.arrays
        expected = self.expected_available
        sm = self.service()
        fmc = self.fully_mission_capable
        out = []
        for f in range(a.fleet_system.size):
            av = float(self.availability[f])
            av_fmc = float(fmc[f])
            fill, wait = float(sm.fleet_fill_rate[f]), float(sm.fleet_mean_wait_days[f])
            out.append(
                {
                    "system": a.system_ids[a.fleet_system[f]],
                    "site": a.site_ids[a.fleet_site[f]],
                    "count": int(a.fleet_count[f]),
                    "availability": None if np.isnan(av) else av,
                    "availability_fmc": None if np.isnan(av_fmc) else av_fmc,
                    "expected_available": float(expected[f]),
                    "fill_rate": None if np.isnan(fill) else fill,
                    "mean_wait_days": None if np.isnan(wait) else wait,
                }
            )
        if self.lateral_share is not None:
            for row, value in zip(out, self.fleet_lateral_share().tolist(), strict=True):
                row["lateral_share"] = value
        return out

    def fleet_lateral_share(self) -> FloatArray:
        """Share of each fleet's demands (failures of its top-level items) met from a
        linked site's shelf; zeros without laterals."""
        a = self.arrays
        n_f = a.fleet_system.size
        if self.lateral_share is None or n_f == 0:
            return np.zeros(n_f)
        # Failures per day of each item in one system of each type: Z · rate.
        rate = a.qty_per_system * a.failures_per_hour[:, None]  # items × systems
        per_fleet = rate[:, a.fleet_system]  # items × fleets
        shares = self.lateral_share[:, a.fleet_site]  # items × fleets
        total = per_fleet.sum(axis=0)
        out = np.zeros(n_f)
        np.divide((per_fleet * shares).sum(axis=0), total, out=out, where=total > 0)
        return out

    def drivers(self, top: int | None = None) -> FleetDrivers:
        """Each top-level item's share of every fleet's lost availability, and where its
        backorders come from (:mod:`sustain.readiness.drivers`); the ``top`` largest
        per fleet when given."""
        return fleet_drivers(self.arrays, self.flows, self.pipes, self.availability,
                             self.method, top=top)

    def fleets_with_drivers(self, top: int = TOP_DRIVERS) -> list[dict[str, Any]]:
        """:meth:`fleets_dict` with ``drivers`` (the ``top`` largest shares of the lost
        availability) and ``drivers_other`` (how many more items, their total share)."""
        fleets = self.fleets_dict()
        for row, (top_rows, rest) in zip(
            fleets, self.drivers(top).to_lists(self.arrays), strict=True
        ):
            row["drivers"] = top_rows
            row["drivers_other"] = rest
        return fleets

    def items_dict(self) -> list[dict[str, Any]]:
        """The ``items`` part of the JSON contract (one row per stocked/demanded pair)."""
        a, p = self.arrays, self.pipes
        ii, ss = self.item_rows()
        cols = {
            "stock": a.stock[ii, ss],
            "demand_per_day": self.flows.demand[ii, ss],
            "pipeline_mean": p.mean[ii, ss],
            "pipeline_var": p.var[ii, ss],
            "ebo": p.ebo[ii, ss],
            "vbo": p.vbo[ii, ss],
            "fill_rate": p.fill_rate[ii, ss],
        }
        if self.lateral_share is not None:
            cols["lateral_share"] = self.lateral_share[ii, ss]
        lists = {k: v.tolist() for k, v in cols.items()}
        out = []
        for n, (i, s) in enumerate(zip(ii.tolist(), ss.tolist(), strict=True)):
            row: dict[str, Any] = {"item": a.item_ids[i], "site": a.site_ids[s]}
            for k, v in lists.items():
                row[k] = int(v[n]) if k == "stock" else v[n]
            out.append(row)
        return out

    def idle_rows(self) -> tuple[IntArray, IntArray]:
        """(item, site) indices of the stock no demand reaches: spares held at a site
        where no fleet there or below uses the item (nor, for a sub-item, repairs its
        parent), so the demand rate there is 0 and the units never serve a failure.
        Stock at a site that lateral links let serve a neighbour with demand is not idle."""
        reached = self.flows.demand > 0
        lat = self.arrays.laterals
        if lat is not None:  # a spare on this shelf may go to the linked site's demand
            served = reached.copy()
            for site, source in zip(lat.site.tolist(), lat.source.tolist(), strict=True):
                served[:, source] |= reached[:, site]
            reached = served
        ii, ss = np.nonzero((self.arrays.stock > 0) & ~reached)
        return ii.astype(np.int64), ss.astype(np.int64)

    def idle_stock(self) -> list[dict[str, Any]]:
        """Stock no demand reaches (:meth:`idle_rows`): item, site, qty, value
        (qty × unit cost); the most valuable first."""
        a = self.arrays
        ii, ss = self.idle_rows()
        rows = [
            {"item": a.item_ids[i], "site": a.site_ids[s], "qty": int(a.stock[i, s]),
             "value": float(a.stock[i, s] * a.unit_cost[i])}
            for i, s in zip(ii.tolist(), ss.tolist(), strict=True)
        ]
        return sorted(rows, key=lambda r: -r["value"])

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``sustain evaluate --json`` (shared/spec).

        ``repair_shops`` is there when some site has ``repair_channels``, and
        ``idle_stock`` (:meth:`idle_stock`) when some stock is held where no demand
        reaches it.  Each fleet carries its ``drivers`` (:meth:`fleets_with_drivers`);
        ``sites`` gives each site's demand, fill rate and mean wait (:meth:`service`).
        """
        doc: dict[str, Any] = {
            "method": str(self.method),
            "fleets": self.fleets_with_drivers(),
            "items": self.items_dict(),
            "stock_cost": self.stock_cost,
            "sites": self.service().sites_list(self.arrays),
        }
        if self.repair_shops is not None and self.repair_shops.site_ids:
            doc["repair_shops"] = self.repair_shops.to_list(self.arrays)
        idle = self.idle_stock()
        if idle:
            doc["idle_stock"] = idle
        return doc


def evaluate_arrays(a: ScenarioArrays, *, method: Method | str = Method.VARI_METRIC) -> Evaluation:
    """Evaluate compiled arrays (the fast path used by the optimiser and benchmarks)."""
    method = Method(method)
    flows = demand_flows(a)
    if method is Method.EXACT:
        # Imported here, not at the top: scipy.stats (about 1 s to import) only for this.
        from sustain.readiness.exact import exact_pipelines

        pipes: Pipelines = exact_pipelines(a, flows)
    else:
        pipes = approx_pipelines(a, flows, method)
    share = None
    if a.laterals is not None:
        lat = lateral_pipelines(a, flows, pipes)
        pipes, share = lat.pipes, lat.share
    product = fleet_availability(a, flows, pipes.ebo)
    mc, fmc = split_availability(a, flows, pipes, product)
    return Evaluation(
        arrays=a,
        method=method,
        flows=flows,
        pipes=pipes,
        availability=mc,
        availability_fmc=None if fmc is mc else fmc,
        lateral_share=share,
    )


def evaluate(scenario: Scenario, *, method: Method | str = Method.VARI_METRIC) -> Evaluation:
    """Readiness of ``scenario`` with its current stock.

    Parameters
    ----------
    scenario : Scenario
        A validated scenario (:func:`sustain.load_scenario`).
    method : {"vari-metric", "metric", "exact"}
        VARI-METRIC (default; negative binomial pipelines), METRIC (Poisson), or
        Graves' exact two-echelon single-indenture model.

    Returns
    -------
    Evaluation
        With ``repair_shops`` when some site has ``repair_channels``.
    """
    ev = evaluate_arrays(compile_scenario(scenario), method=method)
    channels = scenario_channels(scenario)
    if not channels:
        return ev
    return replace(ev, repair_shops=repair_shops(ev.arrays, channels, ev.flows))
