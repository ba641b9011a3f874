"""Factors that scale a scenario's inputs, what they select, and how they are applied.

=====================  ==============================================================
factor                 what a value ``x`` does
=====================  ==============================================================
``mtbf``               every selected item's ``mtbf_hours`` times ``x`` (items with an
                       MTBF: top-level items; a sub-item fails with its parent's
                       repairs and has none)
``repair_days``        every selected item's ``base_repair_days`` and
                       ``depot_repair_days`` times ``x``
``order_ship_days``    every selected site's ``order_ship_days`` times ``x`` (a root
                       has none: 0 stays 0)
``tempo``              every selected fleet's ``hours_per_day`` times ``x`` (so its
                       demand on every item it uses; the result may exceed 24 hours:
                       it stands for ``x`` times the failures per day)
=====================  ==============================================================

A :class:`Selection` narrows the factors: ``items`` (item ids) and ``systems`` (the
items installed in those systems and their sub-items) narrow ``mtbf`` and
``repair_days``; ``systems`` and ``sites`` narrow ``tempo`` (the fleets of those
systems, at those sites); ``sites`` narrows ``order_ship_days``.  A selection that
does not apply to a factor is refused (an item has one MTBF, the same at every site).

A :class:`Scaling` holds one multiplier per item, site and fleet for each factor;
:func:`apply_scaling` gives the scaled scenario, which is what a user would get by
editing the scenario file by hand (a multiplier of 1 leaves a value exactly as it was).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum

import numpy as np

from sustain._types import FloatArray
from sustain.errors import SustainError
from sustain.scenario.messages import did_you_mean
from sustain.scenario.model import Scenario


class SweepError(SustainError):
    """A factor, selection or sampling option that cannot be used."""


class FactorName(StrEnum):
    """The inputs a sweep can scale."""

    MTBF = "mtbf"
    REPAIR_DAYS = "repair_days"
    ORDER_SHIP_DAYS = "order_ship_days"
    TEMPO = "tempo"


#: What each factor multiplies, in the words of the scenario format.
SCALES = {
    FactorName.MTBF: "mtbf_hours of the selected items",
    FactorName.REPAIR_DAYS: "base_repair_days and depot_repair_days of the selected items",
    FactorName.ORDER_SHIP_DAYS: "order_ship_days of the selected sites",
    FactorName.TEMPO: "hours_per_day of the selected fleets",
}


class SelectKind(StrEnum):
    """What a ``--select`` names."""

    ITEMS = "items"
    SYSTEMS = "systems"
    SITES = "sites"


#: The selections that narrow each factor.
APPLIES = {
    FactorName.MTBF: {SelectKind.ITEMS, SelectKind.SYSTEMS},
    FactorName.REPAIR_DAYS: {SelectKind.ITEMS, SelectKind.SYSTEMS},
    FactorName.ORDER_SHIP_DAYS: {SelectKind.SITES},
    FactorName.TEMPO: {SelectKind.SYSTEMS, SelectKind.SITES},
}


@dataclass(frozen=True, slots=True, kw_only=True)
class Factor:
    """A factor varied from ``low`` to ``high`` (multipliers, ``0 < low <= high``)."""

    name: FactorName
    low: float
    high: float


def parse_factor(text: str) -> Factor:
    """``mtbf=0.8:1.2`` as a :class:`Factor`.

    Raises
    ------
    SweepError
        An unknown factor (with the closest name), a missing ``=`` or ``:``, values
        that are not finite numbers above 0, or ``low`` above ``high``.
    """
    known = [f.value for f in FactorName]
    name, eq, rng = text.partition("=")
    name = name.strip()
    if not eq:
        raise SweepError(f"--vary {text!r}: expected NAME=LOW:HIGH, like mtbf=0.8:1.2")
    if name not in known:
        raise SweepError(f"--vary {text!r}: unknown factor {name!r}"
                         f"{did_you_mean(name, known)} (factors: {', '.join(known)})")
    lo_text, colon, hi_text = rng.partition(":")
    try:
        if not colon:
            raise ValueError
        low, high = float(lo_text), float(hi_text)
    except ValueError:
        raise SweepError(
            f"--vary {text!r}: expected two multipliers LOW:HIGH, like {name}=0.8:1.2"
        ) from None
    for value in (low, high):
        if not (math.isfinite(value) and value > 0):
            raise SweepError(f"--vary {text!r}: a multiplier must be a finite number "
                             f"above 0: got {value:g}")
    if low > high:
        raise SweepError(f"--vary {text!r}: LOW {low:g} is above HIGH {high:g}")
    return Factor(name=FactorName(name), low=low, high=high)


@dataclass(frozen=True, slots=True, kw_only=True)
class Selection:
    """Ids named by ``--select`` (None: that kind not given)."""

    items: frozenset[str] | None = None
    systems: frozenset[str] | None = None
    sites: frozenset[str] | None = None

    def kinds(self) -> set[SelectKind]:
        """The kinds given."""
        return {k for k in SelectKind if getattr(self, k.value) is not None}


def parse_selection(texts: list[str], scenario: Scenario) -> Selection:
    """``items=A,B``, ``systems=SAMX``, ``sites=EAST,SOUTH`` (each kind once) checked
    against the scenario's ids.

    Raises
    ------
    SweepError
        An unknown kind, a kind given twice, no id, or an id the scenario lacks.
    """
    ids = {
        SelectKind.ITEMS: [i.id for i in scenario.items],
        SelectKind.SYSTEMS: [s.id for s in scenario.systems],
        SelectKind.SITES: [s.id for s in scenario.sites],
    }
    found: dict[str, frozenset[str]] = {}
    kinds = [k.value for k in SelectKind]
    for text in texts:
        kind, eq, names = text.partition("=")
        kind = kind.strip()
        if not eq or kind not in kinds:
            raise SweepError(f"--select {text!r}: expected items=ID,…, systems=ID,… or "
                             f"sites=ID,…{did_you_mean(kind, kinds) if eq else ''}")
        if kind in found:
            raise SweepError(f"--select {text!r}: {kind} given twice (list the ids in one "
                             "option, separated by commas)")
        chosen = [n.strip() for n in names.split(",") if n.strip()]
        if not chosen:
            raise SweepError(f"--select {text!r}: no id given")
        known = ids[SelectKind(kind)]
        for n in chosen:
            if n not in known:
                hint = did_you_mean(n, known) or (
                    f" ({kind}: {', '.join(sorted(known))})" if len(known) <= 10 else "")
                raise SweepError(f"--select {text!r}: {n!r} is not one of the scenario's "
                                 f"{kind}{hint}")
        found[kind] = frozenset(chosen)
    return Selection(**found)


def check_selection(factors: list[Factor], selection: Selection) -> None:
    """Every kind selected applies to every factor varied.

    Raises
    ------
    SweepError
        Naming the selection, the factor and the selections that would apply to it.
    """
    for f in factors:
        for kind in sorted(selection.kinds() - APPLIES[f.name]):
            fits = " or ".join(f"{k}=" for k in sorted(APPLIES[f.name]))
            raise SweepError(
                f"--select {kind}=… does not apply to factor {f.name} (it scales "
                f"{SCALES[f.name]}): select {fits}, or sweep the factors separately"
            )


def _sub_items(scenario: Scenario, roots: set[str]) -> set[str]:
    """``roots`` and every item below them."""
    children: dict[str, list[str]] = {}
    for it in scenario.items:
        if it.parent is not None:
            children.setdefault(it.parent, []).append(it.id)
    out, frontier = set(roots), list(roots)
    while frontier:
        nxt = [c for p in frontier for c in children.get(p, [])]
        out.update(nxt)
        frontier = nxt
    return out


def _selected_items(scenario: Scenario, selection: Selection) -> set[str]:
    chosen = {i.id for i in scenario.items}
    if selection.items is not None:
        chosen &= selection.items
    if selection.systems is not None:
        top = {i.id for i in scenario.items
               if any(inst.system in selection.systems for inst in i.installed_in)}
        chosen &= _sub_items(scenario, top)
    return chosen


def factor_mask(scenario: Scenario, name: FactorName, selection: Selection) -> FloatArray:
    """1.0 where factor ``name`` applies under ``selection``, else 0.0: over the
    scenario's items (``mtbf``, ``repair_days``), sites (``order_ship_days``) or
    fleets (``tempo``), in the scenario's order.

    Raises
    ------
    SweepError
        The factor would change nothing (no selected item has an MTBF, say).
    """
    if name in (FactorName.MTBF, FactorName.REPAIR_DAYS):
        chosen = _selected_items(scenario, selection)
        if name is FactorName.MTBF:
            hit = [i.id in chosen and i.mtbf_hours is not None for i in scenario.items]
        else:
            hit = [i.id in chosen and (i.base_repair_days > 0 or i.depot_repair_days > 0)
                   for i in scenario.items]
    elif name is FactorName.ORDER_SHIP_DAYS:
        hit = [(selection.sites is None or s.id in selection.sites) and s.order_ship_days > 0
               for s in scenario.sites]
    else:
        hit = [(selection.systems is None or f.system in selection.systems)
               and (selection.sites is None or f.site in selection.sites)
               for f in scenario.fleets]
    if not any(hit):
        raise SweepError(f"factor {name}: the selection leaves nothing to scale "
                         f"({SCALES[name]}: none selected, or all zero)")
    return np.array(hit, dtype=np.float64)


@dataclass(frozen=True, slots=True, kw_only=True)
class Scaling:
    """Multipliers for one scaled scenario, in the scenario's order of each table:
    ``mtbf`` and ``repair`` per item, ``ship`` per site, ``tempo`` per fleet."""

    mtbf: FloatArray
    repair: FloatArray
    ship: FloatArray
    tempo: FloatArray

    @classmethod
    def identity(cls, scenario: Scenario) -> Scaling:
        """Every multiplier 1: the scenario as it is."""
        n_i = len(scenario.items)
        return cls(mtbf=np.ones(n_i), repair=np.ones(n_i), ship=np.ones(len(scenario.sites)),
                   tempo=np.ones(len(scenario.fleets)))

    def times(self, name: FactorName, multipliers: FloatArray) -> Scaling:
        """This scaling with factor ``name``'s multipliers times ``multipliers``."""
        field = {FactorName.MTBF: "mtbf", FactorName.REPAIR_DAYS: "repair",
                 FactorName.ORDER_SHIP_DAYS: "ship", FactorName.TEMPO: "tempo"}[name]
        now: FloatArray = getattr(self, field)
        return replace(self, **{field: now * multipliers})


def one_factor(scenario: Scenario, name: FactorName, value: float,
               mask: FloatArray) -> Scaling:
    """The scaling that multiplies factor ``name`` by ``value`` where ``mask`` is 1."""
    return Scaling.identity(scenario).times(name, np.where(mask > 0, value, 1.0))


def apply_scaling(scenario: Scenario, scaling: Scaling) -> Scenario:
    """``scenario`` with its inputs multiplied as ``scaling`` says (entries whose
    multiplier is 1 are kept as they are)."""
    items = tuple(
        it if (m == 1.0 and r == 1.0) else replace(
            it,
            mtbf_hours=None if it.mtbf_hours is None else it.mtbf_hours * m,
            base_repair_days=it.base_repair_days * r,
            depot_repair_days=it.depot_repair_days * r,
        )
        for it, m, r in zip(scenario.items, scaling.mtbf.tolist(), scaling.repair.tolist(),
                            strict=True)
    )
    sites = tuple(
        s if x == 1.0 else replace(s, order_ship_days=s.order_ship_days * x)
        for s, x in zip(scenario.sites, scaling.ship.tolist(), strict=True)
    )
    fleets = tuple(
        f if x == 1.0 else replace(f, hours_per_day=f.hours_per_day * x)
        for f, x in zip(scenario.fleets, scaling.tempo.tolist(), strict=True)
    )
    return replace(scenario, items=items, sites=sites, fleets=fleets)
