"""Words for what the numbers of a stockpile plan mean.

Closed forms on :class:`~sustain.stockpile.data.PlanData`, no solver:

- :func:`impossible` — the donor, consumable and month where even ``S >= 0`` cannot
  hold (pledges and own use exceed the starting stock, all production and all surge
  to that month), with the quantities;
- :func:`breach_month_at_pledge_rate` — the first month each donor would go below its
  floor if it kept giving at the average monthly rate of its pledges;
- :func:`breach_notes` and :func:`shortfall_notes` — one sentence per donor and
  consumable below its floor, and per consumable short, for the summary;
- :func:`holdback_notes` — why a donor that still holds stock sends no more while the
  partner is short: the stock is kept for its later pledges and own use, or it is at
  its floor;
- :func:`months_of_cover` — how many months of the partner's coming demand the stock on
  hand could meet: the partner's own plus every donor's stock above its floor;
- :func:`magnitudes` — the smallest and largest numbers of a consumable's inputs, named,
  for a message about numerical trouble.
"""

from __future__ import annotations

import numpy as np

from sustain._types import FloatArray
from sustain.stockpile.data import PlanData, entry_name, most_stock

#: Quantities smaller than this are treated as 0 in explanations.
QTY_TOL = 1e-6


def qty(x: float) -> str:
    """A quantity for a sentence: ``12,000``; ``2.5``; ``1.2 million``."""
    if abs(x) >= 1e7:
        return f"{x / 1e6:,.1f} million"
    if abs(x - round(x)) < 1e-6 or abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:,.3g}"


def impossible(d: PlanData, *, tol: float = QTY_TOL, consumable: int | None = None
               ) -> list[str]:
    """One message per donor and consumable whose stock would have to go below 0.

    The highest stock a donor can have at the end of month t is
    ``Smax[t] = S[-1] + Σ_{τ≤t}(made + surge_cap − own_use − pledged)``
    (:func:`~sustain.stockpile.data.most_stock`); if it is negative in some month (by
    more than ``tol`` of the starting stock, or of 1), no plan keeps ``S >= 0``.  The
    first such month is named.  ``consumable``: only that one (an index).
    """
    smax = most_stock(d)
    bad = smax < -tol * np.maximum(1.0, np.abs(d.stock[:, :, None]))
    if consumable is not None:
        bad[:, np.arange(d.shape[1]) != consumable] = False
    out = []
    for di, ci in zip(*np.nonzero(np.any(bad, axis=2)), strict=True):
        t = int(np.argmax(bad[di, ci]))
        pledged = float(np.sum(d.pledged[di, ci, : t + 1]))
        own = float(d.own_use[di, ci]) * (t + 1)
        have = float(d.stock[di, ci] + np.sum(d.made[di, ci, : t + 1])
                     + np.sum(d.surge_cap[di, ci, : t + 1]))
        parts = []
        if pledged > QTY_TOL:
            parts.append(f"pledges ({qty(pledged)})")
        if own > QTY_TOL:
            parts.append(f"own use ({qty(own)})")
        out.append(
            f"donor {d.donor_ids[di]!r} cannot meet its {d.consumable_ids[ci]} commitments "
            f"in {d.months[t]}: by then its {' and '.join(parts) or 'commitments'} exceed its "
            f"starting stock, production and surge capacity ({qty(have)}) by "
            f"{qty(-float(smax[di, ci, t]))}; reduce or move the pledges, or add production"
        )
    return out


def pledge_rate(d: PlanData) -> FloatArray:
    """(D, C) average pledged per month: the total pledged over the months from the start
    to the last pledged month (0 without pledges)."""
    T = d.shape[2]
    has = d.pledged > 0
    last = np.where(np.any(has, axis=2), T - 1 - np.argmax(has[:, :, ::-1], axis=2), -1)
    total = np.sum(d.pledged, axis=2)
    return np.where(last >= 0, total / np.maximum(last + 1, 1), 0.0)


def breach_month_at_pledge_rate(d: PlanData) -> list[list[str | None]]:
    """(D × C) the first month the donor's stock would fall below its floor if it gave at
    its :func:`pledge_rate` every month, with committed production and own use and no
    surge: ``S[-1] + Σ_{τ≤t}(made − own_use − rate) < floor``.  ``None``: never within
    the horizon (or no floor)."""
    rate = pledge_rate(d)
    flow = d.made - d.own_use[:, :, None] - rate[:, :, None]
    stock = d.stock[:, :, None] + np.cumsum(flow, axis=2)
    below = (stock < d.floor[:, :, None] - QTY_TOL) & (d.floor[:, :, None] > 0)
    first = np.argmax(below, axis=2)
    hit = np.any(below, axis=2)
    D, C, _ = d.shape
    return [[d.months[first[i, j]] if hit[i, j] else None for j in range(C)] for i in range(D)]


def _span(months: tuple[str, ...], mask: np.ndarray) -> str:
    ts = np.flatnonzero(mask)
    first, last = months[ts[0]], months[ts[-1]]
    return first if first == last else f"{first} to {last}"


def _runs(months: tuple[str, ...], mask: np.ndarray, most: int = 4) -> str:
    """The months of ``mask`` as runs: ``2023-07 to 2023-12 and 2024-06 to 2025-11``."""
    ts = np.flatnonzero(mask)
    breaks = np.flatnonzero(np.diff(ts) > 1)
    starts = np.concatenate([[0], breaks + 1])
    ends = np.concatenate([breaks, [ts.size - 1]])
    runs = [_span(months, np.isin(np.arange(len(months)), ts[a : b + 1]))
            for a, b in zip(starts, ends, strict=True)]
    if len(runs) > most:
        runs = [*runs[: most - 1], f"{len(runs) - most + 1} more periods"]
    return runs[0] if len(runs) == 1 else f"{', '.join(runs[:-1])} and {runs[-1]}"


def breach_notes(d: PlanData, stock: FloatArray, breach: FloatArray) -> list[str]:
    """One sentence per donor and consumable that goes below its floor, with the cause."""
    out = []
    for di, ci in zip(*np.nonzero(np.any(breach > QTY_TOL, axis=2)), strict=True):
        b = breach[di, ci]
        worst = int(np.argmax(b))
        floor = float(d.floor[di, ci])
        if d.stock[di, ci] < floor - QTY_TOL and b[0] > QTY_TOL:
            cause = f"it starts below its floor (stock {qty(float(d.stock[di, ci]))})"
        elif np.any(d.pledged[di, ci] > 0):
            cause = "its pledges and own use leave no choice"
        else:
            cause = "its own use exceeds its production"
        out.append(
            f"{d.donor_ids[di]} is below its {d.consumable_ids[ci]} floor ({qty(floor)}) in "
            f"{_span(d.months, b > QTY_TOL)}, by up to {qty(float(b[worst]))} "
            f"(in {d.months[worst]}; stock {qty(float(stock[di, ci, worst]))}): {cause}"
        )
    return out


def shortfall_notes(d: PlanData, short: FloatArray) -> list[str]:
    """One sentence per consumable with shortfall: total, months, worst month."""
    out = []
    for ci in np.flatnonzero(np.any(short > QTY_TOL, axis=1)):
        s = short[ci]
        worst = int(np.argmax(s))
        share = s[worst] / d.demand[ci, worst] if d.demand[ci, worst] > 0 else 1.0
        out.append(
            f"{d.consumable_ids[ci]}: short {qty(float(np.sum(s)))} in total "
            f"({qty(float(np.sum(s) / max(np.sum(d.demand[ci]), QTY_TOL) * 100))} % of demand), "
            f"in {int(np.sum(s > QTY_TOL))} months from {d.months[int(np.argmax(s > QTY_TOL))]}; "
            f"worst {d.months[worst]}: {qty(float(s[worst]))} of {qty(float(d.demand[ci, worst]))} "
            f"({100 * share:.0f} %)"
        )
    return out


def _outflows(d: PlanData, sent: FloatArray, di: int, ci: int, a: int, b: int) -> str:
    """What leaves donor ``di``'s stock of ``ci`` in months ``a..b`` (inclusive), in words."""
    pledged = float(np.sum(d.pledged[di, ci, a : b + 1]))
    extra = float(np.sum(sent[di, ci, a : b + 1])) - pledged
    own = float(d.own_use[di, ci]) * (b + 1 - a)
    parts = []
    if pledged > QTY_TOL:
        parts.append(f"pledges of {qty(pledged)}")
    if extra > QTY_TOL:
        parts.append(f"further shipments of {qty(extra)}")
    if own > QTY_TOL:
        parts.append(f"its own use of {qty(own)}")
    return " and ".join(parts) or "what it sends and uses"


def _first_lowest_after(x: FloatArray) -> np.ndarray:
    """For each t, the first index τ >= t where ``x[τ]`` is the least of ``x[t:]``
    (one backward pass: linear in the number of months)."""
    out = np.empty(x.size, dtype=np.int64)
    best = x.size - 1
    for t in range(x.size - 1, -1, -1):
        if x[t] <= x[best]:
            best = t
        out[t] = best
    return out


def holdback_notes(d: PlanData, stock: FloatArray, sent: FloatArray, short: FloatArray
                   ) -> list[str]:
    """One sentence per donor and consumable that sends no more while the partner is short.

    A donor's shipment of month t reaches the partner in month t + lead.  Where that month
    is short and the donor ends month t holding stock, the plan has a reason not to send
    it (any unit more sent in t lowers the donor's stock in t and in every later month):

    - *held for later commitments*: its stock is above its floor in month t, but in a
      later month τ (the first where ``S − floor`` is smallest) it is down to its floor,
      drained by its pledges, further shipments and own use of months t+1..τ; one unit
      more sent in t would put it below its floor in τ (or below the floor it already
      breaches);
    - *at its floor*: its stock in month t is at (or below) its floor, which it keeps
      for its own defence.

    Months with the same reason and, for the first, the same month τ are put together.
    """
    _, C, T = d.shape
    out: list[str] = []
    for ci in range(C):
        cid = d.consumable_ids[ci]
        is_short = short[ci] > QTY_TOL
        if not np.any(is_short):
            continue
        for di in map(int, np.flatnonzero(d.active[:, ci])):
            lead = int(d.lead_months[di])
            reach = np.zeros(T, dtype=bool)
            if lead < T:
                reach[: T - lead] = is_short[lead:]
            s = stock[di, ci]
            floor = float(d.floor[di, ci])
            tol = QTY_TOL * max(1.0, abs(floor))
            above = s - floor
            name = d.donor_ids[di]
            held: dict[int, list[int]] = {}
            kept = np.flatnonzero(reach & (above > tol))
            if kept.size:
                lowest = _first_lowest_after(above)
                for t in kept:
                    tau = int(lowest[t])
                    if above[tau] <= tol:
                        held.setdefault(tau, []).append(int(t))
            for tau, ts in held.items():
                mask = np.zeros(T, dtype=bool)
                mask[ts] = True
                a = ts[0]
                down = "to its floor" if above[tau] >= -tol else "below its floor (forced)"
                out.append(
                    f"{name} keeps up to {qty(float(np.max(above[ts])))} {cid} above its "
                    f"floor ({qty(floor)}) in {_runs(d.months, mask)} while the partner is "
                    f"short: {_outflows(d, sent, di, ci, a + 1, tau)} from "
                    f"{d.months[min(a + 1, tau)]} to {d.months[tau]} bring it down {down} "
                    f"in {d.months[tau]}, so any unit sent sooner would put it (further) "
                    "below its floor then"
                )
            at_floor = reach & (above <= tol) & (s > tol) & (floor > 0)
            if np.any(at_floor):
                out.append(
                    f"{name} sends no more {cid} in {_runs(d.months, at_floor)} while the "
                    f"partner is short: its stock is at or below its floor ({qty(floor)}), "
                    "which it keeps for its own defence"
                )
    return out


def months_of_cover(d: PlanData, stock: FloatArray, partner_stock: FloatArray
                    ) -> FloatArray:
    """(C, T) months of the partner's coming demand that the stock on hand at the end of
    month t could meet: the partner's stock plus every donor's stock above its floor.

    The demand of months t+1, t+2, … is taken in turn (after the horizon, the last
    month's demand every month) until the stock is used up; a month met in part counts
    by its share.  It leaves out production to come and lead times: it measures the
    reserve on hand, not a plan.  NaN where the stock meets all the demand to the end of
    the horizon and the last month's demand is 0 (no end to the cover), or where the
    number is beyond the range of a float.
    """
    C, T = d.demand.shape
    spare = np.maximum(0.0, stock - d.floor[:, :, None]).sum(axis=0) + partner_stock
    out = np.full((C, T), np.nan)
    t = np.arange(T)
    for c in range(C):
        dem = d.demand[c]
        cum = np.cumsum(dem)  # cum[j]: demand of months 0..j
        target = cum + spare[c]  # met up to the month where cum first exceeds it
        j = np.searchsorted(cum, target, side="right")  # > t, since spare >= 0
        inside = j < T
        jj = np.minimum(j, T - 1)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            part = np.where(inside, (target - cum[jj - 1]) / dem[jj],
                            (target - cum[-1]) / dem[-1])
            months = (j - t - 1) + part
        out[c] = np.where(np.isfinite(months), months, np.nan)
    return out


def _extremes(d: PlanData, names: tuple[str, ...], c: int,
              mask: dict[str, np.ndarray] | None = None) -> tuple[str, str, float] | None:
    """The smallest and largest non-zero entries of consumable ``c`` among arrays
    ``names`` of ``d`` (restricted to ``mask`` where given): their descriptions and
    their ratio; ``None`` if there is no non-zero entry."""
    found: list[tuple[float, str, tuple[int, ...]]] = []
    for name in names:
        x = np.asarray(getattr(d, name))
        keep = np.zeros(x.shape, dtype=bool)
        if name in ("demand", "partner_stock"):
            keep[c] = True
        else:
            keep[:, c] = True
        keep &= x > 0
        if mask is not None and name in mask:
            keep &= mask[name]
        if not np.any(keep):
            continue
        flat = np.flatnonzero(keep)
        for k in (flat[np.argmin(x.ravel()[flat])], flat[np.argmax(x.ravel()[flat])]):
            index = tuple(int(j) for j in np.unravel_index(int(k), x.shape))
            found.append((float(x[index]), name, index))
    if not found:
        return None
    lo, hi = min(found), max(found)

    def label(entry: tuple[float, str, tuple[int, ...]]) -> str:
        return f"{entry[0]:.3g} ({entry_name(d, entry[1], entry[2])})"

    return label(lo), label(hi), hi[0] / lo[0]


#: A spread of magnitudes (largest over smallest) beyond which a message about numerical
#: trouble blames it: the solver resolves about 1e-7 of the largest number of a scaled
#: programme, so a spread of 1e8 leaves the smallest numbers about 10 % precision.
WIDE_SPREAD = 1e8


def magnitudes(d: PlanData, c: int, *, costs: bool) -> str:
    """Sentences naming the smallest and largest non-zero quantities of consumable ``c``
    (and, with ``costs``, its surge unit costs), how far apart they are, and what to do.

    The solver works to tolerances of about 1e-7 of the largest number of a programme
    (after :mod:`~sustain.stockpile.scale`): numbers more than :data:`WIDE_SPREAD` apart
    cannot all be resolved.
    """
    parts = []
    spread = 1.0
    q = _extremes(d, ("demand", "partner_stock", "stock", "floor", "own_use", "made",
                      "surge_cap", "pledged"), c)
    if q is not None:
        parts.append(f"quantities from {q[0]} to {q[1]}, a ratio of {q[2]:.1e}")
        spread = q[2]
    if costs:
        m = _extremes(d, ("surge_cost",), c, {"surge_cost": d.surge_cap > 0})
        if m is not None:
            parts.append(f"surge unit costs from {m[0]} to {m[1]}, a ratio of {m[2]:.1e}")
            spread = max(spread, m[2])
    cid = d.consumable_ids[c]
    said = f"The inputs of {cid} span {'; '.join(parts)}." if parts else (
        f"{cid} has no non-zero quantity or cost.")
    if spread >= WIDE_SPREAD:
        return (f"{said} Numbers that far apart cannot all be told apart in double "
                "precision: count in larger units, or leave out quantities and costs that "
                "are negligible next to the others.")
    return (f"{said} That is within what the solver handles: please report this scenario "
            "as a bug.")
