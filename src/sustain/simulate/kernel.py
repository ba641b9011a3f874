"""One replication: a compiled event loop on an array binary heap (the hot path).

The loop (:mod:`sustain.simulate.kernel_loop`, one file for both modes) is one
:func:`numba.njit` call per replication, compiled once per machine (``cache=True``):
all state lives in typed NumPy arrays, the event heap is an array binary heap, queues
are linked lists in a node pool, and random numbers come from the replication's
:class:`numpy.random.Generator` inside the compiled code.  No Python object is
touched per event.  This module is the Python side of its steady-state mode (the
time-phased mode's is :mod:`sustain.simulate.kernel_phased`): the model as arrays,
the call, the results.

Events are ``(time_days, seq, code)`` with ``code = 9 * arg + kind``; ``seq`` grows
by one per scheduled event, so ties break in scheduling order and no random
numbers are spent on bookkeeping (style guide §6).  Steady state has three kinds:

``FAIL`` (arg: system)
    The system's next failure.  Each system carries one Poisson clock at the rate
    of all its installed units; the failure is assigned to an installed position
    with probability proportional to ``Z_i / MTBF_i`` and *thinned* (ignored) when
    that position is not working: when the system is down in the realistic
    default (a down system accumulates no hours), or when the position is empty
    with ``failures_while_down=True``.  Thinning a Poisson process by the state is
    exact for exponential lifetimes and needs no cancellation.
``DONE`` (arg: flat item·site)
    A repair finishes (frees a channel when capacity is limited), a good unit
    joins the site's stock.
``ARRIVE`` (arg: flat item·site)
    A good unit arrives (shipment from the parent, procurement): it fills the
    oldest backorder at the site (FCFS) or joins the stock.

The logistics follow the analytic model (``sustain.readiness.metric``): a
failure is a demand on the site's stock (remove and replace; the system waits
for a part when none is there); the broken unit is repaired on site with
probability ``base_repair_fraction`` (``base_repair_days``), otherwise a
replacement is ordered from the parent (one for one; the parent ships after
``order_ship_days`` when it has stock, otherwise when its backorders ahead are
filled) and the broken unit goes to the root, where it is repaired
(``depot_repair_days``) or, with probability ``condemnation_fraction``, scrapped
and replaced after ``procurement_days``.  A repair of an item starts by drawing
its sub-items (each with probability ``replace_fraction``) from the repair
site's stock; a missing sub-item is backordered there and the repair time
starts when the last of them arrives.  Monitors are time-weighted levels,
integrated after the warm-up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.simulate.interrupt import SimulationInterrupted
from sustain.simulate.kernel_loop import (
    I_BASE,
    I_BASE_DAYS,
    I_CONDEMN,
    I_DEPOT_DAYS,
    I_PROCURE_DAYS,
    I_REPLACE,
    N_ITEM_ROWS,
    _loop,
)
from sustain.simulate.model import SimModel


@dataclass(frozen=True, slots=True, kw_only=True)
class Replication:
    """Raw results of one replication (arrays over fleets, flat item·site, sites)."""

    availability: FloatArray  # per fleet, time average after warm-up
    series: FloatArray  # (samples × fleets) share of systems up at each sample day
    backorders: FloatArray  # per flat item·site, time average
    demands: FloatArray  # per flat item·site, count after warm-up
    filled: FloatArray  # per flat item·site, met from stock at once
    in_repair: FloatArray  # per site, time-average repair jobs (channel queue + in service)
    busy: FloatArray  # per site, time-average repair jobs in service (busy channels)
    events: int
    # Time-phased runs only (kernel_phased): per fleet, time averages after the warm-up
    # and systems lost by the end; (samples × fleets) levels at the sample days.
    present_mean: FloatArray | None = None
    up_mean: FloatArray | None = None
    damaged_mean: FloatArray | None = None
    lost: FloatArray | None = None
    series_up: FloatArray | None = None
    series_present: FloatArray | None = None
    series_damaged: FloatArray | None = None
    series_lost: FloatArray | None = None
    # Steady-state runs: per fleet, time-average share of systems fully mission capable.
    availability_fmc: FloatArray | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class KernelArrays:
    """A :class:`SimModel` as the typed arrays the compiled loop reads (built once per job).

    Ragged per-fleet tables are padded to ``(fleets × positions)``; sub-items are
    in compressed rows (``sub_ptr``, ``sub_idx``).  ``item_f`` stacks the per-item
    floats: replace, base-repair and condemnation fractions, base and depot
    repair days, procurement days.  ``burst`` bounds the events, queue nodes and
    stack entries one event can add (each item in an indenture tree is demanded
    at most once per level of the site tree).
    """

    n_sites: int
    site_parent: IntArray
    ship_days: FloatArray
    channels: IntArray
    sub_ptr: IntArray
    sub_idx: IntArray
    item_f: FloatArray
    sys_fleet: IntArray
    sys_site: IntArray
    sys_rate: FloatArray
    fleet_npos: IntArray
    fleet_item: IntArray
    fleet_qty: IntArray
    fleet_cum: FloatArray
    fleet_count: FloatArray
    stock: IntArray
    burst: int
    lat_ptr: IntArray  # lateral links of site s: rows lat_ptr[s] .. lat_ptr[s + 1] - 1
    lat_site: IntArray  # the site a spare may come from (nearest first)
    lat_days: FloatArray  # its transit time
    fleet_need: IntArray  # (fleets × positions) units needed for mission capability


def kernel_arrays(m: SimModel) -> KernelArrays:
    """Flatten the tuples of ``m`` into the arrays of :class:`KernelArrays`."""
    n_f = len(m.fleet_count)
    width = max([1, *(len(x) for x in m.fleet_items)])
    fleet_item = np.zeros((n_f, width), dtype=np.int64)
    fleet_qty = np.zeros((n_f, width), dtype=np.int64)
    fleet_cum = np.ones((n_f, width))
    fleet_npos = np.zeros(n_f, dtype=np.int64)
    for f in range(n_f):
        k = len(m.fleet_cum[f])  # empty when the fleet's systems never fail
        fleet_npos[f] = k
        fleet_item[f, :k] = m.fleet_items[f][:k]
        fleet_qty[f, :k] = m.fleet_qty[f][:k]
        fleet_cum[f, :k] = m.fleet_cum[f]
    fleet_need = fleet_qty.copy()
    if m.fleet_need is not None:
        for f in range(n_f):
            k = int(fleet_npos[f])
            fleet_need[f, :k] = m.fleet_need[f][:k]
    sizes = [len(s) for s in m.sub_items]
    depth = 1
    for s in range(m.n_sites):
        d, p = 1, m.site_parent[s]
        while p >= 0:
            d, p = d + 1, m.site_parent[p]
        depth = max(depth, d)
    item_f = np.empty((N_ITEM_ROWS, m.n_items))
    item_f[I_REPLACE] = m.replace_fraction
    item_f[I_BASE] = m.base_repair_fraction
    item_f[I_CONDEMN] = m.condemnation_fraction
    item_f[I_BASE_DAYS] = m.base_repair_days
    item_f[I_DEPOT_DAYS] = m.depot_repair_days
    item_f[I_PROCURE_DAYS] = m.procurement_days
    i64 = np.int64
    return KernelArrays(
        n_sites=m.n_sites,
        site_parent=np.array(m.site_parent, dtype=i64),
        ship_days=np.array(m.ship_days, dtype=np.float64),
        channels=np.array(m.channels, dtype=i64),
        sub_ptr=np.concatenate([[0], np.cumsum(sizes)]).astype(i64),
        sub_idx=np.array([u for s in m.sub_items for u in s], dtype=i64),
        item_f=item_f,
        sys_fleet=np.array(m.sys_fleet, dtype=i64),
        sys_site=np.array(m.sys_site, dtype=i64),
        sys_rate=np.array(m.sys_rate, dtype=np.float64),
        fleet_npos=fleet_npos,
        fleet_item=fleet_item,
        fleet_qty=fleet_qty,
        fleet_cum=fleet_cum,
        fleet_count=np.array(m.fleet_count, dtype=np.float64),
        stock=np.array(m.stock, dtype=i64),
        burst=m.n_items * (depth + 2) + 4,
        **lateral_arrays(m),
        fleet_need=fleet_need,
    )


def lateral_arrays(m: SimModel) -> dict[str, Any]:
    """The lateral links of ``m`` in compressed rows (every site empty without any)."""
    links = m.laterals or tuple(() for _ in range(m.n_sites))
    sizes = [len(x) for x in links]
    return {
        "lat_ptr": np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        "lat_site": np.array([j for x in links for j, _ in x], dtype=np.int64),
        "lat_days": np.array([d for x in links for _, d in x], dtype=np.float64),
    }


#: What a steady-state run passes for the time-phased mode's arrays (the phased model's
#: 27 entries and state's 21): that code is pruned from the steady-state specialisation,
#: only the unpacking remains.
NO_PHASED = ((0,) * 27, (0,) * 21)


def no_halt() -> IntArray:
    """A stop flag nobody sets."""
    return np.zeros(1, dtype=np.int64)


def common_model(k: KernelArrays, sys_fleet: IntArray, sys_site: IntArray) -> tuple[Any, ...]:
    """The model arrays both modes of the compiled loop read (``md`` in ``_run``)."""
    return (k.site_parent, k.ship_days, k.channels, k.sub_ptr, k.sub_idx, k.item_f, sys_fleet,
            sys_site, k.fleet_npos, k.fleet_item, k.fleet_qty, k.lat_ptr, k.lat_site,
            k.lat_days, k.fleet_need)


def run(
    m: SimModel,
    rng: np.random.Generator,
    *,
    days: float,
    warmup_days: float,
    series_days: FloatArray,
    failures_while_down: bool,
    exponential_delays: bool,
    arrays: KernelArrays | None = None,
    halt: IntArray | None = None,
) -> Replication:
    """Simulate ``days`` calendar days once and return time-weighted averages.

    ``arrays`` (from :func:`kernel_arrays`) saves flattening the model again for
    every replication of the same job.  Setting ``halt[0]`` (from another thread) stops
    the loop within 65,536 events: :class:`SimulationInterrupted` is raised.
    """
    k = kernel_arrays(m) if arrays is None else arrays
    n_f = k.fleet_count.size
    n_flat = k.stock.size
    n_s = k.n_sites
    series = np.empty((len(series_days), n_f))
    down_int = np.zeros(n_f)
    bo_int = np.zeros(n_flat)
    rep_int = np.zeros((2, n_s))  # repair jobs, busy channels
    dem = np.zeros(n_flat, dtype=np.int64)
    hit = np.zeros(n_flat, dtype=np.int64)
    counts = np.maximum(k.fleet_count, 1.0)
    fdown_int = np.zeros(n_f)
    sd = (k.sys_rate, k.fleet_cum, counts, series, np.zeros(n_f, dtype=np.int64),
          np.zeros(n_f), np.zeros(n_f), down_int, np.zeros(n_f, dtype=np.int64),
          np.zeros(n_f), np.zeros(n_f), fdown_int)
    events = _loop(
        common_model(k, k.sys_fleet, k.sys_site), sd, NO_PHASED, None, k.stock, n_s, k.burst,
        rng, float(days), float(warmup_days), np.asarray(series_days, dtype=np.float64),
        bool(failures_while_down), bool(exponential_delays), bo_int, rep_int, dem, hit,
        no_halt() if halt is None else halt,
    )
    if events < 0:
        raise SimulationInterrupted
    span = days - warmup_days
    return Replication(
        availability=1.0 - down_int / (counts * span),
        series=series,
        backorders=bo_int / span,
        demands=dem.astype(np.float64),
        filled=hit.astype(np.float64),
        in_repair=rep_int[0] / span,
        busy=rep_int[1] / span,
        events=int(events),
        availability_fmc=1.0 - fdown_int / (counts * span),
    )
