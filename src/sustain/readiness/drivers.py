"""Why a fleet is down: each item's share of the fleet's lost availability.

Sherbrooke's product formula (:func:`sustain.readiness.metric.fleet_availability`;
Sherbrooke 2004, *Optimal Inventory Modeling of Systems*, 2nd ed., sec. 5.1, ch. 2
for one site) makes a fleet's availability a product over the top-level items
installed in its system type, so its logarithm is a sum::

    −log A_f = Σ_i t_fi,    t_fi = −Z_i · log(1 − x_fi),
    x_fi = EBO_is · λ_i · h_f / m_is

at the fleet's site ``s`` (:func:`~sustain.readiness.metric.position_shortfall`).
Item ``i``'s share of the lost availability is ``t_fi / Σ_j t_fj``: the shares are
exact (not a linearisation) and add up to 1.
Without item ``i``'s backorders (``EBO_is = 0``) the fleet's availability would be
``A_f · exp(t_fi)``.  A term is infinite when the item's backorders reach every
installed position (``x = 1``, ``A = 0``); the infinite terms then share the loss
equally.  Sub-items do not enter the product: they act through their parents'
repair pipelines, so their effect is part of their top-level parent's term.

With redundant or inessential installations, or consolidated holes, ``A_f`` is the
mission-capable availability and ``t_fi = −log R_fi`` (:mod:`sustain.readiness.redundancy`):
a redundant item's term is the log of its chance of keeping ``needed`` units in a
system, an inessential item's term is 0 (it grounds nothing, so it drives nothing).
The shares then split the mission-capable loss; the fully-mission-capable loss is not
split.

Where an item's backorders at the fleet's site come from: its pipeline there has
three parts (:func:`sustain.readiness.metric.pipelines`): the site's own repairs and
the order-and-ship time of its resupply (``own``), parent units waiting for
sub-items (``sub``), and the wait for the parent site's backorders (``upper``:
``f · EBO_parent``, which holds the grandparents' delays in turn).  The backorders are
split by adding the parts in that order and re-evaluating the backorders each time::

    own:       EBO(own)                              (Poisson: Palm's theorem)
    sub-items: EBO(own + sub) − EBO(own)
    upper:     EBO(own + sub + upper) − EBO(own + sub) = EBO − EBO(own + sub)

so the three parts add up to the item's EBO exactly, and the upper sites' part is
exactly the backorders the site would not have if its upper sites always had a
spare on the shelf.  The order matters (EBO is convex in the pipeline); putting the
upper sites last gives them everything they add on top of the site's own pipeline.

Pure array code: no I/O, no printing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.readiness.backorders import backorder_moments
from sustain.readiness.metric import Flows, Method, Pipelines, position_shortfall
from sustain.readiness.redundancy import fleet_rows, pair_terms
from sustain.scenario.compile import ScenarioArrays

#: Drivers listed per fleet in the JSON documents and reports; the rest are summed.
TOP_DRIVERS = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class FleetDrivers:
    """The (fleet, top-level item) terms of ``−log A``, largest first within each fleet.

    Rows of fleet ``f`` are ``indptr[f]:indptr[f + 1]``; only items with a positive
    term (some backorders) are kept, at most ``top`` per fleet when it is given (the
    rest summed in ``other_items`` and ``other_share``), and fleets of zero systems
    have none.

    Attributes
    ----------
    fleet, item, site : IntArray
        Per row: the fleet, the top-level item and the fleet's site (compiled indices).
    term : FloatArray
        ``t = −Z · log(1 − x)`` (``inf`` when every installed position waits).
    share : FloatArray
        ``t / Σ t`` over the fleet's items: the item's share of the lost availability.
    availability_without : FloatArray
        The fleet's availability if this item had no backorders at the site.
    ebo : FloatArray
        The item's expected backorders at the site (shared by every fleet there that
        uses it).
    from_sub_items, from_upper_sites : FloatArray
        Shares of ``ebo`` added by the item's sub-items' backorders and by the wait for
        the upper sites' backorders (0 where ``ebo`` is 0); the rest is the site's own
        pipeline.
    indptr : IntArray
        ``n_fleets + 1`` row pointers.
    other_items : IntArray
        Per fleet, the items with a positive term left out (``top`` given), ...
    other_share : FloatArray
        ... and their total share.
    """

    fleet: IntArray
    item: IntArray
    site: IntArray
    term: FloatArray
    share: FloatArray
    availability_without: FloatArray
    ebo: FloatArray
    from_sub_items: FloatArray
    from_upper_sites: FloatArray
    indptr: IntArray
    other_items: IntArray
    other_share: FloatArray

    def to_lists(self, a: ScenarioArrays) -> list[tuple[list[dict[str, Any]], dict[str, Any]]]:
        """Per fleet: its drivers as JSON rows, and the items left out as ``{items, share}``."""
        share, without = self.share.tolist(), self.availability_without.tolist()
        ebo, upper, subs = self.ebo.tolist(), self.from_upper_sites.tolist(), \
            self.from_sub_items.tolist()
        item, site = self.item.tolist(), self.site.tolist()
        bounds = self.indptr.tolist()
        items, rest = self.other_items.tolist(), self.other_share.tolist()
        return [
            (
                [
                    {
                        "item": a.item_ids[item[r]],
                        "site": a.site_ids[site[r]],
                        "share": share[r],
                        "ebo": ebo[r],
                        "availability_without": without[r],
                        "from_upper_sites": upper[r],
                        "from_sub_items": subs[r],
                    }
                    for r in range(bounds[f], bounds[f + 1])
                ],
                {"items": items[f], "share": rest[f]},
            )
            for f in range(len(bounds) - 1)
        ]


def _group_sum(values: FloatArray, group: IntArray, n: int) -> FloatArray:
    """Σ of ``values`` by ``group`` (0..n-1)."""
    return np.asarray(np.bincount(group, weights=values, minlength=n), dtype=np.float64)


def ebo_sources(
    a: ScenarioArrays, flows: Flows, pipes: Pipelines, method: Method, item: IntArray,
    site: IntArray,
) -> tuple[FloatArray, FloatArray]:
    """Shares of ``EBO[item, site]`` added by sub-items and by the upper sites' backorders.

    Re-evaluates the backorders of each (item, site) row with the site's own pipeline
    alone (Poisson), then with the parent units waiting for sub-items added (module
    docstring).  For ``Method.EXACT`` (two echelons, no sub-items) the own pipeline is
    exactly Poisson as well: with a depot that never backorders, Graves' base
    pipeline is the base's own.
    """
    if item.size == 0:
        return np.zeros(0), np.zeros(0)
    parent = a.site_parent[site]
    root = parent < 0
    root_days = (1.0 - a.condemnation_fraction[item]) * a.depot_repair_days[item] + (
        a.condemnation_fraction[item] * a.procurement_days[item]
    )
    own = np.where(
        root,
        flows.demand[item, site] * root_days,
        flows.repairs[item, site] * a.base_repair_days[item]
        + flows.up[item, site] * a.order_ship_days[site],
    )
    w_mean, w_var = pipes.wait_mean, pipes.wait_var
    if w_mean is None or w_var is None or w_mean.shape[0] == 0:  # no sub-items
        wait_mean = wait_var = np.zeros(item.size)
    else:
        wait_mean, wait_var = w_mean[item, site], w_var[item, site]
    stock = a.stock[item, site]
    ebo = pipes.ebo[item, site]
    own_ebo = np.minimum(backorder_moments(own, own, stock).ebo, ebo)
    with_subs_var = own + (wait_var if method is Method.VARI_METRIC else wait_mean)
    with_subs = backorder_moments(own + wait_mean, with_subs_var, stock).ebo
    # At a root the pipeline is own + sub-items: nothing is left for upper sites.
    with_subs = np.where(root, ebo, np.clip(with_subs, own_ebo, ebo))
    frac_sub = np.zeros(item.size)
    frac_upper = np.zeros(item.size)
    some = ebo > 0
    np.divide(with_subs - own_ebo, ebo, out=frac_sub, where=some)
    np.divide(ebo - with_subs, ebo, out=frac_upper, where=some)
    return frac_sub, frac_upper


def fleet_drivers(
    a: ScenarioArrays, flows: Flows, pipes: Pipelines, availability: FloatArray,
    method: Method, *, top: int | None = None,
) -> FleetDrivers:
    """Each top-level item's term of ``−log A`` for every fleet, with its sources.

    Vectorised over every (fleet, installed item) pair; the sources of the backorders
    (:func:`ebo_sources`) are re-evaluated only for the rows kept.

    Parameters
    ----------
    a, flows, pipes : the compiled scenario, its demand flows and pipelines.
    availability : FloatArray
        Per fleet, as :func:`~sustain.readiness.metric.fleet_availability` gives it.
    method : Method
        How ``pipes`` were computed (VARI-METRIC passes sub-item variances on).
    top : int, optional
        Keep the ``top`` largest terms of each fleet (all when None); ties keep the
        compiled item order.
    """
    n_f = a.fleet_system.size
    fleet, inst = fleet_rows(a)
    item = a.installations.item[inst]
    site = a.fleet_site[fleet]
    if a.mission_split or a.holes_consolidated:  # −log R_fi (readiness.redundancy)
        term = pair_terms(a, flows, pipes, fleet, inst)
    else:
        x = position_shortfall(
            pipes.ebo[item, site], flows.demand[item, site], a.failures_per_hour[item],
            a.fleet_hours_per_day[fleet],
        )
        np.minimum(x, 1.0, out=x)
        with np.errstate(divide="ignore"):  # x = 1: log 0 = -inf
            term = -a.installations.qty[inst] * np.log1p(-x)
    keep = term > 0
    fleet, item, site, term = fleet[keep], item[keep], site[keep], term[keep]
    # Rows come grouped by fleet, items ascending within each: a stable sort keeps that.
    order = np.lexsort((-term, fleet))
    fleet, item, site, term = fleet[order], item[order], site[order], term[order]
    full = np.isinf(term)
    n_full = np.bincount(fleet[full], minlength=n_f)
    total = _group_sum(np.where(full, 0.0, term), fleet, n_f)  # finite terms
    share = np.zeros(term.size)
    blocked = n_full[fleet] > 0
    share[blocked] = full[blocked] / n_full[fleet[blocked]]
    free = ~blocked
    share[free] = term[free] / total[fleet[free]]
    counts = np.bincount(fleet, minlength=n_f)
    other_items = np.zeros(n_f, dtype=np.int64)
    other_share = np.zeros(n_f)
    if top is not None:
        rank = np.arange(fleet.size) - np.repeat(np.cumsum(counts) - counts, counts)
        shown = rank < top
        other_items = np.bincount(fleet[~shown], minlength=n_f)
        other_share = _group_sum(share[~shown], fleet[~shown], n_f)
        fleet, item, site = fleet[shown], item[shown], site[shown]
        term, share, full = term[shown], share[shown], full[shown]
        counts -= other_items
    # Without item i: exp(−Σ_{j≠i} t_j), 0 while another item still blocks every position.
    rest = np.where(full, total[fleet], np.maximum(total[fleet] - term, 0.0))
    others_blocked = n_full[fleet] - full > 0
    without = np.where(others_blocked, 0.0, np.exp(-rest))
    # Never below the availability with the item (rounding of the two sums).
    known = ~np.isnan(availability[fleet])
    without[known] = np.maximum(without[known], availability[fleet[known]])
    frac_sub, frac_upper = ebo_sources(a, flows, pipes, method, item, site)
    indptr = np.zeros(n_f + 1, dtype=np.int64)
    np.cumsum(counts, out=indptr[1:])
    return FleetDrivers(
        fleet=fleet, item=item, site=site, term=term, share=share,
        availability_without=without, ebo=pipes.ebo[item, site], from_sub_items=frac_sub,
        from_upper_sites=frac_upper, indptr=indptr, other_items=other_items,
        other_share=other_share,
    )
