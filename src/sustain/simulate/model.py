"""The scenario as the simulator sees it: plain, picklable tuples built once.

:class:`SimModel` is derived from :class:`~sustain.scenario.compile.ScenarioArrays`
(rates per day already derived there) and holds only what the event loops read,
as Python tuples.  It is small and picklable, so it is what the replications ship
to worker processes or Dask workers; there,
:func:`sustain.simulate.kernel.kernel_arrays` flattens it once per chunk into the
typed arrays of the compiled loops.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from sustain._types import BoolArray, FloatArray, IntArray
from sustain.errors import SustainError
from sustain.scenario.compile import ScenarioArrays
from sustain.scenario.model import Scenario

#: Spares held at one site, and parallel repair channels at one site: the most the
#: simulator takes (as the scenario's own ranges), so that counts stay exact integers.
MAX_STOCK = 1_000_000_000_000
MAX_CHANNELS = 1_000_000


class Delays(StrEnum):
    """Distribution of repair, shipping and procurement times."""

    DETERMINISTIC = "deterministic"  # the stated days exactly (default)
    EXPONENTIAL = "exponential"  # exponential with the stated mean


@dataclass(frozen=True, slots=True, kw_only=True)
class SimModel:
    """Everything the event loop needs, flattened (``flat = item * n_sites + site``).

    Attributes
    ----------
    n_items, n_sites : int
        Sizes of the item and site axes (compiled order).
    site_parent : tuple[int, ...]
        Parent site, -1 at a root.
    ship_days : tuple[float, ...]
        Resupply time parent → site (O in Sherbrooke 2004).
    sub_items : tuple[tuple[int, ...], ...]
        Sub-items of each item (replaced inside its repairs).
    replace_fraction, base_repair_fraction, condemnation_fraction : tuple[float, ...]
        Per item.
    base_repair_days, depot_repair_days, procurement_days : tuple[float, ...]
        Per item.
    sys_fleet, sys_site : tuple[int, ...]
        Per individual system (all fleets concatenated).
    sys_rate : tuple[float, ...]
        Failures per calendar day of a system with every position filled:
        ``hours_per_day · Σ_i Z_i / MTBF_i``.
    fleet_items : tuple[tuple[int, ...], ...]
        Top-level items installed in each fleet's system type.
    fleet_qty : tuple[tuple[int, ...], ...]
        Installed quantity Z of each of them.
    fleet_cum : tuple[tuple[float, ...], ...]
        Cumulative shares of the system's failure rate by installed item (last = 1).
    fleet_count : tuple[int, ...]
        Systems per fleet.
    stock : tuple[int, ...]
        Spares held at time 0 (flat).
    channels : tuple[int, ...]
        Parallel repair channels per site; 0 means unlimited.
    fleet_order : tuple[int, ...]
        The fleets in the scenario's order (systems are numbered in this order).
    laterals : tuple[tuple[tuple[int, float], ...], ...]
        Per site, the sites it may take a spare from when a system's demand finds its
        shelf empty, nearest first: ``(site, days)`` (empty without laterals).
    fleet_need : tuple[tuple[int, ...], ...] or None
        Units of each of ``fleet_items`` that must be in place for a system to be
        mission capable (``needed``; 0 for an inessential item); None: all of them
        (``fleet_qty``), the scenario has no redundant or inessential item.

    Everything the simulation does in a sequence (a system's installed items, an
    item's sub-items, the systems, the fleets) follows the order of the scenario file
    (:func:`file_order`), never the alphabetical order of ids in the compiled arrays,
    so renaming an item, a system or a site does not change the numbers.
    """

    n_items: int
    n_sites: int
    site_parent: tuple[int, ...]
    ship_days: tuple[float, ...]
    sub_items: tuple[tuple[int, ...], ...]
    replace_fraction: tuple[float, ...]
    base_repair_fraction: tuple[float, ...]
    condemnation_fraction: tuple[float, ...]
    base_repair_days: tuple[float, ...]
    depot_repair_days: tuple[float, ...]
    procurement_days: tuple[float, ...]
    sys_fleet: tuple[int, ...]
    sys_site: tuple[int, ...]
    sys_rate: tuple[float, ...]
    fleet_items: tuple[tuple[int, ...], ...]
    fleet_qty: tuple[tuple[int, ...], ...]
    fleet_cum: tuple[tuple[float, ...], ...]
    fleet_count: tuple[int, ...]
    stock: tuple[int, ...]
    channels: tuple[int, ...]
    fleet_order: tuple[int, ...]
    laterals: tuple[tuple[tuple[int, float], ...], ...] = ()
    fleet_need: tuple[tuple[int, ...], ...] | None = None


def stock_matrix(
    a: ScenarioArrays, stock: FloatArray | Mapping[tuple[str, str], float] | None
) -> FloatArray:
    """The (items × sites) stock to simulate: the scenario's, an array, or a mapping.

    A mapping ``{(item_id, site_id): qty}`` replaces the scenario's stock entirely
    (pairs not named hold nothing), like a plan written by ``sustain optimize``.
    """
    if stock is None:
        out = np.asarray(a.stock, dtype=np.float64)
    elif isinstance(stock, Mapping):
        out = np.zeros((a.n_items, a.n_sites))
        i_idx = {x: n for n, x in enumerate(a.item_ids)}
        s_idx = {x: n for n, x in enumerate(a.site_ids)}
        for (item, site), qty in stock.items():
            if item not in i_idx:
                raise SustainError(f"stock: {item!r} is not an item of the scenario")
            if site not in s_idx:
                raise SustainError(f"stock: {site!r} is not a site of the scenario")
            out[i_idx[item], s_idx[site]] = qty
    else:
        out = np.asarray(stock, dtype=np.float64)
        if out.shape != (a.n_items, a.n_sites):
            raise SustainError(
                f"stock: expected an array of shape {(a.n_items, a.n_sites)} "
                f"(items × sites), got {out.shape}"
            )
    if not np.all(np.isfinite(out)) or np.any(out < 0) or np.any(out != np.round(out)):
        raise SustainError("stock: quantities must be whole numbers >= 0")
    if np.any(out > MAX_STOCK):
        raise SustainError(f"stock: quantities must be at most {MAX_STOCK:,}, got {out.max():g}")
    return out


def file_order(scenario: Scenario | None, a: ScenarioArrays) -> tuple[IntArray, IntArray]:
    """Items and fleets of ``a`` (compiled indices) in the order of the scenario file.

    Compiled arrays sort ids alphabetically; the simulator takes items and fleets in
    the order the scenario lists them, so that names never decide a tie.  Without a
    scenario (compiled arrays given directly) their own order is the order.
    """
    if scenario is None:
        return np.arange(a.n_items), np.arange(a.fleet_system.size)
    i_rank = {it.id: n for n, it in enumerate(scenario.items)}
    items = sorted(range(a.n_items), key=lambda i: i_rank[a.item_ids[i]])
    f_rank = {(f.system, f.site): n for n, f in enumerate(scenario.fleets)}
    fleets = sorted(
        range(a.fleet_system.size),
        key=lambda f: f_rank[(a.system_ids[a.fleet_system[f]], a.site_ids[a.fleet_site[f]])],
    )
    return np.array(items, dtype=np.int64), np.array(fleets, dtype=np.int64)


def build_model(
    a: ScenarioArrays,
    stock: FloatArray,
    channels: Mapping[str, int] | None = None,
    order: tuple[IntArray, IntArray] | None = None,
) -> SimModel:
    """Flatten compiled arrays into a :class:`SimModel`.

    ``order``: items and fleets in the scenario's order (:func:`file_order`; default:
    the order of the arrays).
    """
    n_i, n_s = a.n_items, a.n_sites
    item_order, fleet_order = file_order(None, a) if order is None else order
    subs: list[list[int]] = [[] for _ in range(n_i)]
    for u in item_order.tolist():
        p = int(a.item_parent[u])
        if p >= 0:
            subs[p].append(u)
    n_k = len(a.system_ids)
    items_k: list[tuple[int, ...]] = []
    qty_k: list[tuple[int, ...]] = []
    need_k: list[tuple[int, ...]] = []
    rate_k: list[FloatArray] = []
    need = mission_need(a)
    for k in range(n_k):
        use = (a.qty_per_system[item_order, k] > 0) & (a.failures_per_hour[item_order] > 0)
        rows = item_order[use]
        items_k.append(tuple(int(i) for i in rows))
        qty_k.append(tuple(int(a.qty_per_system[i, k]) for i in rows))
        need_k.append(tuple(int(need[i, k]) for i in rows))
        rate_k.append(a.qty_per_system[rows, k] * a.failures_per_hour[rows])
    if np.any(a.qty_per_system != np.round(a.qty_per_system)):
        raise SustainError("simulate: installed quantities must be whole numbers")
    fleet_items, fleet_qty, fleet_cum, fleet_count, fleet_rate = [], [], [], [], []
    fleet_need = []
    for f in range(a.fleet_system.size):
        k = int(a.fleet_system[f])
        r = rate_k[k]
        total = float(r.sum())
        fleet_items.append(items_k[k])
        fleet_qty.append(qty_k[k])
        fleet_need.append(need_k[k])
        fleet_cum.append(tuple((np.cumsum(r) / total).tolist()) if total > 0 else ())
        fleet_count.append(round(float(a.fleet_count[f])))
        fleet_rate.append(total * float(a.fleet_hours_per_day[f]))
    sys_fleet: list[int] = []
    sys_site: list[int] = []
    sys_rate: list[float] = []
    for f in fleet_order.tolist():
        sys_fleet += [f] * fleet_count[f]
        sys_site += [int(a.fleet_site[f])] * fleet_count[f]
        sys_rate += [fleet_rate[f]] * fleet_count[f]
    chan = [0] * n_s
    if channels:
        s_idx = {x: n for n, x in enumerate(a.site_ids)}
        for site, c in channels.items():
            if site not in s_idx:
                raise SustainError(f"repair_channels: {site!r} is not a site of the scenario")
            if isinstance(c, bool) or not isinstance(c, int | float | np.integer | np.floating) \
                    or not np.isfinite(c) or int(c) != c or c < 1:
                raise SustainError(f"repair_channels[{site!r}] must be a whole number >= 1")
            if c > MAX_CHANNELS:
                raise SustainError(
                    f"repair_channels[{site!r}] must be at most {MAX_CHANNELS:,}, got {c!r}")
            chan[s_idx[site]] = int(c)

    def tup(x: FloatArray) -> tuple[float, ...]:
        return tuple(float(v) for v in x)

    return SimModel(
        n_items=n_i,
        n_sites=n_s,
        site_parent=tuple(int(p) for p in a.site_parent),
        ship_days=tup(a.order_ship_days),
        sub_items=tuple(tuple(s) for s in subs),
        replace_fraction=tup(a.replace_fraction),
        base_repair_fraction=tup(a.base_repair_fraction),
        condemnation_fraction=tup(a.condemnation_fraction),
        base_repair_days=tup(a.base_repair_days),
        depot_repair_days=tup(a.depot_repair_days),
        procurement_days=tup(a.procurement_days),
        sys_fleet=tuple(sys_fleet),
        sys_site=tuple(sys_site),
        sys_rate=tuple(sys_rate),
        fleet_items=tuple(fleet_items),
        fleet_qty=tuple(fleet_qty),
        fleet_cum=tuple(fleet_cum),
        fleet_count=tuple(fleet_count),
        stock=tuple(int(x) for x in stock.ravel()),
        channels=tuple(chan),
        fleet_order=tuple(int(f) for f in fleet_order),
        laterals=lateral_links(a),
        fleet_need=tuple(fleet_need) if a.mission_split else None,
    )


def lateral_links(a: ScenarioArrays) -> tuple[tuple[tuple[int, float], ...], ...]:
    """Per site, ``(source site, days)`` of its lateral links, nearest first (the
    compiled :class:`~sustain.scenario.compile.Laterals` order); () without any."""
    lat = a.laterals
    if lat is None:
        return ()
    out: list[list[tuple[int, float]]] = [[] for _ in range(a.n_sites)]
    for s, j, d in zip(lat.site.tolist(), lat.source.tolist(), lat.days.tolist(), strict=True):
        out[s].append((j, d))
    return tuple(tuple(x) for x in out)


def mission_need(a: ScenarioArrays) -> FloatArray:
    """(items × systems) units that must be in place for a system to be mission capable:
    ``needed`` (``qty`` unless redundant), 0 for an inessential item."""
    need = a.qty_per_system if a.needed_per_system is None else a.needed_per_system
    if a.essential_per_system is not None:
        need = need * a.essential_per_system
    return np.asarray(need, dtype=np.float64)


def demand_mask(a: ScenarioArrays) -> BoolArray:
    """(items × sites) pairs that can see demand under the simulated rules."""
    n_i, n_s = a.n_items, a.n_sites
    op = np.zeros((len(a.system_ids), n_s))
    np.add.at(op, (a.fleet_system, a.fleet_site), a.fleet_count * a.fleet_hours_per_day)
    local = np.zeros((n_i, n_s), dtype=bool)
    local[:] = ((a.failures_per_hour[:, None] * a.qty_per_system) @ op) > 0
    seen = np.zeros((n_i, n_s), dtype=bool)
    repaired = np.zeros((n_i, n_s), dtype=bool)
    order = sorted(range(n_s), key=lambda s: -int(a.site_depth[s]))  # children first
    for i in range(n_i):  # parents precede sub-items in compiled order
        p = int(a.item_parent[i])
        if p >= 0 and a.replace_fraction[i] > 0:
            local[i] = repaired[p]
        up = np.zeros(n_s, dtype=bool)
        for s in order:
            dem = local[i, s] or up[s]
            seen[i, s] = dem
            par = int(a.site_parent[s])
            if par < 0:
                repaired[i, s] = dem and a.condemnation_fraction[i] < 1
                continue
            r = a.base_repair_fraction[i]
            repaired[i, s] = local[i, s] and r > 0
            if (local[i, s] and r < 1) or up[s]:
                up[par] = True
    return seen
