"""Lagrangian decomposition of the targets problem: a price per fleet, items apart.

The problem is ``min Σ_i c_i·(units of item i)`` subject to ``log A_f ≥ log T_f`` for
every fleet with a target, where ``log A_f`` is a sum over top-level items of their
terms (``family.py``).  Pricing each fleet's log-availability at ``λ_f`` money (a
Lagrange multiplier) takes the constraints into the objective, and the problem falls
apart into one problem per item: maximise ``Σ_f λ_f·term_if(s_i) − c_i·units(s_i)``
over the item's own allocations ``s_i``.  Its answer is a point of the item's
efficient curve under the weights ``λ`` (``curves.py``), the last one whose step
gains at least its cost (Everett 1963; the search for the multipliers: Fox and Landi
1970; for multi-item, multi-echelon availability targets: Muckstadt 2005, ch. 5, and
Sherbrooke 2004, ch. 5).  The search itself is in ``lagrange.py``.

This module holds the pieces: the chunks (groups of families fixed by the scenario,
not by the number of workers, so the plan is the same on one process, on several
(``parallel.py``) or on Dask), a chunk's curve points at given prices
(:class:`Candidates`), the best point of each family at given prices (:func:`choose`)
and the samples' goals.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.optimize.curves import build_curves
from sustain.optimize.family import Family, families_of, serving_families
from sustain.optimize.state import AllocationState
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays

#: Families (a top-level item and its sub-items) per chunk of work; the samples'
#: chunks are smaller, so that a few hundred families still spread over the workers.
CHUNK_FAMILIES = 2048
SAMPLE_CHUNK_FAMILIES = 256
#: Samples: every k-th family, with k chosen so that the sample holds about this many:
#: whole curves under equal prices for the first common price, then rounds of curves
#: at the prices found for the prices per fleet.
SCALE_FAMILIES = 300
SAMPLE_FAMILIES = 1500
#: Each round moves a fleet's price by this share of the step that would close its
#: fleet's gap if the fleet alone moved (fleets sharing items move together), and by
#: at most MAX_STEP in log.
DAMPING = 0.6
MAX_STEP = 0.5
#: Rounds of extension for curves cut short by a narrowed upper-site range.
EXTEND_ROUNDS = 4


@dataclass(frozen=True, slots=True)
class Chunk:
    """A chunk's families (index into ``families_of``) and the item rows they hold."""

    families: IntArray
    rows: IntArray


@dataclass(frozen=True, slots=True)
class Problem:
    """What every worker needs (sent once): the scenario, the stock bounds, the method
    and the chunks."""

    a: ScenarioArrays
    lo: FloatArray
    hi: FloatArray
    method: Method
    chunks: tuple[Chunk, ...]


@dataclass(frozen=True, slots=True)
class Candidates:
    """Curve points of a set of families, flattened.

    Family ``g`` owns points ``first[g]:first[g + 1]``; point ``p`` adds ``units[p]``
    of the family's top item (``top[g]``, unit cost ``cost[g]``), whose stock there is
    ``stock[p]``.  Pairs ``q`` give the point's unweighted term ``term[q]`` for fleet
    ``fleet[q]``.
    """

    top: IntArray
    cost: FloatArray
    first: IntArray
    units: FloatArray
    stock: FloatArray
    pair_point: IntArray
    pair_fleet: IntArray
    term: FloatArray

    @staticmethod
    def join(parts: list[Candidates]) -> Candidates:
        """The candidates of several sets, in order."""
        offs = np.cumsum([0] + [p.units.size for p in parts])
        first = [parts[0].first[:1]] if parts else [np.zeros(1, np.int64)]
        for k, p in enumerate(parts):
            first.append(p.first[1:] + offs[k])
        return Candidates(
            top=np.concatenate([p.top for p in parts]),
            cost=np.concatenate([p.cost for p in parts]),
            first=np.concatenate(first).astype(np.int64),
            units=np.concatenate([p.units for p in parts]),
            stock=np.concatenate([p.stock for p in parts]),
            pair_point=np.concatenate([p.pair_point + offs[k] for k, p in enumerate(parts)]),
            pair_fleet=np.concatenate([p.pair_fleet for p in parts]),
            term=np.concatenate([p.term for p in parts]),
        )


def targeted_families(a: ScenarioArrays, targeted: np.ndarray) -> IntArray:
    """The families (``families_of`` order) with a fleet in ``targeted`` (bool per
    fleet)."""
    return serving_families(a, np.asarray(targeted, dtype=bool))


def chunk_count(n: int, size: int) -> int:
    """Chunks for ``n`` families of about ``size`` each: at least ``n / size``, raised to
    1, 2, 3 or a multiple of 6 (so that equal chunks split evenly over 2 or 3 workers),
    and never more than ``n``."""
    need = max(1, math.ceil(n / max(size, 1)))
    count = need if need <= 3 else 6 * math.ceil(need / 6)
    return max(1, min(count, n))


def make_chunks(a: ScenarioArrays, keep: IntArray, fams: list[Family] | None = None,
                size: int | None = None) -> list[Chunk]:
    """Families ``keep`` (of ``families_of``, or ``fams``) cut into equal chunks of
    about ``size`` (None: :data:`CHUNK_FAMILIES`; :func:`chunk_count` of them), in
    order."""
    fams = families_of(a) if fams is None else fams
    size = CHUNK_FAMILIES if size is None else size
    keep = keep.tolist()
    if not keep:
        return []
    count = chunk_count(len(keep), size)
    cuts = [len(keep) * k // count for k in range(count + 1)]
    out = []
    for lo_k, hi_k in itertools.pairwise(cuts):
        idx = keep[lo_k:hi_k]
        rows = np.concatenate([fams[n].rows for n in idx]).astype(np.int64)
        out.append(Chunk(families=np.array(idx, dtype=np.int64), rows=rows))
    return out


def chunk_state(problem: Problem, chunk: Chunk) -> AllocationState:
    """The allocation state of a chunk's families alone (fleets as in the scenario)."""
    a = problem.a
    sub = a.subset(chunk.rows, stock=a.stock[chunk.rows])
    return AllocationState(
        sub, weights=np.zeros(a.fleet_system.size), lo=problem.lo[chunk.rows],
        hi=problem.hi[chunk.rows], method=problem.method,
    )


def chunk_candidates(
    state: AllocationState, rows: IntArray, prices: FloatArray, cut: float
) -> Candidates:
    """Curve points of every family of ``state`` under fleet weights ``prices``, down to
    gains of ``cut`` per money (0: whole curves), from the state's lower bounds.

    With ``cut`` 1 or more only each curve's last point is kept: every step before it
    gains at least its cost, so it is the family's answer at these prices (and the
    memory and the transfer from a worker are one point per family).  ``rows`` maps
    the state's item rows to the scenario's.
    """
    a = state.a
    state.w = prices.astype(np.float64).copy()
    state.stock = state.lo.copy()
    fams = state.families
    for f in fams:
        f.curve, f.sub_move = None, None
    build_curves(state, fams, cut=cut, answer=cut >= 1.0)
    units: list[list[FloatArray]] = [[f.curve.units.astype(np.float64)] for f in fams]  # type: ignore[union-attr]
    stocks: list[list[FloatArray]] = [[f.curve.stock] for f in fams]  # type: ignore[union-attr]
    logs: list[list[FloatArray]] = [[f.curve.logs] for f in fams]  # type: ignore[union-attr]
    # A curve that ends at a narrowed range of upper-site levels, still gaining at
    # least ``cut``: built again from its end (a few rounds at most).
    for _ in range(EXTEND_ROUNDS):
        more = [n for n, f in enumerate(fams)
                if f.curve is not None and f.curve.beyond > max(cut, 0.0) * (1 + 1e-9)
                and len(f.curve.ratio) > 0 and f.curve.units.size > 1]
        if not more:
            break
        for n in more:
            c = fams[n].curve
            assert c is not None
            state.stock[fams[n].top] = c.stock[-1]
        build_curves(state, [fams[n] for n in more], cut=cut)
        for n in more:
            c = fams[n].curve
            assert c is not None
            base = units[n][-1][-1]
            units[n].append(c.units[1:].astype(np.float64) + base)
            stocks[n].append(c.stock[1:])
            logs[n].append(c.logs[1:])
    u = [np.concatenate(x) for x in units]
    st = [np.concatenate(x) for x in stocks]
    lg = [np.concatenate(x) for x in logs]
    if cut >= 1.0:
        u, st, lg = [x[-1:] for x in u], [x[-1:] for x in st], [x[-1:] for x in lg]
    counts = np.array([x.size for x in u], dtype=np.int64)
    first = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    nf = np.array([f.fleets.size for f in fams], dtype=np.int64)
    pair_point = np.concatenate(
        [np.repeat(np.arange(first[g], first[g + 1]), nf[g]) for g in range(len(fams))]
        or [np.zeros(0, np.int64)]).astype(np.int64)
    pair_fleet = np.concatenate(
        [np.tile(f.fleets, counts[g]) for g, f in enumerate(fams)]
        or [np.zeros(0, np.int64)]).astype(np.int64)
    term = np.concatenate([x.ravel() for x in lg] or [np.zeros(0)])
    tops = np.array([f.top for f in fams], dtype=np.int64)
    return Candidates(
        top=rows[tops], cost=a.unit_cost[tops].astype(np.float64), first=first,
        units=np.concatenate(u) if u else np.zeros(0),
        stock=np.concatenate(st) if st else np.zeros((0, a.n_sites)),
        pair_point=pair_point, pair_fleet=pair_fleet, term=term,
    )


@dataclass(frozen=True, slots=True)
class Choice:
    """The candidates chosen at some prices: one point per family, and the result."""

    prices: FloatArray
    point: IntArray  # chosen point of each family
    log_a: FloatArray  # per fleet, Σ of the chosen points' terms (targeted fleets)
    cost: float


def choose(c: Candidates, prices: FloatArray, n_fleets: int, base: FloatArray) -> Choice:
    """Each family's best candidate at ``prices`` (the first on ties), and the fleets'
    log-availability: ``base`` (the terms of families without candidates) plus the
    chosen points' terms."""
    n_fam = c.top.size
    gain = np.bincount(c.pair_point, weights=prices[c.pair_fleet] * c.term,
                       minlength=c.units.size)
    fam_of = np.repeat(np.arange(n_fam), np.diff(c.first))
    value = gain - c.units * c.cost[fam_of]
    if n_fam == 0:
        return Choice(prices=prices, point=np.zeros(0, np.int64), log_a=base.copy(), cost=0.0)
    best = np.maximum.reduceat(value, c.first[:-1])
    hit = np.flatnonzero(value >= best[fam_of])
    # The first point of each family reaching its best value.
    first_hit = np.concatenate([[True], fam_of[hit][1:] != fam_of[hit][:-1]])
    point = hit[first_hit]
    chosen = np.zeros(c.units.size, dtype=bool)
    chosen[point] = True
    mask = chosen[c.pair_point]
    log_a = base + np.bincount(c.pair_fleet[mask], weights=c.term[mask], minlength=n_fleets)
    cost = float(np.sum(c.units[point] * c.cost))
    return Choice(prices=prices, point=point, log_a=log_a, cost=cost)


def every_kth(ids: IntArray, size: int) -> IntArray:
    """Every k-th of ``ids``, about ``size`` of them (all when fewer)."""
    k = max(1, math.ceil(ids.size / max(size, 1)))
    return ids[::k]


def scale_goal(a: ScenarioArrays, every: IntArray, sample: IntArray, goal: FloatArray
               ) -> FloatArray:
    """Each fleet's goal for the families ``sample`` (of ``every``; ``families_of``
    order): its log target times the sample's share of the fleet's families."""
    tops = np.flatnonzero(a.item_parent < 0)
    manned = a.fleet_count > 0

    def count(ids: IntArray) -> FloatArray:
        # A family counts for the manned fleets of every system type its top is in.
        per_system = (a.qty_per_system[tops[ids]] > 0).sum(axis=0)
        return np.where(manned, per_system[a.fleet_system], 0).astype(np.float64)

    share = count(sample) / np.maximum(count(every), 1)
    return np.asarray(goal * np.where(share > 0, share, np.nan), dtype=np.float64)
