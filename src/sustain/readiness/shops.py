"""Load on repair shops with a finite number of channels: offered load and utilisation.

The analytic engine assumes unlimited repair capacity (Palm's theorem: every unit
in repair is in service).  A site's ``repair_channels`` (read by the simulator) can
make that assumption false.  For a site ``s`` with ``c`` channels:

* arrivals into repair per day ``λ_s = Σ_i repairs[i, s]``: base repairs of the
  failures arising there (``base_repair_fraction``), at a root every arrival that is
  not condemned, sub-items included (``replace_fraction`` of their parent's repairs);
  the same flows as :func:`sustain.readiness.metric.demand_flows`;
* offered load ``a_s = λ_s · T = Σ_i repairs[i, s] · T_i`` in channels' worth of work
  (Erlang), ``T_i`` the item's ``base_repair_days`` (``depot_repair_days`` at a root);
  with unlimited channels it is the mean number of units in repair (Palm);
* utilisation ``ρ_s = a_s / c``, the share of the channels' time that repairs need
  (Gross et al. 2008, *Fundamentals of Queueing Theory*, 4th ed., ch. 2,
  M/M/c: ``ρ = λ / (c μ)``).  At ``ρ ≥ 1`` an open queue grows without bound; in the
  simulator, where a down system stops failing, availability falls instead.

Pure array code: no I/O, no printing.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.readiness.metric import Flows, demand_flows
from sustain.scenario.compile import ScenarioArrays
from sustain.scenario.model import Scenario

#: Utilisation from which a shop is reported as overloaded: queues then hold a large
#: share of the units in repair, which the analytic model does not see (M/M/c with
#: c ≤ 10 at ρ = 0.9: 67 to 90 % of the repairs wait, the mean queue is 6 to 8 jobs
#: against 0.9 c in service; Erlang C: Gross et al. 2008, ch. 2).
OVERLOAD_UTILISATION = 0.9


@dataclass(frozen=True, slots=True, kw_only=True)
class RepairShops:
    """Load of each site that has a finite number of repair channels.

    Attributes
    ----------
    site_ids : tuple[str, ...]
        The sites with channels, in the compiled site order.
    sites : IntArray
        Their compiled site indices.
    channels : IntArray
        Parallel repair channels ``c``.
    arrivals_per_day : FloatArray
        Repairs arriving per day ``λ`` (the analytic demand flows).
    offered_load : FloatArray
        ``λ · T``: channels' worth of work (Erlang), the mean number in repair with
        unlimited channels.
    fleets : tuple[tuple[int, ...], ...]
        Per shop, the fleets (compiled indices) whose repairs reach it: the fleets at
        the shop's site and at the sites below it.
    """

    site_ids: tuple[str, ...]
    sites: IntArray
    channels: IntArray
    arrivals_per_day: FloatArray
    offered_load: FloatArray
    fleets: tuple[tuple[int, ...], ...]

    @property
    def utilisation(self) -> FloatArray:
        """``ρ = λ · T / c`` per shop."""
        return self.offered_load / self.channels

    @property
    def overloaded(self) -> IntArray:
        """Positions of the shops at or above :data:`OVERLOAD_UTILISATION`."""
        return np.flatnonzero(self.utilisation >= OVERLOAD_UTILISATION)

    def to_list(self, a: ScenarioArrays) -> list[dict[str, Any]]:
        """The ``repair_shops`` part of the JSON documents (``a``: the compiled scenario)."""
        rho = self.utilisation
        return [
            {
                "site": self.site_ids[n],
                "channels": int(self.channels[n]),
                "arrivals_per_day": float(self.arrivals_per_day[n]),
                "offered_load": float(self.offered_load[n]),
                "utilisation": float(rho[n]),
                "fleets": [
                    {"system": a.system_ids[a.fleet_system[f]], "site": a.site_ids[a.fleet_site[f]]}
                    for f in self.fleets[n]
                ],
            }
            for n in range(len(self.site_ids))
        ]


def scenario_channels(scenario: Scenario) -> dict[str, int]:
    """``{site: repair_channels}`` for the sites of ``scenario`` that give the key."""
    return {s.id: s.repair_channels for s in scenario.sites if s.repair_channels}


def offered_load(a: ScenarioArrays, flows: Flows | None = None) -> tuple[FloatArray, FloatArray]:
    """Per site: repairs arriving per day ``λ`` and offered load ``λ · T`` (all sites).

    The sums over items are exactly rounded (``math.fsum``), so they do not depend on
    the order of the items, which follows their ids.
    """
    flows = demand_flows(a) if flows is None else flows
    root = a.site_parent < 0
    days = np.where(root[None, :], a.depot_repair_days[:, None], a.base_repair_days[:, None])
    work = flows.repairs * days
    arrivals = np.array([math.fsum(flows.repairs[:, s]) for s in range(a.n_sites)])
    load = np.array([math.fsum(work[:, s]) for s in range(a.n_sites)])
    return arrivals, load


def _fleets_below(a: ScenarioArrays, site: int) -> tuple[int, ...]:
    """Fleets at ``site`` or at a site below it (compiled fleet order)."""
    out = []
    for f in range(a.fleet_system.size):
        s = int(a.fleet_site[f])
        while s >= 0 and s != site:
            s = int(a.site_parent[s])
        if s == site:
            out.append(f)
    return tuple(out)


def repair_shops(
    a: ScenarioArrays, channels: Mapping[str, int], flows: Flows | None = None
) -> RepairShops:
    """Offered load and utilisation of every site named in ``channels``.

    Parameters
    ----------
    a : ScenarioArrays
        The compiled scenario (the day-0 fleets; the load does not depend on stock).
    channels : mapping {site id: c}
        Parallel repair channels, whole numbers >= 1 (``scenario_channels`` gives the
        scenario's own); sites not named have unlimited capacity and are left out.
    flows : Flows, optional
        The demand flows of ``a`` when already computed.

    Returns
    -------
    RepairShops
    """
    s_idx = {x: n for n, x in enumerate(a.site_ids)}
    sites = np.array(sorted(s_idx[s] for s in channels), dtype=np.int64)
    arrivals, load = offered_load(a, flows)
    return RepairShops(
        site_ids=tuple(a.site_ids[s] for s in sites.tolist()),
        sites=sites,
        channels=np.array([int(channels[a.site_ids[s]]) for s in sites.tolist()],
                          dtype=np.int64),
        arrivals_per_day=arrivals[sites],
        offered_load=load[sites],
        fleets=tuple(_fleets_below(a, s) for s in sites.tolist()),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class PeakLoad:
    """The highest offered load of each shop over a run, and the first day it is reached."""

    offered_load: FloatArray
    day: FloatArray


def peak_load(
    scenario: Scenario, a: ScenarioArrays, shops: RepairShops, *, days: float
) -> PeakLoad:
    """Highest offered load of each shop over days [0, ``days``) as deliveries and tempo
    change the fleets' operating hours.

    The load is evaluated at day 0 and on every day a delivery arrives or a tempo row
    starts or ends (it is constant in between): fleets as delivered so far (losses
    left out, so the load planned), hours per day times the product of the tempo
    factors in force.  ``a`` is the compiled scenario with a (count 0) fleet for every
    fleet a delivery creates, as the simulator compiles it.
    """
    f_idx = {
        (a.system_ids[int(a.fleet_system[f])], a.site_ids[int(a.fleet_site[f])]): f
        for f in range(a.fleet_system.size)
    }
    days_at = {0.0}
    days_at |= {d.day for d in scenario.deliveries if d.day < days}
    for t in scenario.tempo:
        days_at |= {x for x in (t.from_day, t.to_day) if x < days}
    best = np.full(shops.sites.size, -np.inf)
    best_day = np.zeros(shops.sites.size)
    sys_of = [a.system_ids[int(k)] for k in a.fleet_system]
    site_of = [a.site_ids[int(s)] for s in a.fleet_site]
    for day in sorted(days_at):
        count = a.fleet_count.copy()
        for d in scenario.deliveries:
            if d.day <= day and (d.system, d.site) in f_idx:
                count[f_idx[(d.system, d.site)]] += d.count
        factor = np.ones(a.fleet_system.size)
        for t in scenario.tempo:
            if t.from_day <= day < t.to_day:
                hit = [(t.system is None or t.system == k) and (t.site is None or t.site == s)
                       for k, s in zip(sys_of, site_of, strict=True)]
                factor[np.array(hit, dtype=bool)] *= t.factor
        at = replace(a, fleet_count=count, fleet_hours_per_day=a.fleet_hours_per_day * factor)
        load = offered_load(at)[1][shops.sites]
        higher = load > best
        best[higher] = load[higher]
        best_day[higher] = day
    return PeakLoad(offered_load=best, day=best_day)
