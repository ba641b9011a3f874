"""Lagrangian decomposition of the targets problem: a price per fleet, items apart.

The problem is ``min Σ_i c_i·(units of item i)`` subject to ``log A_f ≥ log T_f`` for
every fleet with a target, where ``log A_f`` is a sum over top-level items of their
terms (``family.py``).  Pricing each fleet's log-availability at ``λ_f`` money (a
Lagrange multiplier) takes the constraints into the objective, and the problem falls
apart into one problem per item: maximise ``Σ_f λ_f·term_if(s_i) − c_i·units(s_i)``
over the item's own allocations ``s_i``.  Its answer is a point of the item's
efficient curve under the weights ``λ`` (``curves.py``), the last one whose step
gains at least its cost.  Fox and Landi (1970) solved the multi-constraint problem
of this kind with a multiplier per constraint; Muckstadt (2005, ch. 5) and
Sherbrooke (2004, ch. 5) describe it for multi-item, multi-echelon availability
targets.

The multipliers are found by an outer search (:func:`search_prices`): a secant step
per fleet on ``log(−log A_f)`` against ``log λ_f``.  Rebuilding every item's curve
for each trial price would repeat the costly part, so each item's candidates are the
points of one curve, built at a first estimate of the prices and kept down to a
share :data:`COVER` of them; the outer search chooses among those candidates only.
The first estimate comes from a sample of the items (every k-th), whose complete
curves under equal weights are searched the same way, with each fleet's target
shortfall scaled to the sample's share of its items.

Each item's curve is built on its own group of items (a *chunk*: fixed by the
scenario, not by the number of workers), so the candidates, and therefore the plan,
are the same on one process, on several (``parallel.py``) or on Dask.
The plan is then evaluated independently by the caller and topped up where a target
is missed (``api.py``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.optimize.curves import build_curves
from sustain.optimize.family import Family, families_of
from sustain.optimize.state import AllocationState
from sustain.readiness.metric import Method
from sustain.scenario.compile import ScenarioArrays

#: Families (a top-level item and its sub-items) per chunk of work.
CHUNK_FAMILIES = 2048
#: Candidate points reach down to this share of the prices they were built at: the
#: outer search may raise a fleet's price up to 1 / COVER times without leaving them.
COVER = 0.4
#: Samples: every k-th family, with k chosen so that the sample holds about this many:
#: whole curves under equal prices for the first common price, then rounds of curves
#: at the prices found for the prices per fleet.
SCALE_FAMILIES = 300
SAMPLE_FAMILIES = 1500
#: A fleet counts as done when its shortfall −log A is within this share below its
#: target's; the search aims at the middle of that band.
BAND = 1e-3
#: Outer-search iterations at most, per stage.
MAX_ROUNDS = 60
#: The outer search moves a price by this share of the step that would close its
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


def targeted_families(a: ScenarioArrays, targeted: np.ndarray,
                      fams: list[Family] | None = None) -> IntArray:
    """The families (``families_of`` order, or ``fams``) with a fleet in ``targeted``
    (bool per fleet)."""
    fams = families_of(a) if fams is None else fams
    return np.array([n for n, f in enumerate(fams)
                     if f.fleets.size and bool(np.any(targeted[f.fleets]))], dtype=np.int64)


def make_chunks(a: ScenarioArrays, keep: IntArray,
                fams: list[Family] | None = None) -> list[Chunk]:
    """Families ``keep`` (of ``families_of``, or ``fams``) cut into chunks of
    :data:`CHUNK_FAMILIES`, in order."""
    fams = families_of(a) if fams is None else fams
    keep = keep.tolist()
    out = []
    for s in range(0, len(keep), CHUNK_FAMILIES):
        idx = keep[s : s + CHUNK_FAMILIES]
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

    ``rows`` maps the state's item rows to the scenario's.
    """
    a = state.a
    state.w = prices.astype(np.float64).copy()
    state.stock = state.lo.copy()
    fams = state.families
    for f in fams:
        f.curve, f.sub_move = None, None
    build_curves(state, fams, cut=cut)
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


def search_prices(
    c: Candidates, prices: FloatArray, goal: FloatArray, base: FloatArray,
    ceiling: FloatArray | None = None, rounds: int = MAX_ROUNDS, slope: float = 1.0,
    floor: FloatArray | None = None,
) -> tuple[Choice, bool]:
    """Prices at which the chosen candidates meet every goal, cheaply.

    ``goal`` is each fleet's log-availability target (NaN: none).  From ``prices``, a
    damped step per fleet on ``log λ`` towards ``d = D·(1 − BAND/2)`` (``d = −log A``,
    ``D = −log target``), taking ``d ∝ λ^−slope`` (``slope``: measured on a common
    price); ``floor`` and ``ceiling`` bound the prices (the candidates' cover).  Stops when every
    fleet is within ``[(1 − BAND)·D, D]``.  Returns the cheapest choice seen that meets
    every goal, else the one with the smallest worst shortfall, and whether every goal
    was met.
    """
    n_f = prices.size
    tgt = ~np.isnan(goal)
    d_goal = np.maximum(np.where(tgt, -np.nan_to_num(goal, nan=0.0), 1.0), 1e-300)
    aim = np.log(d_goal * (1 - BAND / 2))
    x = np.log(np.where(tgt, np.maximum(prices, 1e-300), 1.0))
    top = np.log(ceiling) if ceiling is not None else np.full(n_f, np.inf)
    bottom = np.log(floor) if floor is not None else np.full(n_f, -np.inf)
    gain = DAMPING / max(slope, 0.2)
    best: Choice | None = None
    closest: tuple[float, Choice] | None = None
    for _ in range(rounds):
        lam = np.where(tgt, np.exp(x), 0.0)
        ch = choose(c, lam, n_f, base)
        d = np.maximum(-ch.log_a, 1e-300)
        worst = float(np.max(np.where(tgt, d / d_goal, 0.0), initial=0.0))
        if worst <= 1.0 and (best is None or ch.cost < best.cost):
            best = ch
        if closest is None or worst < closest[0]:
            closest = (worst, ch)
        inside = ~tgt | ((d <= d_goal) & (d >= d_goal * (1 - BAND)))
        if np.all(inside):
            break
        step = np.clip(gain * (np.log(d) - aim), -MAX_STEP, MAX_STEP)
        x = np.clip(x + np.where(inside, 0.0, step), bottom, top)
    assert closest is not None
    return (best, True) if best is not None else (closest[1], False)


def every_kth(ids: IntArray, size: int) -> IntArray:
    """Every k-th of ``ids``, about ``size`` of them (all when fewer)."""
    k = max(1, math.ceil(ids.size / max(size, 1)))
    return ids[::k]


def scale_goal(a: ScenarioArrays, every: IntArray, sample: IntArray, goal: FloatArray,
               fams: list[Family] | None = None) -> FloatArray:
    """Each fleet's goal for the families ``sample`` (of ``every``): its log target
    times the sample's share of the fleet's families."""
    fams = families_of(a) if fams is None else fams
    n_f = a.fleet_system.size

    def count(ids: IntArray) -> FloatArray:
        got = [fams[n].fleets for n in ids.tolist()]
        return np.bincount(np.concatenate(got or [np.zeros(0, np.int64)]),
                           minlength=n_f).astype(np.float64)

    share = count(sample) / np.maximum(count(every), 1)
    return np.asarray(goal * np.where(share > 0, share, np.nan), dtype=np.float64)
