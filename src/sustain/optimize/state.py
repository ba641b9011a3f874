"""The allocation a search builds: stock, fleet weights, families and their terms.

Shared by the greedy (``greedy.py``), its local search (``local_search.py``), the plain
greedy (``plain.py``) and the neighbourhood search (``refine.py``).  A family is
evaluated alone (``family_eval``): families are independent in the objective, so a
fleet's log-availability is the sum of its families' terms (``FamilyTerms``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sustain._types import FloatArray, IntArray
from sustain.optimize.family import Family, FamilyTerms, families_of, fleet_terms
from sustain.readiness.evaluate import Evaluation
from sustain.readiness.laterals import with_laterals
from sustain.readiness.metric import Method, demand_flows, pipelines
from sustain.scenario.compile import ScenarioArrays

#: Gains below this (in log-availability per unit of money, relative) are no gain.
MIN_GAIN = 1e-12
#: Families whose start terms are computed together.
BATCH_ITEMS = 2048

#: ``progress(step, cost, worst_gap)``: called every few steps of a search.
Progress = Callable[[int, float, float], None]
#: ``refine_progress(stage, seconds, budget_seconds, cost)``: called while the small-case
#: strategies and the neighbourhood search run (``stage`` names the one running, ``cost``
#: is the cheapest plan meeting the targets so far).
RefineProgress = Callable[[str, float, float, float], None]
#: Processor seconds between two calls of a :data:`RefineProgress`, at least.
REPORT_EVERY = 0.1


class Deadline:
    """A budget of processor time for the searches run after the first greedy.

    Processor time of this process (``time.process_time``), not wall-clock time: a
    search is not cut shorter because other programs load the machine, so a run that
    fits its budget on an idle machine fits it on a busy one too.  The searches ask
    :meth:`expired` at points where they can stop with a valid plan; the first that
    finds the budget spent sets :attr:`stopped`.
    """

    #: The clock read (processor seconds of this process).
    clock = staticmethod(time.process_time)

    def __init__(self, seconds: float, report: RefineProgress | None = None) -> None:
        self.seconds = seconds
        self.report = report
        self.start = self.clock()
        self.stopped = False  # a search was cut short by the budget
        self.best_cost = math.nan  # the cheapest plan meeting the targets so far (reported)
        self.stage = ""  # the search running (reported)
        self._last_report = -math.inf

    def restart(self) -> None:
        """Start the budget now."""
        self.start = self.clock()

    def elapsed(self) -> float:
        """Processor seconds since the budget started."""
        return self.clock() - self.start

    def expired(self) -> bool:
        """Whether the budget is spent (and if so, remember that a search stopped)."""
        if self.elapsed() > self.seconds:
            self.stopped = True
        return self.stopped

    def tick(self, force: bool = False) -> None:
        """Report progress (at most every :data:`REPORT_EVERY` seconds unless ``force``)."""
        if self.report is None:
            return
        now = self.elapsed()
        if force or now - self._last_report >= REPORT_EVERY:
            self._last_report = now
            self.report(self.stage, now, self.seconds, self.best_cost)


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One purchase of the greedy: item rows and the stock they move to."""

    cost: float  # cumulative purchases after the step
    rows: tuple[int, ...]
    stock: FloatArray  # (len(rows) × sites) new stock of those rows
    availability: FloatArray  # per fleet after the step
    #: The family's fleet terms after the step (its fleets in ``Family.fleets`` order),
    #: when the step is within one family; None when unknown.
    terms: FloatArray | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MarginalResult:
    """The allocation found and every point visited."""

    stock: FloatArray
    start_stock: FloatArray
    steps: list[Step] = field(default_factory=list)
    start_availability: FloatArray
    start_cost: float  # purchases forced by minimum stock levels
    met: bool


def stock_bounds(
    a: ScenarioArrays, min_stock: FloatArray | None, max_stock: FloatArray | None
) -> tuple[FloatArray, FloatArray]:
    """(lo, hi) per item and site: never below the stock held, ``hi`` never below ``lo``."""
    lo = a.stock.copy() if min_stock is None else np.maximum(a.stock, min_stock)
    hi = np.full_like(lo, np.inf) if max_stock is None else np.maximum(max_stock, lo)
    return lo, hi


class AllocationState:
    """The stock being built from ``lo`` within ``[lo, hi]``, under fleet weights.

    Attributes
    ----------
    a : ScenarioArrays
        The scenario; ``a.stock`` is the stock held.
    stock : FloatArray
        The current allocation (items × sites), starting at ``lo``.
    w : FloatArray
        Weight of each fleet in the objective.
    families : list[Family]
        Every top-level item with its sub-items; ``family_of`` maps an item row to its
        family, ``fams_of_fleet`` a fleet to the families it depends on.
    terms : FamilyTerms
        Each family's current fleet terms (set by :meth:`start_log_availability`).
    leaves, uppers : IntArray
        Sites without children, and sites with children (depots).
    """

    def __init__(
        self,
        a: ScenarioArrays,
        *,
        weights: FloatArray,
        lo: FloatArray,
        hi: FloatArray,
        method: Method,
    ) -> None:
        self.a = a
        self.method = method
        self.flows = demand_flows(a)
        self.w = weights.astype(np.float64).copy()
        self.lo, self.hi = lo, hi
        self.stock = lo.copy()
        self.leaves = np.flatnonzero(~np.isin(np.arange(a.n_sites), a.site_parent))
        self.uppers = np.flatnonzero(np.isin(np.arange(a.n_sites), a.site_parent))
        self.families: list[Family] = families_of(a)
        fams = self.families
        self.family_of = np.zeros(a.n_items, dtype=np.int64)
        if fams:
            rows = np.concatenate([f.rows for f in fams])
            self.family_of[rows] = np.repeat(np.arange(len(fams)), [f.rows.size for f in fams])
        self.terms = FamilyTerms(self.families, a.fleet_system.size)
        self.fams_of_fleet: list[list[int]] = self.terms.families_by_fleet()

    def start_log_availability(self, ev: Evaluation) -> FloatArray:
        """Set every family's terms from an evaluation of the current stock; returns
        log A per fleet as the sum of those terms (no underflow)."""
        a = self.a
        log_a = np.zeros(a.fleet_system.size)
        tops = np.array([f.top for f in self.families], dtype=np.int64)
        fleets = np.arange(a.fleet_system.size)
        for start in range(0, tops.size, BATCH_ITEMS):
            rows = tops[start : start + BATCH_ITEMS]
            terms = fleet_terms(a, ev.flows, ev.pipes.ebo, rows, np.arange(a.n_items), fleets,
                                (ev.pipes.mean, ev.pipes.var, ev.arrays.stock))
            terms[:, a.fleet_count <= 0] = 0.0
            log_a += terms.sum(axis=0)
            for n in range(rows.size):
                fam_i = start + n
                self.terms.assign(fam_i, terms[n, self.families[fam_i].fleets])
        return log_a

    def exact_log_a(self, fleets: IntArray) -> FloatArray:
        """log A of ``fleets`` summed afresh from every family's current terms."""
        return np.array([self.terms.fleet_sum(f) for f in fleets.tolist()], dtype=np.float64)

    def families_eval(self, batches: list[tuple[Family, FloatArray]]) -> list[FloatArray]:
        """Fleet terms of several families' stock sets, in one evaluation.

        ``batches`` holds (family, stocks) pairs, ``stocks`` (copies × family rows ×
        sites); returns one (copies × family fleets) array per pair, as
        :meth:`family_eval` gives them (each row is computed on its own: the same
        numbers as one family, or one copy, at a time).
        """
        if not batches:
            return []
        rows = np.concatenate([np.tile(fam.rows, st.shape[0]) for fam, st in batches])
        stock = np.concatenate([st.reshape(-1, self.a.n_sites) for _, st in batches])
        sub = self.a.subset(rows, stock=stock)
        flows = demand_flows(sub)
        pipes = with_laterals(sub, flows, pipelines(sub, flows, self.method))
        out = []
        first = 0
        for fam, st in batches:
            tops = first + np.arange(st.shape[0]) * fam.rows.size
            out.append(fleet_terms(self.a, flows, pipes.ebo, tops, rows, fam.fleets,
                                   (pipes.mean, pipes.var, sub.stock)))
            first += st.shape[0] * fam.rows.size
        return out

    def family_eval(self, fam: Family, stocks: FloatArray) -> tuple[FloatArray, FloatArray]:
        """Fleet terms of the top item and its waits for each stock set.

        ``stocks`` is (copies × family rows × sites).  Returns fleet terms
        (copies × fleets) and the top item's waits (2 × copies × sites).
        """
        n_copies, n_rows = stocks.shape[0], fam.rows.size
        rows = np.tile(fam.rows, n_copies)
        sub = self.a.subset(rows, stock=stocks.reshape(n_copies * n_rows, -1))
        flows = demand_flows(sub)
        pipes = with_laterals(sub, flows, pipelines(sub, flows, self.method))
        tops = np.arange(n_copies) * n_rows
        terms = fleet_terms(self.a, flows, pipes.ebo, tops, rows, fam.fleets,
                            (pipes.mean, pipes.var, sub.stock))
        assert pipes.wait_mean is not None and pipes.wait_var is not None
        if pipes.wait_mean.shape[0] == 0:  # no sub-items: nothing waits
            return terms, np.zeros((2, n_copies, self.a.n_sites))
        return terms, np.stack([pipes.wait_mean[tops], pipes.wait_var[tops]])
