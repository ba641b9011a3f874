"""Map the solution of the stockpile programme back to scenario terms.

Nothing outside :mod:`sustain.stockpile` sees a column number.  The flows the plan
chooses (``sent``, ``surge``, ``short``) are read from the solution, tidied (values
within :data:`SNAP_TOL` of a whole number or a bound are set to it, :data:`SNAP_TOL`
being counted in the units the consumable was solved in: see
:mod:`sustain.stockpile.scale`), and the stocks are then *recomputed* from them by the
balance equations, so that every balance holds to rounding in the output, whatever the
solver's tolerances:

    S[d,c,t] = S[d,c,-1] + Σ_{τ≤t} (made + surge − own_use − sent)[d,c,τ]
    P[c,t]   = P[c,-1]   + Σ_{τ≤t} (arrivals − used)[c,τ],   used = demand − short
    breach   = max(0, floor − S)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sustain._types import FloatArray
from sustain.errors import Issue
from sustain.stockpile.build import Columns, LinearProgram
from sustain.stockpile.data import PlanData
from sustain.stockpile.explain import (
    QTY_TOL,
    breach_month_at_pledge_rate,
    breach_notes,
    holdback_notes,
    months_of_cover,
    pledge_rate,
    shortfall_notes,
)
from sustain.stockpile.solve import Solution, Status

#: Distance to a whole number or a bound below which a value is set to it:
#: ``SNAP_TOL·2**-q + SNAP_RTOL·|x|`` (the solver's tolerances, and the slack of held
#: stages, in the units of the solve: ``q`` the consumable's quantity exponent).
SNAP_TOL = 1e-6
SNAP_RTOL = 1e-10
#: Capacity values (duals) smaller than this are reported as 0.
DUAL_TOL = 1e-9


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanResult:
    """A stockpile plan month by month, in scenario terms.

    Arrays are over donors × consumables × months (``D, C, T``) or consumables ×
    months (``C, T``), in the order of :attr:`data` (``data.donor_ids``,
    ``data.consumable_ids``, ``data.months``).

    Attributes
    ----------
    status : Status
        ``optimal`` (other outcomes raise).
    data : PlanData
        The inputs as arrays: demand, floors, production, pledges, …
    stock, made, surge, sent, breach : FloatArray
        (D, C, T) donor end-of-month stock ``S``, committed production, bought surge,
        quantities shipped, and floor breach ``max(0, floor − S)``.
    arrivals, used, shortfall, partner_stock : FloatArray
        (C, T) shipments reaching the partner, consumption met, demand not met, and the
        partner's end-of-month stock ``P``.
    capacity_value : FloatArray
        (D, C, T) shortfall avoided by one more unit of committed production in that
        month: ``−∂(Σ priority·short)/∂made / priority``, the dual of ``donor_balance``
        in the shortfall stage with the breach stage held at its optimum.
    objective : mapping of str to float
        ``floor_breach`` (unit-months), ``shortfall`` (priority-weighted units),
        ``surge_cost`` (currency).
    demand_source : mapping of str to str
        Per consumable: ``demand`` (explicit rows), ``usage`` (fleets × rate × days ×
        tempo), ``usage × availability`` or ``none``.
    notes : tuple of str
        Sentences for the summary: shortfalls, floor breaches and their causes.
    warnings : tuple of Issue
        Soft problems of the scenario section.
    """

    status: Status
    data: PlanData
    stock: FloatArray
    made: FloatArray
    surge: FloatArray
    sent: FloatArray
    breach: FloatArray
    arrivals: FloatArray
    used: FloatArray
    shortfall: FloatArray
    partner_stock: FloatArray
    capacity_value: FloatArray
    objective: Mapping[str, float] = field(default_factory=dict)
    demand_source: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    warnings: tuple[Issue, ...] = ()

    @property
    def months(self) -> tuple[str, ...]:
        """``YYYY-MM`` of each month."""
        return self.data.months

    @property
    def total_shortfall(self) -> dict[str, float]:
        """Units of demand not met over the horizon, per consumable."""
        return {c: float(v) for c, v in zip(self.data.consumable_ids,
                                            np.sum(self.shortfall, axis=1), strict=True)}

    @property
    def months_of_supply(self) -> FloatArray:
        """(C, T) the partner's end-of-month stock over the next month's demand (this
        month's in the last month); NaN where that demand is 0, or so small next to the
        stock that the ratio is beyond the range of a float."""
        nxt = np.concatenate([self.data.demand[:, 1:], self.data.demand[:, -1:]], axis=1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            ratio = np.where(nxt > 0, self.partner_stock / nxt, np.nan)
        return np.where(np.isfinite(ratio), ratio, np.nan)

    @property
    def months_of_cover(self) -> FloatArray:
        """(C, T) months of the coming demand that the partner's stock plus every donor's
        stock above its floor could meet (:func:`~sustain.stockpile.explain.months_of_cover`).

        Unlike :attr:`months_of_supply` it counts what the donors hold for the partner:
        the plan delivers just in time, so the partner's own stock, and its months of
        supply, are 0 in most months even when the donors hold a large reserve.
        """
        return months_of_cover(self.data, self.stock, self.partner_stock)

    def donor_rows(self) -> list[tuple[int, int]]:
        """``(donor, consumable)`` index pairs with anything to report."""
        act = self.data.active | np.any(self.sent > 0, axis=2)
        return [(int(i), int(j)) for i, j in zip(*np.nonzero(act), strict=True)]

    def capacity_rows(self) -> list[dict[str, Any]]:
        """The ``capacity_value`` part of the JSON contract (non-zero entries)."""
        d = self.data
        out = []
        for i, j, t in zip(*np.nonzero(np.abs(self.capacity_value) > DUAL_TOL), strict=True):
            out.append({
                "donor": d.donor_ids[i],
                "consumable": d.consumable_ids[j],
                "month": d.months[t],
                "shortfall_avoided_per_unit": _num(float(self.capacity_value[i, j, t])),
            })
        return out

    def to_dict(self) -> dict[str, Any]:
        """The JSON document of ``sustain stockpile --json`` (``shared/spec``), plus
        ``months_of_supply``, pledge-rate projections, the objective and notes."""
        d = self.data
        mos = self.months_of_supply
        cover = self.months_of_cover
        consumables = []
        for j, cid in enumerate(d.consumable_ids):
            short = self.shortfall[j]
            first = np.flatnonzero(short > QTY_TOL)
            consumables.append({
                "id": cid,
                "demand_source": self.demand_source.get(cid, "demand"),
                "demand": _nums(d.demand[j]),
                "arrivals": _nums(self.arrivals[j]),
                "used": _nums(self.used[j]),
                "shortfall": _nums(short),
                "partner_stock": _nums(self.partner_stock[j]),
                "months_of_supply": [None if np.isnan(x) else round(float(x), 3)
                                     for x in mos[j]],
                "months_of_cover": [None if np.isnan(x) else round(float(x), 3)
                                    for x in cover[j]],
                "first_shortfall_month": d.months[first[0]] if first.size else None,
            })
        rate = pledge_rate(d)
        first_breach = breach_month_at_pledge_rate(d)
        donors = []
        for i, j in self.donor_rows():
            donors.append({
                "donor": d.donor_ids[i],
                "consumable": d.consumable_ids[j],
                "stock": _nums(self.stock[i, j]),
                "floor": _num(float(d.floor[i, j])),
                "made": _nums(self.made[i, j]),
                "surge": _nums(self.surge[i, j]),
                "sent": _nums(self.sent[i, j]),
                "floor_breach": _nums(self.breach[i, j]),
                "start_stock": _num(float(d.stock[i, j])),
                "own_use_per_month": _num(float(d.own_use[i, j])),
                "lead_months": int(d.lead_months[i]),
                "pledged": _nums(d.pledged[i, j]),
                "surge_cost": _num(float(np.sum(self.surge[i, j] * d.surge_cost[i, j]))),
                "pledge_rate_per_month": _num(float(rate[i, j])),
                "breach_month_at_pledge_rate": first_breach[i][j],
            })
        return {
            "status": str(self.status),
            "months": list(d.months),
            "total_shortfall": {k: _num(v) for k, v in self.total_shortfall.items()},
            "consumables": consumables,
            "donors": donors,
            "capacity_value": self.capacity_rows(),
            "objective": {k: _num(float(v)) for k, v in self.objective.items()},
            "notes": list(self.notes),
        }


def _num(x: float) -> float | int:
    """A JSON number: whole numbers as integers."""
    if abs(x) < 1e15 and float(x).is_integer():
        return int(x)
    return x


def _nums(a: FloatArray) -> list[float | int]:
    return [_num(float(x)) for x in a]


def _tidy(x: FloatArray, lo: FloatArray, hi: FloatArray, atol: FloatArray) -> FloatArray:
    """Values within ``atol + SNAP_RTOL·|x|`` of a whole number or a bound set to it, then
    clipped into the bounds."""
    tol = atol + SNAP_RTOL * np.abs(x)
    x = np.where(np.abs(x - np.round(x)) <= tol, np.round(x), x)
    lo = np.broadcast_to(lo, x.shape)
    hi = np.broadcast_to(hi, x.shape)
    x = np.where(np.abs(x - lo) <= tol, lo, x)
    x = np.where(np.isfinite(hi) & (np.abs(x - hi) <= tol), hi, x)
    return np.clip(x, lo, hi)


def arrivals_of(d: PlanData, sent: FloatArray) -> FloatArray:
    """(C, T) ``Σ_d sent[d,c,t − lead_d]``; shipments landing after the horizon drop out."""
    D, C, T = d.shape
    out = np.zeros((C, T))
    t_arr = np.arange(T)[None, None, :] + d.lead_months[:, None, None]
    t_arr = np.broadcast_to(t_arr, (D, C, T))
    c_idx = np.broadcast_to(np.arange(C)[None, :, None], (D, C, T))
    ok = t_arr < T
    np.add.at(out, (c_idx[ok], t_arr[ok]), sent[ok])
    return out


def snap_tolerance(sol: Solution) -> FloatArray:
    """(C,) :data:`SNAP_TOL` in the units each consumable was solved in: ``SNAP_TOL·2**-q``."""
    return np.ldexp(SNAP_TOL, -sol.qty_exp)


def retrieve(
    d: PlanData,
    lp: LinearProgram,
    cols: Columns,
    sol: Solution,
    *,
    demand_source: Mapping[str, str] | None = None,
    warnings: tuple[Issue, ...] = (),
) -> PlanResult:
    """The plan in scenario terms from an optimal :class:`Solution` of ``lp``."""
    x = sol.x
    unit = snap_tolerance(sol)  # (C,)
    sent = _tidy(x[cols.sent], d.pledged, np.full(d.shape, np.inf), unit[None, :, None])
    surge = _tidy(x[cols.surge], np.zeros(d.shape), d.surge_cap, unit[None, :, None])
    short = _tidy(x[cols.short], np.zeros(d.demand.shape), d.demand, unit[:, None])
    stock = d.stock[:, :, None] + np.cumsum(d.made + surge - d.own_use[:, :, None] - sent, axis=2)
    breach = np.maximum(0.0, d.floor[:, :, None] - stock)
    arrivals = arrivals_of(d, sent)
    used = d.demand - short
    partner = d.partner_stock[:, None] + np.cumsum(arrivals - used, axis=1)
    rows = lp.constraints["donor_balance"].index()
    # The duals are per unit of the stage's cost, the consumable's priority.
    value = -sol.eq_duals[rows] if sol.eq_duals.size else np.zeros(d.shape)
    value = np.where(np.abs(value - np.round(value)) <= DUAL_TOL, np.round(value), value)
    value = np.where(np.abs(value) <= DUAL_TOL, 0.0, value)
    objective = {
        "floor_breach": float(np.sum(breach)),
        "shortfall": float(np.sum(short * d.priority[:, None])),
        "surge_cost": float(np.sum(surge * d.surge_cost)),
    }
    notes = (*shortfall_notes(d, short), *breach_notes(d, stock, breach),
             *holdback_notes(d, stock, sent, short))
    return PlanResult(
        status=Status.OPTIMAL,
        data=d,
        stock=stock,
        made=d.made.copy(),
        surge=surge,
        sent=sent,
        breach=breach,
        arrivals=arrivals,
        used=used,
        shortfall=short,
        partner_stock=partner,
        capacity_value=value + 0.0,  # no negative zeros in the output
        objective=objective,
        demand_source=dict(demand_source or {}),
        notes=notes,
        warnings=warnings,
    )
