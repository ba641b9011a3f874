"""Evaluate a scenario: pipelines, backorders and fleet availability in one call."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.readiness.drivers import TOP_DRIVERS, FleetDrivers, fleet_drivers
from sustain.readiness.metric import Flows, Method, Pipelines, demand_flows, fleet_availability
from sustain.readiness.metric import pipelines as approx_pipelines
from sustain.readiness.redundancy import split_availability
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

    def fleets_dict(self) -> list[dict[str, Any]]:
        """The ``fleets`` part of the JSON contract."""
        a = self.arrays
        expected = self.expected_available
        fmc = self.fully_mission_capable
        out = []
        for f in range(a.fleet_system.size):
            av = float(self.availability[f])
            av_fmc = float(fmc[f])
            out.append(
                {
                    "system": a.system_ids[a.fleet_system[f]],
                    "site": a.site_ids[a.fleet_site[f]],
                    "count": int(a.fleet_count[f]),
                    "availability": None if np.isnan(av) else av,
                    "availability_fmc": None if np.isnan(av_fmc) else av_fmc,
                    "expected_available": float(expected[f]),
                }
            )
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
        lists = {k: v.tolist() for k, v in cols.items()}
        out = []
        for n, (i, s) in enumerate(zip(ii.tolist(), ss.tolist(), strict=True)):
            row: dict[str, Any] = {"item": a.item_ids[i], "site": a.site_ids[s]}
            for k, v in lists.items():
                row[k] = int(v[n]) if k == "stock" else v[n]
            out.append(row)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``sustain evaluate --json`` (shared/spec).

        ``repair_shops`` is there when some site has ``repair_channels``.  Each fleet
        carries its ``drivers`` (:meth:`fleets_with_drivers`).
        """
        doc: dict[str, Any] = {
            "method": str(self.method),
            "fleets": self.fleets_with_drivers(),
            "items": self.items_dict(),
            "stock_cost": self.stock_cost,
        }
        if self.repair_shops is not None and self.repair_shops.site_ids:
            doc["repair_shops"] = self.repair_shops.to_list(self.arrays)
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
    product = fleet_availability(a, flows, pipes.ebo)
    mc, fmc = split_availability(a, flows, pipes, product)
    return Evaluation(
        arrays=a,
        method=method,
        flows=flows,
        pipes=pipes,
        availability=mc,
        availability_fmc=None if fmc is mc else fmc,
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
