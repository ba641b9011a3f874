"""What to deliver next, rendered: the console table, the CSV of picks, the Markdown page."""

from __future__ import annotations

import csv
import io

from rich.console import Console
from rich.table import Table

from sustain.deliver import NextPlan


def _donor(donor: str | None) -> str:
    return donor or "-"


def print_next(console: Console, title: str, plan: NextPlan, currency: str) -> None:
    """The picks in order with the reason for each, then the fleets before and after."""
    t = Table(title=f"{title}: what to deliver next ({plan.days} days, budget "
              f"{plan.budget:,.0f} {currency})")
    for col in ("#", "offer", "donor", "kind", "qty", "cost", "gain", "gain per M", "why"):
        t.add_column(col, justify="left" if col in ("offer", "donor", "kind", "why") else "right")
    for n, p in enumerate(plan.picks, start=1):
        t.add_row(str(n), p.offer.id, _donor(p.offer.donor), p.offer.kind, str(p.qty),
                  f"{p.cost:,.0f}", f"{p.value_gain:,.1f}", f"{p.gain_per_cost * 1e6:,.1f}",
                  p.reason)
    console.print(t)
    f = Table(title="Mission-capable system-days × value, per fleet")
    for col in ("system", "site", "before", "after", "change"):
        f.add_column(col, justify="left" if col in ("system", "site") else "right")
    for x in plan.fleets:
        f.add_row(x.system, x.site, f"{x.value_before:,.1f}", f"{x.value_after:,.1f}",
                  f"{x.value_after - x.value_before:+,.1f}")
    console.print(f)
    console.print(f"Measure {plan.value_before:,.1f} → {plan.value_after:,.1f} for "
                  f"{plan.spent:,.0f} of {plan.budget:,.0f} {currency}; "
                  f"{plan.evaluations} engine evaluations.")
    if plan.unvalued:
        console.print("Not valued (consumable offers are not on the scale yet): "
                      + ", ".join(plan.unvalued))


def next_csv(plan: NextPlan) -> str:
    """One row per pick, in order."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["order", "offer", "donor", "kind", "what", "site", "from_day", "qty", "cost",
                "value_gain", "gain_per_cost", "reason"])
    for n, p in enumerate(plan.picks, start=1):
        o = p.offer
        w.writerow([n, o.id, o.donor or "", o.kind, o.system or o.item or o.consumable,
                    o.site or "", f"{o.from_day:g}", p.qty, repr(p.cost), repr(p.value_gain),
                    repr(p.gain_per_cost), p.reason])
    return buf.getvalue()


def next_markdown(title: str, plan: NextPlan, currency: str) -> str:
    """A page a planner can brief from: the picks with their reasons, the fleets."""
    lines = [f"# What to deliver next: {title}", "",
             f"Horizon {plan.days} days; budget {plan.budget:,.0f} {currency}; spent "
             f"{plan.spent:,.0f}. Mission-capable system-days × value: "
             f"{plan.value_before:,.1f} → {plan.value_after:,.1f}.", "",
             "| # | offer | donor | kind | qty | cost | gain | gain per million | why |",
             "|---|---|---|---|---|---|---|---|---|"]
    for n, p in enumerate(plan.picks, start=1):
        lines.append(f"| {n} | {p.offer.id} | {_donor(p.offer.donor)} | {p.offer.kind} | "
                     f"{p.qty} | {p.cost:,.0f} | {p.value_gain:,.1f} | "
                     f"{p.gain_per_cost * 1e6:,.1f} | {p.reason} |")
    lines += ["", "| system | site | before | after |", "|---|---|---|---|"]
    for x in plan.fleets:
        lines.append(f"| {x.system} | {x.site} | {x.value_before:,.1f} | {x.value_after:,.1f} |")
    if plan.unvalued:
        lines += ["", "Not valued (consumable offers are not on the scale yet): "
                  + ", ".join(plan.unvalued) + "."]
    return "\n".join(lines) + "\n"
