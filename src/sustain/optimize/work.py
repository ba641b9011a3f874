"""The work and memory an optimisation needs, estimated before it starts.

The optimiser's work grows with the stock it considers at each site: an item's curve
enumerates stock levels up to a cap (the pipeline mean plus about 6.7 standard
deviations, or the user's maximum) at every leaf, for each combination of upper-site
levels (``curves.py``), and every unit bought is a step of the greedy.  A pipeline is
failures per day times days to get a unit back, so a very short MTBF, a very large
fleet or very long repairs make it huge.  From one evaluation of the starting stock
this module estimates, before any curve is built:

* the stock levels each item's curve spans (table cells: upper-site combinations ×
  leaves × levels), and the work of building the curves once (cells, counted 30 times
  for pipelines of mean above 500, whose distribution is computed term by term with
  log-gamma functions);
* the units the curves can add (between the stock held and the caps), each a possible
  greedy step kept in the efficient curve;
* the peak memory: the largest batch of tables plus the steps.

A request above the memory limit (``max_memory``) or above :data:`MAX_WORK` is refused
with a :class:`SustainError` that says how much was asked and which item, site and
inputs drive it.  A refusal costs one evaluation of the scenario.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from sustain._types import FloatArray
from sustain.errors import SustainError
from sustain.optimize.curves import CELL_BUDGET, MIN_COMBOS, PIPE_BUDGET, level_caps
from sustain.readiness.evaluate import Evaluation
from sustain.scenario.compile import ScenarioArrays

#: Share of the machine's physical memory a run may use when ``max_memory`` is not given.
MEMORY_SHARE = 0.5
#: Peak bytes per table cell while a batch of curves is built (measured: 90–160).
BYTES_PER_CELL = 160
#: Bytes per unit the curves can add: a greedy step (its availability per fleet and
#: stock per site are kept for the efficient curve) and a curve point, plus these
#: per fleet and per site.
BYTES_PER_UNIT = 600
BYTES_PER_UNIT_FLEET = 16
BYTES_PER_UNIT_SITE = 16
#: Table cells of pipelines with a mean above HEAVY_MEAN count HEAVY_CELL_WORK times
#: (their probabilities are computed term by term with log-gamma functions, not by a
#: recurrence: measured about 30 times slower per cell).
HEAVY_MEAN = 500.0
HEAVY_CELL_WORK = 30
#: Work (weighted table cells of one build of every curve) above which a run is refused,
#: about 40 s of processor time: measured 7 to 13 ns per weighted cell on one item on
#: 36,501 systems (7.6e8: 10 s), 30 items on three bases of 10,000 systems to 0.999999
#: (1.8e9: 12 s) and 20 items on 100,000 systems to 0.999999 (4.9e9: 62 s, refused).
MAX_WORK = 3e9


def machine_memory() -> int:
    """Physical memory of the machine in bytes (8 GiB when the system does not say)."""
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return 8 * 2**30
    return int(pages * size) if pages > 0 and size > 0 else 8 * 2**30


def default_max_memory() -> int:
    """The memory limit of a run when none is given: :data:`MEMORY_SHARE` of the RAM."""
    return int(MEMORY_SHARE * machine_memory())


def format_bytes(n: float) -> str:
    """``1.5 GB``-style (powers of 1024)."""
    for unit, scale in (("TB", 2.0**40), ("GB", 2.0**30), ("MB", 2.0**20), ("kB", 2.0**10)):
        if n >= scale:
            return f"{n / scale:.3g} {unit}"
    return f"{n:.0f} B"


_SIZE_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def parse_memory(text: str) -> float:
    """Bytes from ``4G``, ``512M``, ``1.5GB``, ``2GiB`` or a plain number of bytes."""
    s = text.strip().upper().removesuffix("B").removesuffix("I")
    unit = s[-1:] if s[-1:] in _SIZE_UNITS else ""
    try:
        value = float(s[: len(s) - len(unit)])
    except ValueError:
        raise SustainError(
            f"--max-memory: expected a size such as 4G, 512M or 2000000000: got {text!r}"
        ) from None
    if not (math.isfinite(value) and value > 0):
        raise SustainError(f"--max-memory: must be a positive size: got {text!r}")
    return value * _SIZE_UNITS[unit]


@dataclass(frozen=True, slots=True, kw_only=True)
class WorkEstimate:
    """What an optimisation would take, and the item and site that drive it."""

    memory: float  # bytes at the peak
    work: float  # weighted table cells of one build of every curve
    units: float  # units the curves can add in all
    cells: float  # table cells of the largest single item
    item: int  # the item whose curve is the largest
    site: int  # its site with the most stock levels
    levels: float  # stock levels considered there


def estimate_work(
    a: ScenarioArrays, start: Evaluation, lo: FloatArray, hi: FloatArray
) -> WorkEstimate:
    """Estimate the run from ``start``, an evaluation of the scenario at stock ``lo``."""
    mean, var = start.pipes.mean, start.pipes.var
    cap = np.maximum(level_caps(mean, var, lo, hi), lo)
    span = cap - lo
    sites = np.arange(a.n_sites)
    leaves = np.flatnonzero(~np.isin(sites, a.site_parent))
    ups = np.flatnonzero(np.isin(sites, a.site_parent))
    tops = np.flatnonzero(a.item_parent < 0)
    n_l = max(leaves.size, 1)
    if tops.size == 0:
        return WorkEstimate(memory=0.0, work=0.0, units=0.0, cells=0.0, item=0, site=0,
                            levels=0.0)
    levels = cap[tops][:, leaves].max(axis=1) + 1 if leaves.size else np.ones(tops.size)
    combos = np.prod(span[tops][:, ups] + 1, axis=1)
    limit = np.maximum(MIN_COMBOS, np.minimum(CELL_BUDGET // (n_l * levels),
                                              PIPE_BUDGET // a.n_sites))  # combo_limit
    cells = np.minimum(combos, limit) * n_l * levels
    heavy = mean[tops][:, leaves].max(axis=1) > HEAVY_MEAN if leaves.size else (
        np.zeros(tops.size, dtype=bool))
    work = float(np.sum(cells * np.where(heavy, HEAVY_CELL_WORK, 1)))
    units = float(span.sum())
    per_unit = (BYTES_PER_UNIT + BYTES_PER_UNIT_FLEET * a.fleet_system.size
                + BYTES_PER_UNIT_SITE * a.n_sites)
    memory = max(float(CELL_BUDGET), float(cells.max())) * BYTES_PER_CELL + units * per_unit
    big = int(np.argmax(cells))
    item = int(tops[big])
    site = int(np.argmax(span[item]))
    return WorkEstimate(memory=memory, work=work, units=units, cells=float(cells[big]),
                        item=item, site=site, levels=float(span[item, site] + 1))


def _driver(a: ScenarioArrays, start: Evaluation, item: int, site: int) -> str:
    """Why ``item`` has a long pipeline at ``site``: its demand, delay and sources."""
    name, where = a.item_ids[item], a.site_ids[site]
    mean = float(start.pipes.mean[item, site])
    demand = float(start.flows.demand[item, site])
    days = mean / demand if demand > 0 else 0.0
    text = (f"item '{name}' at site '{where}' has a pipeline of {mean:.3g} units "
            f"({demand:.3g} demands a day × {days:.3g} days to get a unit back)")
    parent = int(a.item_parent[item])
    if parent >= 0:
        return text + (f"; its demand comes from repairs of '{a.item_ids[parent]}' "
                       f"(replace_fraction {float(a.replace_fraction[item]):.3g})")
    fleets = [
        f"{a.system_ids[k]}@{a.site_ids[s]}: {float(n):,.0f} systems × {float(h):.3g} h/day"
        for k, s, n, h in zip(a.fleet_system.tolist(), a.fleet_site.tolist(),
                              a.fleet_count.tolist(), a.fleet_hours_per_day.tolist(),
                              strict=True)
        if a.qty_per_system[item, k] > 0 and n > 0
    ]
    mtbf = 1.0 / float(a.failures_per_hour[item]) if a.failures_per_hour[item] > 0 else math.inf
    shown = "; ".join(fleets[:3]) + (f"; and {len(fleets) - 3} more" if len(fleets) > 3 else "")
    return text + f", from mtbf_hours {mtbf:.3g} and fleets {shown}"


def check_work(
    a: ScenarioArrays, start: Evaluation, lo: FloatArray, hi: FloatArray, max_memory: float
) -> WorkEstimate:
    """Estimate the run and refuse it (:class:`SustainError`) when it is too big."""
    est = estimate_work(a, start, lo, hi)
    if est.memory <= max_memory and est.work <= MAX_WORK:
        return est
    if est.memory > max_memory:
        head = (f"optimize would need about {format_bytes(est.memory)} of memory, more than "
                f"the limit of {format_bytes(max_memory)} (max_memory, --max-memory)")
    else:
        head = (f"optimize would take too long: its curves span {est.work:.3g} table cells "
                f"(weighted), more than {MAX_WORK:.3g}")
    why = _driver(a, start, est.item, est.site)
    raise SustainError(
        f"{head}: {est.units:.3g} units of stock could be bought in all, and {why}, so "
        f"its curve would consider {est.levels:.3g} stock levels there "
        f"({est.cells:.3g} table cells). Check those inputs, or cap the stock with "
        "stock_limits."
    )
