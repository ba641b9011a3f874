"""Choosing the search for availability targets, and the decomposition's plan repaired.

``search="greedy"`` is the marginal-analysis greedy (``greedy.py``) with, on small
cases, its second opinions and the neighbourhood search; ``search="lagrange"`` is the
decomposition (``decompose.py``, ``lagrange.py``), which spreads over worker processes
or a Dask cluster; ``"auto"`` takes the decomposition from :data:`AUTO_PAIRS` item-site
pairs up.  The decomposition's stock is evaluated independently and any fleet it
leaves short of its target is topped up by the greedy from there (a target the stock
limits keep out of reach is reported as by the greedy).
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.errors import SustainError
from sustain.optimize.curves import CELL_BUDGET
from sustain.optimize.family import fleet_terms, serving_families
from sustain.optimize.greedy import marginal_allocation
from sustain.optimize.lagrange import LagrangePlan, lagrange_plan
from sustain.optimize.state import MarginalResult, Progress, stock_bounds
from sustain.optimize.work import BYTES_PER_CELL, estimate_work, format_bytes
from sustain.readiness.evaluate import Evaluation, evaluate_arrays
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays

SEARCHES = ("auto", "greedy", "lagrange")
#: Bytes per item-site pair of the decomposition's peak, beyond the curve tables
#: (measured: about 4,000 at 10,000 items × 21 sites with two workers).
BYTES_PER_PAIR = 4_000
#: From this many item-site pairs up, ``auto`` takes the decomposition.
AUTO_PAIRS = 1_000_000
#: The repair's greedy first buys only for the families likeliest to gain most for the
#: fleets left short: for each such fleet, this share of the families serving it, and
#: at least REPAIR_MIN_FAMILIES (all of them when fewer); the greedy over every family
#: of the short fleets follows only when that does not meet the targets.
REPAIR_SHARE = 0.02
REPAIR_MIN_FAMILIES = 64
#: The repair's greedy rebuilds stale curves this many at a time (each fleet that
#: meets its target makes the curves of the families serving it stale).
REPAIR_REBUILD_AHEAD = 256
#: The repair's first curves go down to this share of ``1 / λ`` (``λ``: the largest
#: price of a fleet short of its target in the decomposition's answer, per unit of
#: log A; a fleet's marginal gain per money there is about ``1 / λ``), and are extended
#: on demand past it: the greedy near the decomposition's margin needs little more.
REPAIR_FIRST_CUT = 0.5

#: Where the last decomposition run spent its time (seconds per stage), and its plan:
#: read by the benchmark's profile.
LAST_RUN: dict[str, Any] = {}


def check_search(search: str) -> str:
    """``search`` if it is one of :data:`SEARCHES`, else a :class:`SustainError`."""
    if search not in SEARCHES:
        raise SustainError(f"search must be one of {', '.join(SEARCHES)}: got {search!r}")
    return search


def check_workers(workers: int) -> int:
    """``workers`` if it is a whole number >= 1, else a :class:`SustainError`."""
    if isinstance(workers, bool) or not isinstance(workers, int | np.integer) or workers < 1:
        raise SustainError(f"workers must be a whole number >= 1: got {workers!r}")
    return int(workers)


def check_lagrange_work(
    a: ScenarioArrays, start: Evaluation, lo: FloatArray, hi: FloatArray, max_memory: float,
    workers: int,
) -> float:
    """The decomposition's peak memory, estimated; a :class:`SustainError` above
    ``max_memory``.

    It keeps no step of a search, only each item's candidate points: the largest batch of
    curve tables in each process (this one and ``workers`` workers), plus
    :data:`BYTES_PER_PAIR` per item-site pair (the scenario's arrays, the evaluations
    and the candidates).  Its time grows with the number of items, so there is no
    limit on the work (``work.MAX_WORK`` is the greedy's).
    """
    est = estimate_work(a, start, lo, hi)
    batch = max(float(CELL_BUDGET), est.cells) * BYTES_PER_CELL
    memory = (workers + 1) * batch + BYTES_PER_PAIR * a.n_items * a.n_sites
    if memory > max_memory:
        raise SustainError(
            f"optimize (search lagrange) would need about {format_bytes(memory)} of memory, "
            f"more than the limit of {format_bytes(max_memory)} (max_memory, --max-memory): "
            f"{a.n_items:,} items at {a.n_sites} sites on {workers} worker(s). Use fewer "
            "workers, or a machine or cluster with more memory")
    return memory


def use_lagrange(a: ScenarioArrays, search: str, goals: FloatArray) -> bool:
    """Whether a targets run takes the decomposition: asked for, or ``auto`` on a large
    scenario; refused (:class:`SustainError`) where it does not apply."""
    if search == "greedy":
        return False
    applies = a.laterals is None and bool(np.any(~np.isnan(goals)))
    if search == "lagrange":
        if a.laterals is not None:
            raise SustainError("search lagrange: the scenario has lateral links (laterals), "
                               "which couple the sites' stock; use search greedy")
        if not applies:
            raise SustainError("search lagrange needs availability targets (--target)")
        return True
    return applies and a.n_items * a.n_sites >= AUTO_PAIRS


def repair_families(a: ScenarioArrays, start: Evaluation, goals: FloatArray
                    ) -> IntArray | None:
    """The families (``families_of`` order) the repair buys for first, or None for all.

    The fleets short of their targets at ``start`` are the greedy's objective there
    (weight 1 each).  A family's first unit gains, for a fleet, about its term's size
    ``−Z log(1 − x)`` (backorders shed by a unit: ``P(X > s)``, close to ``EBO(s)`` at
    the stock levels of a plan near its targets), so for each short fleet the families
    serving it are ranked by ``−term / unit cost`` and the first :data:`REPAIR_SHARE`
    of them (at least :data:`REPAIR_MIN_FAMILIES`) are kept.  The ranking is a
    heuristic: it chooses where the greedy looks first, not what it buys.
    """
    is_short = ~np.isnan(goals) & (start.availability < goals) & (a.fleet_count > 0)
    short = np.flatnonzero(is_short)
    if short.size == 0:
        return None
    serving = serving_families(a, is_short)
    tops = np.flatnonzero(a.item_parent < 0)[serving]
    score = np.zeros((tops.size, short.size))
    for lo in range(0, tops.size, 2048):  # bounded temporaries
        rows = tops[lo : lo + 2048]
        terms = fleet_terms(a, start.flows, start.pipes.ebo, rows, np.arange(a.n_items), short,
                            (start.pipes.mean, start.pipes.var, start.arrays.stock))
        score[lo : lo + rows.size] = -terms / np.maximum(a.unit_cost[rows], 1e-300)[:, None]
    keep = np.zeros(tops.size, dtype=bool)
    for j in range(short.size):
        col = score[:, j]
        mine = np.flatnonzero(col > 0)
        k = max(REPAIR_MIN_FAMILIES, math.ceil(REPAIR_SHARE * mine.size))
        keep[mine[np.argsort(-col[mine], kind="stable")[:k]]] = True
    if keep.all():
        return None
    return serving[keep]


def repair_cut(prices: FloatArray, start: Evaluation, goals: FloatArray) -> float | None:
    """The ratio the repair's first curves are built down to (:data:`REPAIR_FIRST_CUT`
    of ``1 / λ``), or None when no fleet short of its target has a price."""
    short = ~np.isnan(goals) & (start.availability < goals)
    top = float(np.max(prices[short], initial=0.0))
    if not math.isfinite(top) or top <= 0:
        return None
    return REPAIR_FIRST_CUT / top


def lagrange_search(
    a: ScenarioArrays, goals: FloatArray, method: Method, min_stock: FloatArray | None,
    max_stock: FloatArray | None, progress: Progress | None, *, workers: int = 1,
    dask_address: str | Any | None = None, held: Evaluation | None = None,
) -> MarginalResult:
    """The decomposition's stock, evaluated and topped up by the greedy where a target
    is missed.  The result starts at the stock held (raised to ``min_stock``; ``held``:
    its evaluation, when the caller has one) and ends at the plan, with no steps
    between (the curve reported is the plan alone)."""
    workers = check_workers(workers)
    lo, hi = stock_bounds(a, min_stock, max_stock)
    t0 = time.perf_counter()
    plan: LagrangePlan = lagrange_plan(a, goals, lo, hi, method, workers=workers,
                                       dask_address=dask_address)
    t1 = time.perf_counter()
    start = evaluate_arrays(a.with_stock(plan.stock), method=method)
    near = repair_families(a, start, goals)
    repair = marginal_allocation(a, targets=goals, method=method, min_stock=plan.stock,
                                 max_stock=max_stock, progress=progress, start=start,
                                 only_families=near, rebuild_ahead=REPAIR_REBUILD_AHEAD,
                                 first_cut=repair_cut(plan.prices, start, goals))
    if near is not None and not repair.met:
        repair = marginal_allocation(a, targets=goals, method=method, min_stock=plan.stock,
                                     max_stock=max_stock, progress=progress, start=start,
                                     rebuild_ahead=REPAIR_REBUILD_AHEAD)
    t2 = time.perf_counter()
    before = evaluate_arrays(a.with_stock(lo), method=method) if held is None else held
    LAST_RUN.clear()
    LAST_RUN.update(
        seconds={**plan.seconds, "decomposition": t1 - t0, "repair": t2 - t1},
        plan_cost=float(np.sum((plan.stock - a.stock) * a.unit_cost[:, None])),
        repair_units=float(np.sum(repair.stock - plan.stock)), met_by_plan=plan.met,
        families=plan.families, chunks=plan.chunks)
    return MarginalResult(
        stock=repair.stock, start_stock=lo, steps=[],
        start_availability=before.availability,
        start_cost=float(np.sum((lo - a.stock) * a.unit_cost[:, None])), met=repair.met,
    )
