"""Who the purchases serve: the cost of each purchase split among the fleets it serves.

A spare at a site serves the requests on that site's stock: the failures of the
fleets at the site and, at an upper site (a depot), the resupply orders of every site
below it.  The demand on an item at a site is linear in the fleets' operating hours
(``readiness.metric.demand_flows``: failures ``Z · N · hours / MTBF`` passed up the
tree after base repairs, and for a sub-item its parent's repairs times its
``replace_fraction``), so it is the sum of one part per fleet.  Each purchase's cost is
split among the fleets in proportion to their parts of the demand on that item at that
site:

    spend_f = Σ_(i,s) buy_is · c_i · m_is(f) / Σ_g m_is(g)

where ``m_is(f)`` is the demand fleet ``f`` alone puts on item ``i`` at site ``s``.  A
unit at a base is thus shared by the fleets there whose systems use the item; at a
depot by every fleet below it that uses it, by their shares of the orders it fills.
A purchase at a site that no fleet's demand reaches but that lateral links let
serve neighbours (``laterals``) is split among the fleets of those neighbours by their
demand there. Any other purchase that no fleet's demand reaches (stock forced by a
``min`` of ``stock_limits``, say) serves no fleet: its cost is reported apart (``unattributed``),
so the fleets' spend and it sum to the purchase cost.

The split is by demand rather than by each fleet's gain in availability: it depends
only on the scenario, not on the order in which the optimiser bought, it is never
negative (a fleet's availability can fall slightly when stock moves between
echelons), and it reads as "the share of this spare's work done for that fleet".
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.readiness.metric import demand_flows
from sustain.scenario.compile import ScenarioArrays


@dataclass(frozen=True, slots=True, kw_only=True)
class Spend:
    """The purchase cost split by fleet.

    Attributes
    ----------
    by_fleet : FloatArray
        Money spent for each fleet (compiled fleet order).
    unattributed : float
        Money spent on stock that no fleet's demand reaches.
    """

    by_fleet: FloatArray
    unattributed: float


def fleet_demand(a: ScenarioArrays, items: IntArray, sites: IntArray) -> FloatArray:
    """Demand per day each fleet alone puts on item ``items[n]`` at site ``sites[n]``:
    (fleets × pairs).  Summed over the fleets it is ``demand_flows(a).demand`` there
    (the flows are linear in the fleets' operating hours)."""
    n_f = a.fleet_system.size
    out = np.zeros((n_f, items.size))
    keep = _with_ancestors(a, np.unique(items))
    sub = a.subset(keep)
    where = np.searchsorted(keep, items)  # each pair's row in the subset
    used: list[bool] = np.any(sub.qty_per_system > 0, axis=0).tolist()  # systems using one
    for f in range(n_f):
        if a.fleet_count[f] <= 0 or not used[a.fleet_system[f]]:
            continue
        alone = np.zeros(n_f)
        alone[f] = a.fleet_count[f]
        out[f] = demand_flows(replace(sub, fleet_count=alone)).demand[where, sites]
    return out


def _with_ancestors(a: ScenarioArrays, rows: IntArray) -> IntArray:
    """``rows`` and every ancestor of them, in the compiled order (parents first)."""
    mark = np.zeros(a.n_items, dtype=bool)
    for r in rows.tolist():
        while r >= 0 and not mark[r]:
            mark[r] = True
            r = int(a.item_parent[r])
    return np.flatnonzero(mark).astype(np.int64)


def split_spend(a: ScenarioArrays, buy: FloatArray) -> Spend:
    """Split the cost of ``buy`` (items × sites, units bought) among the fleets by their
    shares of the demand on each item at each site (module docstring)."""
    ii, ss = np.nonzero(buy > 0)
    by_fleet = np.zeros(a.fleet_system.size)
    if ii.size == 0:
        return Spend(by_fleet=by_fleet, unattributed=0.0)
    cost = buy[ii, ss] * a.unit_cost[ii]
    parts = fleet_demand(a, ii.astype(np.int64), ss.astype(np.int64))  # fleets × purchases
    total = parts.sum(axis=0)
    lat = a.laterals
    if lat is not None and np.any(total <= 0):
        # A unit bought where no fleet's demand reaches, at a site whose shelf serves
        # linked neighbours: split among the fleets of those neighbours.
        lone = total <= 0
        for site, source in zip(lat.site.tolist(), lat.source.tolist(), strict=True):
            hit = np.flatnonzero(lone & (ss == source))
            if hit.size:
                parts[:, hit] += fleet_demand(a, ii[hit].astype(np.int64),
                                              np.full(hit.size, site, dtype=np.int64))
        total = parts.sum(axis=0)
    served = total > 0
    shares = np.divide(parts, total, out=np.zeros_like(parts), where=served)
    by_fleet = shares @ cost
    return Spend(by_fleet=by_fleet, unattributed=float(np.sum(cost[~served])))
