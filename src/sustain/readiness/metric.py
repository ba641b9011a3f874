"""Demand flows and pipelines of the METRIC family on (items × sites) arrays.

The model (Sherbrooke 2004, *Optimal Inventory Modeling of Systems*, 2nd ed.,
ch. 2–5; Sherbrooke 1968 for METRIC, Graves 1985 and Sherbrooke 1986 for
VARI-METRIC):

* Failures of a top-level item at a site come from the fleets there:
  ``m = Σ_fleets qty · count · hours_per_day / mtbf_hours`` per day.
* At a site with a parent, a share ``r`` (base_repair_fraction) of the failures
  arising there is repaired on site in ``base_repair_days``; the rest, and every
  resupply request from the site's children, is ordered from the parent, which
  ships a good unit (``order_ship_days``) when it has one, and otherwise after
  the parent's average backorder delay ``EBO_parent / demand_parent`` (Little's law).
  Broken units travel up to the root.
* At a root (depot) every arrival is repaired in ``depot_repair_days``, except a
  share ``c`` (condemnation_fraction) scrapped and replaced after ``procurement_days``.
* A sub-item is demanded when its parent is repaired (``replace_fraction`` of the
  parent's repairs, wherever they are done); its backorders at a site delay the
  parent's repairs there: the parent's pipeline gains ``g · EBO_sub`` units, where
  ``g`` is the share of the sub-item's demand at that site that comes from those
  repairs (Sherbrooke 2004, sec. 5.2; Muckstadt 1973).
* METRIC fits a Poisson distribution to each pipeline (variance = mean).
  VARI-METRIC passes the variance down as well: a base's share ``f`` of its
  parent's backorders adds ``f² VBO + f(1 − f) EBO`` (binomial thinning), and a
  negative binomial is fitted when the variance exceeds the mean.

Pure array code: no I/O, no printing.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.readiness.backorders import backorder_moments
from sustain.scenario.compile import ScenarioArrays


class Method(StrEnum):
    """Which pipeline distribution to use."""

    METRIC = "metric"  # Poisson (Sherbrooke 1968)
    VARI_METRIC = "vari-metric"  # negative binomial with variance (Sherbrooke 1986)
    EXACT = "exact"  # Graves (1985), two echelons, single indenture


@dataclass(frozen=True, slots=True, kw_only=True)
class Flows:
    """Demand rates per day on (items × sites) arrays.

    Attributes
    ----------
    local : FloatArray
        Failures arising at the site (from its fleets, or from parent repairs for
        sub-items).
    demand : FloatArray
        Requests on the site's stock: local failures plus children's resupply orders
        (``m`` at the site in Sherbrooke's notation).
    up : FloatArray
        Units ordered from the parent per day (0 at roots).
    repairs : FloatArray
        Repairs completed at the site per day (base repairs; at a root, every
        arrival not condemned).
    """

    local: FloatArray
    demand: FloatArray
    up: FloatArray
    repairs: FloatArray


@dataclass(frozen=True, slots=True, kw_only=True)
class Pipelines:
    """Pipeline moments and backorder results on (items × sites) arrays."""

    mean: FloatArray
    var: FloatArray
    ebo: FloatArray
    vbo: FloatArray
    fill_rate: FloatArray


def _levels(values: IntArray) -> list[IntArray]:
    """Index arrays of the rows at each level 0..max."""
    if values.size == 0:
        return []
    return [np.flatnonzero(values == v) for v in range(int(values.max()) + 1)]


def demand_flows(a: ScenarioArrays) -> Flows:
    """Failure and resupply rates per item and site (indenture top-down, sites bottom-up)."""
    n_i, n_s = a.n_items, a.n_sites
    hours = a.fleet_count * a.fleet_hours_per_day  # operating hours per day per fleet
    rate_q = a.qty_per_system * a.failures_per_hour[:, None]  # failures per op-hour per system
    op = np.zeros((len(a.system_ids), n_s))
    np.add.at(op, (a.fleet_system, a.fleet_site), hours)
    local = np.zeros((n_i, n_s))
    demand = np.zeros((n_i, n_s))
    up = np.zeros((n_i, n_s))
    repairs = np.zeros((n_i, n_s))
    r = a.base_repair_fraction
    keep = 1.0 - a.condemnation_fraction
    parent = a.site_parent
    for level, rows in enumerate(_levels(a.item_level)):
        if level == 0:
            loc = rate_q[rows] @ op
        else:
            loc = repairs[a.item_parent[rows]] * a.replace_fraction[rows, None]
        dem = loc.copy()
        upr = np.zeros_like(loc)
        rep = np.zeros_like(loc)
        r_rows = r[rows]
        for s in range(n_s - 1, -1, -1):  # children before parents
            p = parent[s]
            if p < 0:
                rep[:, s] = dem[:, s] * keep[rows]
                continue
            rep[:, s] = loc[:, s] * r_rows
            upr[:, s] = dem[:, s] - rep[:, s]
            dem[:, p] += upr[:, s]
        local[rows], demand[rows], up[rows], repairs[rows] = loc, dem, upr, rep
    return Flows(local=local, demand=demand, up=up, repairs=repairs)


def _safe_div(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den > 0)
    return out


def pipelines(a: ScenarioArrays, flows: Flows, method: Method = Method.VARI_METRIC) -> Pipelines:
    """Pipeline mean and variance, EBO, VBO and fill rate for every item and site.

    Items are processed deepest indenture first (a sub-item's backorders delay its
    parent's repair), sites root first (a parent's backorders delay its children's
    resupply).
    """
    if method is Method.EXACT:
        raise ValueError("the exact method is evaluate_exact(), not pipelines()")
    vari = method is Method.VARI_METRIC
    n_i, n_s = a.n_items, a.n_sites
    mean = np.zeros((n_i, n_s))
    var = np.zeros((n_i, n_s))
    ebo = np.zeros((n_i, n_s))
    vbo = np.zeros((n_i, n_s))
    fill = np.ones((n_i, n_s))
    wait_mean = np.zeros((n_i, n_s))  # parent units waiting for sub-items, by site
    wait_var = np.zeros((n_i, n_s))
    root_days = (1.0 - a.condemnation_fraction) * a.depot_repair_days + (
        a.condemnation_fraction * a.procurement_days
    )
    depths = _levels(a.site_depth)
    for rows in reversed(_levels(a.item_level)):
        for d, cols in enumerate(depths):
            ix = np.ix_(rows, cols)
            if d == 0:
                poisson = flows.demand[ix] * root_days[rows, None]
                m = poisson + wait_mean[ix]
                v = poisson + wait_var[ix]
            else:
                pcols = a.site_parent[cols]
                pix = np.ix_(rows, pcols)
                dem_p = flows.demand[pix]
                up = flows.up[ix]
                ebo_p, vbo_p = ebo[pix], vbo[pix]
                repair = flows.repairs[ix] * a.base_repair_days[rows, None]
                ship = up * a.order_ship_days[cols][None, :]
                f = np.minimum(_safe_div(up, dem_p), 1.0)  # share of parent's backorders
                m = repair + ship + f * ebo_p + wait_mean[ix]
                v = repair + ship + f * f * vbo_p + f * (1.0 - f) * ebo_p + wait_var[ix]
            if not vari:
                v = m
            bo = backorder_moments(m.ravel(), v.ravel(), a.stock[ix].ravel())
            shape = m.shape
            mean[ix], var[ix] = m, v
            ebo[ix] = bo.ebo.reshape(shape)
            vbo[ix] = bo.vbo.reshape(shape)
            fill[ix] = bo.fill_rate.reshape(shape)
        # These items' backorders delay their parents' repairs at each site.
        subs = rows[a.item_parent[rows] >= 0]
        if subs.size:
            g = np.minimum(_safe_div(flows.local[subs], flows.demand[subs]), 1.0)
            parents = a.item_parent[subs]
            np.add.at(wait_mean, parents, g * ebo[subs])
            np.add.at(wait_var, parents, g * g * vbo[subs] + g * (1.0 - g) * ebo[subs])
    return Pipelines(mean=mean, var=var, ebo=ebo, vbo=vbo, fill_rate=fill)


def fleet_availability(a: ScenarioArrays, flows: Flows, ebo: FloatArray) -> FloatArray:
    """Availability of each fleet by Sherbrooke's product formula.

    ``A = Π_i (1 − EBO_is · share_if / (N_f · Z_i))^{Z_i}`` over the top-level items
    installed in the fleet's system (Sherbrooke 2004, eq. 5.x; ch. 2 for one site),
    where ``share_if`` is the fleet's part of the demand on the site's stock (pooled
    demand of common items; children's resupply orders count as demand too).  A
    factor is clamped at 0 when backorders exceed the installed positions.  NaN for a
    fleet of zero systems.
    """
    n_f = a.fleet_system.size
    out = np.full(n_f, np.nan)
    rows_of = {
        int(k): np.flatnonzero(a.qty_per_system[:, k] > 0) for k in np.unique(a.fleet_system)
    }
    hours = a.fleet_count * a.fleet_hours_per_day
    for f in range(n_f):
        k, s, count = a.fleet_system[f], a.fleet_site[f], a.fleet_count[f]
        if count <= 0:
            continue
        rows = rows_of[int(k)]
        z = a.qty_per_system[rows, k]
        mine = z * a.failures_per_hour[rows] * hours[f]  # this fleet's failures per day
        share = np.minimum(_safe_div(mine, flows.demand[rows, s]), 1.0)
        x = np.clip(ebo[rows, s] * share / (count * z), 0.0, 1.0)
        if np.any(x >= 1.0):
            out[f] = 0.0
            continue
        out[f] = float(np.exp(np.sum(z * np.log1p(-x))))
    return out
