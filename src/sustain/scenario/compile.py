"""Scenario → :class:`ScenarioArrays`: integer indices, rates per day, dense stock.

This is the only place rates are derived: a user gives MTBF in operating hours and
fleet hours per day; the engine receives failures per day.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from operator import attrgetter

import numpy as np
from scipy import sparse

from sustain._types import FloatArray, IntArray
from sustain.errors import Issue, ScenarioError
from sustain.scenario.model import Scenario, StockLevel, StockTable


@dataclass(frozen=True, slots=True, kw_only=True)
class Installations:
    """Which items are installed in which system types, as a sparse list.

    One entry per non-zero ``Z`` (units of ``item`` installed per system of type
    ``system``), in row-major order of the (items × systems) matrix.
    """

    item: IntArray
    system: IntArray
    qty: FloatArray
    n_items: int
    n_systems: int
    indptr: IntArray  # CSR row pointers of the entries (they are in row-major order)
    needed: FloatArray | None = None  # k of each entry (units that must work); None: qty
    essential: FloatArray | None = None  # 1 essential, 0 not; None: every entry essential

    def per_system_rate(self, rate: FloatArray, op_hours: FloatArray) -> FloatArray:
        """``Σ_k Z_ik · rate_i · op_hours[k, :]`` for every item: (items × columns).

        ``op_hours`` is (systems × columns), e.g. operating hours per day per site.
        """
        m = sparse.csr_matrix(
            (self.qty * rate[self.item], self.system, self.indptr),
            shape=(self.n_items, self.n_systems),
        )
        return np.asarray(m @ op_hours)


@dataclass(frozen=True, slots=True, kw_only=True)
class Laterals:
    """Lateral links as directed rows: a demand at ``site`` that finds its shelf empty
    may take a spare from ``source`` (arriving after ``days``).

    Rows are sorted by receiving site, then nearest source first (ties: compiled site
    order): the order in which the simulator asks the neighbours.
    """

    site: IntArray
    source: IntArray
    days: FloatArray


@dataclass(frozen=True, slots=True, kw_only=True)
class ScenarioArrays:
    """A scenario as arrays, ready for the numerical engines.

    Axes: items (``i``), sites (``s``), systems (``k``), fleets (``f``).  Sites are
    numbered so that every parent precedes its children; items so that every parent
    precedes its sub-items.

    Attributes
    ----------
    site_parent : IntArray
        Parent site index, -1 for a root.
    site_depth : IntArray
        0 for roots, 1 for their children, …
    order_ship_days : FloatArray
        Resupply time from the parent (0 at roots), O in Sherbrooke (2004).
    item_parent : IntArray
        Parent item index, -1 for a top-level item.
    item_level : IntArray
        Indenture level: 0 for top-level items (LRU), 1 for their sub-items (SRU), …
    failures_per_hour : FloatArray
        1 / MTBF per installed unit and operating hour (0 for sub-items).
    qty_per_system : FloatArray
        (items × systems) units installed per system, Z in Sherbrooke (2004).
    replace_fraction, base_repair_fraction, condemnation_fraction : FloatArray
        Per item.
    base_repair_days, depot_repair_days, procurement_days : FloatArray
        Per item, days.
    unit_cost : FloatArray
        Per item.
    fleet_system, fleet_site : IntArray
        Per fleet.
    fleet_count, fleet_hours_per_day : FloatArray
        Per fleet.
    stock : FloatArray
        (items × sites) spares held (whole numbers).
    laterals : Laterals or None
        Lateral resupply links between sites (None when the scenario has none).
    installations : Installations
        The non-zero entries of ``qty_per_system`` (derived at construction; a scenario
        installs each item in few of many system types, so the engine reads this
        sparse list rather than the dense matrix).
    needed_per_system : FloatArray or None
        (items × systems) units that must work for a system to be mission capable
        (k out of ``Z``); None when every installation needs all its units.
    essential_per_system : FloatArray or None
        (items × systems) 1 where the item is essential to the system, 0 where its absence
        only degrades it; None when every item is essential.
    holes_consolidated : bool
        The analytic availability gathers backorders onto as few systems as possible
        (``holes: consolidated``) instead of spreading them at random.
    """

    site_ids: tuple[str, ...]
    item_ids: tuple[str, ...]
    system_ids: tuple[str, ...]
    site_parent: IntArray
    site_depth: IntArray
    order_ship_days: FloatArray
    item_parent: IntArray
    item_level: IntArray
    failures_per_hour: FloatArray
    qty_per_system: FloatArray
    replace_fraction: FloatArray
    base_repair_fraction: FloatArray
    base_repair_days: FloatArray
    depot_repair_days: FloatArray
    condemnation_fraction: FloatArray
    procurement_days: FloatArray
    unit_cost: FloatArray
    fleet_system: IntArray
    fleet_site: IntArray
    fleet_count: FloatArray
    fleet_hours_per_day: FloatArray
    stock: FloatArray
    laterals: Laterals | None = None
    installations: Installations = field(init=False, repr=False, compare=False)
    needed_per_system: FloatArray | None = None
    essential_per_system: FloatArray | None = None
    holes_consolidated: bool = False

    def __post_init__(self) -> None:
        q = self.qty_per_system
        item, system = np.nonzero(q)
        indptr = np.zeros(q.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(item, minlength=q.shape[0]), out=indptr[1:])
        k, ess = self.needed_per_system, self.essential_per_system
        object.__setattr__(self, "installations", Installations(
            item=item, system=system, qty=q[item, system],
            n_items=q.shape[0], n_systems=q.shape[1], indptr=indptr,
            needed=None if k is None else k[item, system],
            essential=None if ess is None else ess[item, system],
        ))

    @property
    def mission_split(self) -> bool:
        """Mission capable and fully mission capable may differ: some installation is
        redundant (needs fewer units than it has) or not essential."""
        return self.needed_per_system is not None or self.essential_per_system is not None

    @property
    def n_items(self) -> int:
        """Number of items."""
        return len(self.item_ids)

    @property
    def n_sites(self) -> int:
        """Number of sites."""
        return len(self.site_ids)

    def subset(self, rows: IntArray, stock: FloatArray | None = None) -> ScenarioArrays:
        """The items ``rows`` alone (repeats allowed), as a scenario of their own.

        Parents outside ``rows`` are dropped (the items become top level in the
        subset); parents inside are renumbered to the first copy... of the same block:
        ``rows`` is read as consecutive blocks whose parents are found within each
        block, so a family can be copied several times with different stock.
        """
        rows = np.asarray(rows, dtype=np.int64)
        parent = np.full(rows.size, -1, dtype=np.int64)
        # Map each row's parent to the nearest preceding row holding that parent item.
        last: dict[int, int] = {}
        for n, r in enumerate(rows.tolist()):
            p = int(self.item_parent[r])
            if p >= 0 and p in last:
                parent[n] = last[p]
            last[r] = n
        level = np.zeros(rows.size, dtype=np.int64)
        for n in range(rows.size):
            if parent[n] >= 0:
                level[n] = level[parent[n]] + 1
        return replace(
            self,
            item_ids=tuple(self.item_ids[r] for r in rows.tolist()),
            item_parent=parent,
            item_level=level,
            failures_per_hour=self.failures_per_hour[rows],
            qty_per_system=self.qty_per_system[rows],
            replace_fraction=self.replace_fraction[rows],
            base_repair_fraction=self.base_repair_fraction[rows],
            base_repair_days=self.base_repair_days[rows],
            depot_repair_days=self.depot_repair_days[rows],
            condemnation_fraction=self.condemnation_fraction[rows],
            procurement_days=self.procurement_days[rows],
            unit_cost=self.unit_cost[rows],
            stock=self.stock[rows] if stock is None else np.asarray(stock, dtype=np.float64),
            needed_per_system=None if (k := self.needed_per_system) is None else k[rows],
            essential_per_system=(
                None if (e := self.essential_per_system) is None else e[rows]
            ),
        )

    def with_stock(self, stock: FloatArray) -> ScenarioArrays:
        """The same scenario with another (items × sites) stock matrix."""
        return replace(self, stock=np.asarray(stock, dtype=np.float64))


def _tree_order(parent_of: dict[str, str | None], ids: list[str]) -> list[str]:
    """Order ids so that parents come first (breadth first from the roots, stable)."""
    children: dict[str | None, list[str]] = {}
    for x in ids:
        children.setdefault(parent_of[x], []).append(x)
    out: list[str] = []
    frontier = children.get(None, [])
    while frontier:
        out.extend(frontier)
        frontier = [c for p in frontier for c in children.get(p, [])]
    return out


def compile_scenario(scenario: Scenario) -> ScenarioArrays:
    """Turn a validated scenario into arrays (ids sorted within each tree level).

    Raises
    ------
    ScenarioError
        The scenario has no sites, fleets or items (a munitions-only scenario, valid
        for ``sustain stockpile``): there is no readiness to compute.
    """
    missing = [k for k in ("sites", "fleets", "items") if not getattr(scenario, k)]
    if missing:
        hint = " (it has a stockpile section: run `sustain stockpile`)"
        raise ScenarioError([Issue(
            where=scenario.source, path="",
            message=f"no {', '.join(missing)}: readiness has nothing to evaluate"
            + (hint if scenario.stockpile is not None else ""),
        )])
    site_parent_of = {s.id: s.parent for s in scenario.sites}
    site_ids = _tree_order(site_parent_of, sorted(site_parent_of))
    s_idx = {s: n for n, s in enumerate(site_ids)}
    by_site = {s.id: s for s in scenario.sites}

    item_parent_of = {i.id: i.parent for i in scenario.items}
    item_ids = _tree_order(item_parent_of, sorted(item_parent_of))
    i_idx = {s: n for n, s in enumerate(item_ids)}
    by_item = {i.id: i for i in scenario.items}

    system_ids = sorted(s.id for s in scenario.systems)
    k_idx = {s: n for n, s in enumerate(system_ids)}

    site_parent = np.array(
        [s_idx[p] if (p := by_site[s].parent) is not None else -1 for s in site_ids],
        dtype=np.int64,
    )
    site_depth = np.zeros(len(site_ids), dtype=np.int64)
    for n, p in enumerate(site_parent):
        if p >= 0:
            site_depth[n] = site_depth[p] + 1
    item_parent = np.array(
        [i_idx[p] if (p := by_item[i].parent) is not None else -1 for i in item_ids],
        dtype=np.int64,
    )
    item_level = np.zeros(len(item_ids), dtype=np.int64)
    for n, p in enumerate(item_parent):
        if p >= 0:
            item_level[n] = item_level[p] + 1

    qty = np.zeros((len(item_ids), len(system_ids)))
    for it in scenario.items:
        for inst in it.installed_in:
            qty[i_idx[it.id], k_idx[inst.system]] = inst.qty
    needed, essential = _mission_split(scenario, qty, i_idx, k_idx)

    ordered = [by_item[i] for i in item_ids]

    def col(attr: str) -> FloatArray:
        return np.fromiter(map(attrgetter(attr), ordered), dtype=np.float64,
                           count=len(ordered))

    fleets = sorted(scenario.fleets, key=lambda f: (f.system, f.site))
    stock = _stock_array(scenario.stock, i_idx, s_idx)
    return ScenarioArrays(
        site_ids=tuple(site_ids),
        item_ids=tuple(item_ids),
        system_ids=tuple(system_ids),
        site_parent=site_parent,
        site_depth=site_depth,
        order_ship_days=np.array(
            [by_site[s].order_ship_days for s in site_ids], dtype=np.float64
        ),
        item_parent=item_parent,
        item_level=item_level,
        failures_per_hour=np.array(
            [1.0 / m if (m := by_item[i].mtbf_hours) else 0.0 for i in item_ids],
            dtype=np.float64,
        ),
        qty_per_system=qty,
        replace_fraction=col("replace_fraction"),
        base_repair_fraction=col("base_repair_fraction"),
        base_repair_days=col("base_repair_days"),
        depot_repair_days=col("depot_repair_days"),
        condemnation_fraction=col("condemnation_fraction"),
        procurement_days=col("procurement_days"),
        unit_cost=col("unit_cost"),
        fleet_system=np.array([k_idx[f.system] for f in fleets], dtype=np.int64),
        fleet_site=np.array([s_idx[f.site] for f in fleets], dtype=np.int64),
        fleet_count=np.array([f.count for f in fleets], dtype=np.float64),
        fleet_hours_per_day=np.array([f.hours_per_day for f in fleets], dtype=np.float64),
        stock=stock,
        laterals=compile_laterals(scenario, s_idx),
        needed_per_system=needed,
        essential_per_system=essential,
        holes_consolidated=scenario.holes == "consolidated",
    )


def compile_laterals(scenario: Scenario, s_idx: dict[str, int]) -> Laterals | None:
    """The scenario's ``laterals`` as directed rows (None when it has none)."""
    if not scenario.laterals:
        return None
    rows: list[tuple[int, float, int]] = []
    for lat in scenario.laterals:
        a, b = s_idx[lat.from_site], s_idx[lat.to_site]
        rows.append((b, lat.days, a))
        if not lat.one_way:
            rows.append((a, lat.days, b))
    rows.sort()
    return Laterals(
        site=np.array([r[0] for r in rows], dtype=np.int64),
        source=np.array([r[2] for r in rows], dtype=np.int64),
        days=np.array([r[1] for r in rows], dtype=np.float64),
    )


def _mission_split(
    scenario: Scenario, qty: FloatArray, i_idx: dict[str, int], k_idx: dict[str, int],
) -> tuple[FloatArray | None, FloatArray | None]:
    """(items × systems) ``needed`` and ``essential``, each None when it changes nothing."""
    needed = qty.copy()
    essential = np.ones_like(qty)
    for it in scenario.items:
        for inst in it.installed_in:
            needed[i_idx[it.id], k_idx[inst.system]] = inst.k
            essential[i_idx[it.id], k_idx[inst.system]] = 1.0 if inst.essential else 0.0
    return (
        needed if np.any(needed < qty) else None,
        essential if np.any(essential == 0.0) else None,
    )


def _stock_array(
    rows: tuple[StockLevel, ...] | StockTable, i_idx: dict[str, int], s_idx: dict[str, int]
) -> FloatArray:
    """The (items × sites) stock held, summed over the rows."""
    stock = np.zeros((len(i_idx), len(s_idx)))
    if isinstance(rows, StockTable):  # a large table: by codes, without a row object
        item = np.array([i_idx[i] for i in rows.item_ids], dtype=np.int64)[rows.item]
        site = np.array([s_idx[s] for s in rows.site_ids], dtype=np.int64)[rows.site]
        flat = np.bincount(item * len(s_idx) + site, weights=rows.qty, minlength=stock.size)
        return flat.astype(np.float64, copy=False).reshape(stock.shape)
    for st in rows:
        stock[i_idx[st.item], s_idx[st.site]] += st.qty
    return stock
