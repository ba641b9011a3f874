"""What to deliver next, rendered: the console table, the CSV of picks, the Markdown page."""

from __future__ import annotations

import csv
import io

from rich.console import Console
from rich.table import Table as RichTable

from sustain.deliver import NextPlan, Pick
from sustain.report.model import Chart, Column, Kind, Report, Section, Series, Table, Text

#: The kinds of offer, in the order they are summed up and drawn.
KINDS = ("systems", "spares", "consumable")


def _donor(donor: str | None) -> str:
    return donor or "-"


def _qty(p: Pick) -> str:
    """Units, or units a month for a consumable."""
    return str(p.qty) if p.per_month is None else f"{p.per_month:,.4g}/month"


def _units(p: Pick) -> float:
    """Units of a pick: a consumable's units a month times the months shipped."""
    return float(p.qty) if p.per_month is None else p.per_month * (p.months or 0)


def kind_summary(plan: NextPlan, currency: str) -> list[str]:
    """One line per kind of offer picked: units, cost, measure gained and gain per million."""
    lines = []
    for kind in KINDS:
        picks = [p for p in plan.picks if p.offer.kind == kind]
        if not picks:
            continue
        cost = sum(p.cost for p in picks)
        gain = sum(p.value_gain for p in picks)
        units = sum(_units(p) for p in picks)
        lines.append(f"{kind}: {units:,.4g} unit{'s' if units != 1 else ''} in {len(picks)} "
                     f"pick{'s' if len(picks) != 1 else ''}, {cost:,.0f} {currency}, "
                     f"{gain:+,.1f} ({gain / cost * 1e6:,.1f} per million)")
    return lines


def _pick_points(plan: NextPlan) -> dict[str, tuple[list[float], list[float]]]:
    """Per kind, the money spent and the measure reached after each of its picks."""
    out: dict[str, tuple[list[float], list[float]]] = {}
    spent, value = 0.0, plan.value_before
    for p in plan.picks:
        spent += p.cost
        value += p.value_gain
        xs, ys = out.setdefault(p.offer.kind, ([], []))
        xs.append(spent)
        ys.append(value)
    return out


def print_next(console: Console, title: str, plan: NextPlan, currency: str) -> None:
    """The picks in order with the reason for each, then the fleets before and after."""
    t = RichTable(title=f"{title}: what to deliver next ({plan.days} days, budget "
              f"{plan.budget:,.0f} {currency})")
    for col in ("#", "offer", "donor", "kind", "qty", "cost", "gain", "gain per M", "why"):
        t.add_column(col, justify="left" if col in ("offer", "donor", "kind", "why") else "right")
    for n, p in enumerate(plan.picks, start=1):
        t.add_row(str(n), p.offer.id, _donor(p.offer.donor), p.offer.kind, _qty(p),
                  f"{p.cost:,.0f}", f"{p.value_gain:,.1f}", f"{p.gain_per_cost * 1e6:,.1f}",
                  p.reason)
    console.print(t)
    f = RichTable(title="Mission-capable system-days × value, per fleet")
    for col in ("system", "site", "before", "after", "change"):
        f.add_column(col, justify="left" if col in ("system", "site") else "right")
    for x in plan.fleets:
        f.add_row(x.system, x.site, f"{x.value_before:,.1f}", f"{x.value_after:,.1f}",
                  f"{x.value_after - x.value_before:+,.1f}")
    console.print(f)
    console.print(f"Measure {plan.value_before:,.1f} → {plan.value_after:,.1f} for "
                  f"{plan.spent:,.0f} of {plan.budget:,.0f} {currency}; "
                  f"{plan.evaluations} engine evaluations"
                  + ("." if plan.search_evaluations is None
                     else f", {plan.search_evaluations} of them in the local search."))
    for line in kind_summary(plan, currency):
        console.print("  " + line)


def next_csv(plan: NextPlan) -> str:
    """One row per pick, in order."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["order", "offer", "donor", "kind", "what", "site", "from_day", "qty", "months",
                "cost", "value_gain", "gain_per_cost", "reason"])
    for n, p in enumerate(plan.picks, start=1):
        o = p.offer
        qty = p.qty if p.per_month is None else f"{p.per_month:g}"
        w.writerow([n, o.id, o.donor or "", o.kind, o.system or o.item or o.consumable,
                    o.site or "", f"{p.from_day:g}", qty, p.months or "", repr(p.cost),
                    repr(p.value_gain), repr(p.gain_per_cost), p.reason])
    return buf.getvalue()


def next_report(title: str, source: str, plan: NextPlan, currency: str) -> Report:
    """A report a planner can brief from: the picks in order with their reasons, the
    fleets before and after, and the frontier (cost → measure)."""
    picks = Table(
        "picks",
        (Column("#", Kind.INT), Column("offer"), Column("donor"), Column("kind"),
         Column("qty"), Column("cost", Kind.MONEY, unit=currency),
         Column("gain", Kind.NUMBER, 1), Column("gain per million", Kind.NUMBER, 1),
         Column("why")),
        tuple((n, p.offer.id, _donor(p.offer.donor), p.offer.kind, _qty(p), p.cost,
               p.value_gain, p.gain_per_cost * 1e6, p.reason)
              for n, p in enumerate(plan.picks, start=1)),
    )
    fleets = Table(
        "fleets",
        (Column("system"), Column("site"), Column("before", Kind.NUMBER, 1),
         Column("after", Kind.NUMBER, 1), Column("change", Kind.NUMBER, 1)),
        tuple((x.system, x.site, x.value_before, x.value_after,
               x.value_after - x.value_before) for x in plan.fleets),
    )
    points = _pick_points(plan)
    frontier = Chart(
        name="frontier",
        title="Best measure for each budget, and the picks in order by kind",
        x_title=f"money spent ({currency})",
        y_title="mission-capable system-days × value",
        series=(Series("frontier", tuple(float(c) for c, _ in plan.frontier),
                       tuple(float(v) for _, v in plan.frontier), style="step"),
                *(Series(f"{kind} picked", tuple(points[kind][0]), tuple(points[kind][1]),
                         style="markers") for kind in KINDS if kind in points)),
    )
    intro = [Text(f"Scenario `{source}`. Horizon {plan.days} days; budget "
                  f"{plan.budget:,.0f} {currency}; spent {plan.spent:,.0f}. "
                  f"Mission-capable system-days × value: {plan.value_before:,.1f} → "
                  f"{plan.value_after:,.1f}.")]
    summary = kind_summary(plan, currency)
    if summary:
        intro.append(Text("By kind of offer:\n\n" + "\n".join(f"- {x}" for x in summary)))
    return Report(f"What to deliver next: {title}", intro=tuple(intro), sections=(
        Section("Picks, in the order to take them", (picks,)),
        Section("Fleets before and after", (
            Text("Mission-capable system-days times the value of a system-day, over the "
                 "horizon."), fleets)),
        Section("Frontier", (frontier,)),
    ))
