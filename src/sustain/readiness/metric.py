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
from typing import Any

import numpy as np
from scipy import sparse

from sustain._types import FloatArray, IntArray
from sustain.readiness.backorders import CHUNK_ROWS, backorder_moments
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
    """Pipeline moments and backorder results on (items × sites) arrays.

    ``wait_mean`` and ``wait_var`` are the parent units held up by sub-item
    backorders at each site (zero for items without sub-items).
    """

    mean: FloatArray
    var: FloatArray
    ebo: FloatArray
    vbo: FloatArray
    fill_rate: FloatArray
    wait_mean: FloatArray | None = None
    wait_var: FloatArray | None = None


Index = slice | IntArray


def _levels(values: IntArray) -> list[Index]:
    """The rows at each level 0..max: a slice where they are contiguous (the usual case,
    since compiled scenarios number parents before children), else an index array."""
    if values.size == 0:
        return []
    out: list[Index] = []
    for v in range(int(values.max()) + 1):
        idx = np.flatnonzero(values == v)
        if idx.size and idx[-1] - idx[0] + 1 == idx.size:
            out.append(slice(int(idx[0]), int(idx[-1]) + 1))
        else:
            out.append(idx)
    return out


def _as_array(ix: Index, n: int) -> IntArray:
    return np.arange(n)[ix] if isinstance(ix, slice) else ix


def _block(rows: Index, cols: Index, n_rows: int, n_cols: int) -> tuple[Any, ...]:
    """An index for ``array[rows × cols]``: a view when both are slices."""
    if isinstance(rows, slice) and isinstance(cols, slice):
        return rows, cols
    return np.ix_(_as_array(rows, n_rows), _as_array(cols, n_cols))


def _parent_cols(a: ScenarioArrays, cols: Index) -> Index:
    """Parent site of each site in ``cols``; one broadcastable column when they share it."""
    parents = a.site_parent[cols]
    if parents.size and np.all(parents == parents[0]):
        p = int(parents[0])
        return slice(p, p + 1)
    return parents


def demand_flows(a: ScenarioArrays) -> Flows:
    """Failure and resupply rates per item and site (indenture top-down, sites bottom-up)."""
    n_i, n_s = a.n_items, a.n_sites
    hours = a.fleet_count * a.fleet_hours_per_day  # operating hours per day per fleet
    op = np.zeros((len(a.system_ids), n_s))
    np.add.at(op, (a.fleet_system, a.fleet_site), hours)
    # Every entry is written below (roots get no upward flow), so no zero-filling.
    demand = np.empty((n_i, n_s))
    up = np.empty((n_i, n_s))
    repairs = np.empty((n_i, n_s))
    keep = 1.0 - a.condemnation_fraction
    depths = _levels(a.site_depth)
    # Each depth's sites grouped by parent, to pass flows up.
    to_parent = [_to_parent(a.site_parent, _as_array(cols, n_s)) for cols in depths]
    roots = np.flatnonzero(a.site_parent < 0)
    # Failures of installed units: Σ_k Z_ik · rate_i · hours_k,s (sparse over (i, k)).
    local = a.installations.per_system_rate(a.failures_per_hour, op)  # sub-items: below
    for level, rows in enumerate(_levels(a.item_level)):
        if level == 0:
            loc = local[rows]
        else:
            loc = repairs[a.item_parent[rows]] * a.replace_fraction[rows, None]
        # Slices give views: work in place; index arrays give copies, written back below.
        view = isinstance(rows, slice)
        dem = demand[rows] if view else np.zeros_like(loc)
        upr = up[rows] if view else np.zeros_like(loc)
        rep = repairs[rows] if view else np.zeros_like(loc)
        dem[...] = loc
        r_rows = a.base_repair_fraction[rows, None]
        for d in range(len(depths) - 1, 0, -1):  # children before parents
            cols = depths[d]
            rep[:, cols] = loc[:, cols] * r_rows
            upr[:, cols] = dem[:, cols] - rep[:, cols]
            sent = upr[:, cols]
            for parents, children in to_parent[d]:
                dem[:, parents] += sent[:, children].sum(axis=-1)
        rep[:, roots] = dem[:, roots] * keep[rows, None]
        upr[:, roots] = 0.0
        if level:
            local[rows] = loc
        if not view:
            demand[rows], up[rows], repairs[rows] = dem, upr, rep
    return Flows(local=local, demand=demand, up=up, repairs=repairs)


def _to_parent(site_parent: IntArray, idx: IntArray) -> list[tuple[IntArray, IntArray]]:
    """The sites ``idx`` of one depth grouped by parent, to pass flows up.

    One ``(parents, children)`` pair per number ``c`` of children: the parents with
    ``c`` children (ascending) and, for each, the positions in ``idx`` of its children
    in site order (parents × c).  ``x[:, children].sum(axis=-1)`` then sums each
    parent's children exactly as a sum over that parent alone would (a tree copied
    along a time axis has thousands of parents: no loop over them).
    """
    parents = site_parent[idx]
    order = np.flatnonzero(parents >= 0)
    order = order[np.argsort(parents[order], kind="stable")]
    ps = parents[order]
    if ps.size == 0:
        return []
    starts = np.flatnonzero(np.r_[True, ps[1:] != ps[:-1]])
    counts = np.diff(np.r_[starts, ps.size])
    out = []
    for c in np.unique(counts).tolist():
        first = starts[counts == c]
        out.append((ps[first], order[first[:, None] + np.arange(c)]))
    return out


def _row_chunks(rows: Index, n_cols: int) -> list[Index]:
    """``rows`` cut into slices of about ``CHUNK_ROWS / n_cols`` rows (index arrays whole)."""
    if not isinstance(rows, slice):
        return [rows]
    step = max(1, CHUNK_ROWS // max(n_cols, 1))
    start, stop = rows.start or 0, rows.stop
    return [slice(lo, min(lo + step, stop)) for lo in range(start, stop, step)]


def _safe_div(num: FloatArray, den: FloatArray) -> FloatArray:
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=den > 0)
    return out


def pipelines(
    a: ScenarioArrays,
    flows: Flows,
    method: Method = Method.VARI_METRIC,
    *,
    wait: tuple[FloatArray, FloatArray] | None = None,
) -> Pipelines:
    """Pipeline mean and variance, EBO, VBO and fill rate for every item and site.

    Items are processed deepest indenture first (a sub-item's backorders delay its
    parent's repair), sites root first (a parent's backorders delay its children's
    resupply).  ``wait`` gives (mean, variance) of parent units already known to be
    waiting for sub-items that are not among ``a``'s items (used by the optimiser,
    which evaluates top-level items alone with their sub-items' effect held fixed).
    """
    if method is Method.EXACT:
        raise ValueError("the exact method is evaluate_exact(), not pipelines()")
    vari = method is Method.VARI_METRIC
    n_i, n_s = a.n_items, a.n_sites
    # Every (item level × site depth) block is written below: no zero-filling.
    mean = np.empty((n_i, n_s))
    var = np.empty((n_i, n_s))
    ebo = np.empty((n_i, n_s))
    vbo = np.empty((n_i, n_s))
    fill = np.empty((n_i, n_s))
    if wait is None:
        # Parent units waiting for sub-items, by site (none without sub-items).
        shape = (n_i, n_s) if np.any(a.item_parent >= 0) else (0, n_s)
        wait_mean, wait_var = np.zeros(shape), np.zeros(shape)
        has_subs = np.zeros(n_i, dtype=bool)  # items whose waits may be non-zero
    else:
        wait_mean, wait_var = wait[0].copy(), wait[1].copy()
        has_subs = np.any(wait_mean > 0, axis=1) | np.any(wait_var > 0, axis=1)
    has_subs[a.item_parent[a.item_parent >= 0]] = True
    root_days = (1.0 - a.condemnation_fraction) * a.depot_repair_days + (
        a.condemnation_fraction * a.procurement_days
    )
    depths = _levels(a.site_depth)
    for level_rows in reversed(_levels(a.item_level)):
        for d, cols in enumerate(depths):
            # Row chunks of about CHUNK_ROWS pairs: the dozen passes of arithmetic below
            # and the backorder moments then work on arrays that stay in cache.
            for rows in _row_chunks(level_rows, _as_array(cols, n_s).size):
                ix = _block(rows, cols, n_i, n_s)
                if d == 0:
                    m = flows.demand[ix] * root_days[rows, None]
                    v = m.copy() if vari else m
                else:
                    pix = _block(rows, _parent_cols(a, cols), n_i, n_s)
                    up = flows.up[ix]
                    f = _safe_div(up, flows.demand[pix])  # share of the parent's backorders
                    np.minimum(f, 1.0, out=f)
                    m = flows.repairs[ix] * a.base_repair_days[rows, None]
                    m += up * a.order_ship_days[cols][None, :]
                    fe = f * ebo[pix]
                    if vari:
                        v = f * (vbo[pix] - ebo[pix])
                        v *= f
                        v += m
                        v += fe  # own + f² VBO + f (1 − f) EBO
                    m += fe
                    if not vari:
                        v = m
                if has_subs[rows].any():
                    m = m + wait_mean[ix]
                    v = m if not vari else v + wait_var[ix]
                bo = backorder_moments(m, v, a.stock[ix])
                mean[ix], var[ix] = m, v
                ebo[ix], vbo[ix], fill[ix] = bo.ebo, bo.vbo, bo.fill_rate
        # These items' backorders delay their parents' repairs at each site.
        idx = _as_array(level_rows, n_i)
        subs = idx[a.item_parent[idx] >= 0]
        if subs.size:
            g = np.minimum(_safe_div(flows.local[subs], flows.demand[subs]), 1.0)
            parents = a.item_parent[subs]
            np.add.at(wait_mean, parents, g * ebo[subs])
            np.add.at(wait_var, parents, g * g * vbo[subs] + g * (1.0 - g) * ebo[subs])
    return Pipelines(
        mean=mean, var=var, ebo=ebo, vbo=vbo, fill_rate=fill, wait_mean=wait_mean,
        wait_var=wait_var,
    )


def fleet_availability(a: ScenarioArrays, flows: Flows, ebo: FloatArray) -> FloatArray:
    """Availability of each fleet by Sherbrooke's product formula.

    ``A = Π_i (1 − EBO_is · share_if / (N_f · Z_i))^{Z_i}`` over the top-level items
    installed in the fleet's system (Sherbrooke 2004, sec. 5.1; ch. 2 for one site),
    where ``share_if`` is the fleet's part of the demand on the site's stock (pooled
    demand of common items; children's resupply orders count as demand too).  A
    factor is 0 when backorders reach the installed positions.  NaN for a fleet of
    zero systems.  Vectorised over every (fleet, installed item) pair.
    """
    n_f = a.fleet_system.size
    out = np.full(n_f, np.nan)
    if n_f == 0:
        return out
    n_k, n_s = len(a.system_ids), a.n_sites
    inst = a.installations
    item, system, z = inst.item, inst.system, inst.qty
    hpd = np.zeros((n_k, n_s))
    hpd[a.fleet_system, a.fleet_site] = a.fleet_hours_per_day
    # A fleet's share of the backorders on one installed position: x = EBO·share/(N·Z)
    # with share = Z·rate·N·h/demand, i.e. x = (EBO·rate/demand)·h — Z and N cancel.
    per_hour = _safe_div(ebo, flows.demand) * a.failures_per_hour[:, None]
    x = per_hour[item] * hpd[system]  # installations × sites
    np.minimum(x, 1.0, out=x)
    with np.errstate(divide="ignore"):  # x = 1: every position empty, log 0 = -inf
        terms = np.log1p(-x)
    terms *= z[:, None]
    by_system = sparse.csr_matrix(
        (np.ones(item.size), (system, np.arange(item.size))), shape=(n_k, item.size)
    )
    log_a = by_system @ terms  # systems × sites
    manned = a.fleet_count > 0
    out[manned] = np.exp(log_a[a.fleet_system[manned], a.fleet_site[manned]])
    return out


def position_shortfall(
    ebo: FloatArray, demand: FloatArray, failures_per_hour: FloatArray, hours_per_day: FloatArray
) -> FloatArray:
    """A fleet's share ``x`` of an item's backorders per installed position.

    The factor of one top-level item in Sherbrooke's product formula
    (:func:`fleet_availability`) is ``(1 − x)^Z`` with ``x = EBO · share / (N · Z)``
    and ``share = Z · λ · N · h / m`` the fleet's part of the demand ``m`` on the
    site's stock; ``Z`` and ``N`` cancel: ``x = EBO · λ · h / m`` (0 where ``m`` is 0).
    ``λ`` is the item's failures per operating hour, ``h`` the fleet's hours per day.
    The arguments broadcast against each other.
    """
    return _safe_div(ebo * (failures_per_hour * hours_per_day), demand)
