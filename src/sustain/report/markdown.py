"""Markdown reports: an evaluation, and an optimisation with its purchases."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sustain.report.shops import shops_markdown

if TYPE_CHECKING:
    from sustain.optimize.api import Optimization
    from sustain.readiness.evaluate import Evaluation
    from sustain.scenario.model import Scenario


def pct(x: float | None) -> str:
    """A share as a percentage with one decimal, ``n/a`` when unknown."""
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f} %"


def _pct_known(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def comparison_markdown(comparison: dict[str, Any] | None) -> str:
    """The approximation error of METRIC and VARI-METRIC against the exact model."""
    if not comparison:
        return ""
    rows = ["| method | system | site | availability | error vs exact |", "|---|---|---|---:|---:|"]
    for name, block in comparison.items():
        for f in block["fleets"]:
            rows.append(
                f"| {name} | {f['system']} | {f['site']} | {pct(f['availability'])} | "
                f"{100 * f['availability_error']:+.3f} pts |"
            )
    return "\n".join(rows)


def plan_labels(doc: dict[str, Any]) -> list[str]:
    """Column titles for ``doc["plans"]``: file names, whole paths when names repeat."""
    names = [Path(p["file"]).name for p in doc.get("plans", [])]
    if len(set(names)) == len(names):
        return names
    return [str(p["file"]) for p in doc["plans"]]


def plans_table(doc: dict[str, Any], currency: str) -> tuple[list[str], list[list[str]]]:
    """The side-by-side comparison of ``evaluate --stock``: a header and rows of text.

    One row per fleet (availability with the stock held, then with each plan), then the
    value of the stock, the cost of the units each plan adds and the value it removes.
    """
    plans = doc.get("plans", [])
    header = ["system", "site", "systems", "held", *plan_labels(doc)]
    rows = []
    for n, f in enumerate(doc["fleets"]):
        rows.append([f["system"], f["site"], str(f["count"]), _pct_known(f["availability"]),
                     *(_pct_known(p["fleets"][n]["availability"]) for p in plans)])
    rows.append(["expected available", "", "",
                 f"{sum(f['expected_available'] for f in doc['fleets']):.2f}",
                 *(f"{sum(f['expected_available'] for f in p['fleets']):.2f}" for p in plans)])
    rows.append([f"stock value ({currency})", "", "", f"{doc['stock_cost']:,.0f}",
                 *(f"{p['stock_cost']:,.0f}" for p in plans)])
    rows.append([f"to buy ({currency})", "", "", "",
                 *(f"{p['purchase_cost']:,.0f}" for p in plans)])
    rows.append([f"removed ({currency})", "", "", "",
                 *(f"{p['removed_cost']:,.0f}" for p in plans)])
    return header, rows


def plans_markdown(doc: dict[str, Any], currency: str) -> str:
    """The stock plans of ``evaluate --stock`` side by side, as a Markdown section body."""
    if not doc.get("plans"):
        return ""
    header, rows = plans_table(doc, currency)
    lines = [f"- {p['message']}" for p in doc["plans"]]
    lines += ["", "| " + " | ".join(header) + " |",
              "|---|---|" + "---:|" * (len(header) - 2)]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines)


def evaluation_report(
    scenario: Scenario, ev: Evaluation, *, top: int = 15, comparison: str = "",
    plans: str = "",
) -> str:
    """Markdown text: fleets, worst items by backorders, stock value."""
    a = ev.arrays
    lines = [
        f"# Readiness report: {scenario.name or scenario.source}",
        "",
        f"Scenario `{scenario.source}`, method **{ev.method}**, "
        f"{a.n_items} items, {a.n_sites} sites, {a.fleet_system.size} fleets.",
        "",
        "## Fleets",
        "",
        "| system | site | systems | availability | expected available |",
        "|---|---|---:|---:|---:|",
    ]
    for row in ev.fleets_dict():
        lines.append(
            f"| {row['system']} | {row['site']} | {row['count']} | "
            f"{_pct_known(row['availability'])} | {row['expected_available']:.2f} |"
        )
    total = float(np.sum(a.fleet_count))
    lines += [
        "",
        f"Expected available systems: **{float(np.sum(ev.expected_available)):.1f}** "
        f"of {total:.0f}.",
        "",
        f"## Items with the most expected backorders at operating sites (top {top})",
        "",
        "| item | site | stock | demand/day | pipeline | EBO | fill rate |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    operating = {a.site_ids[s] for s in a.fleet_site}
    rows = [r for r in ev.items_dict() if r["site"] in operating]
    items = sorted(rows, key=lambda r: -r["ebo"])[:top]
    for r in items:
        lines.append(
            f"| {r['item']} | {r['site']} | {r['stock']} | {r['demand_per_day']:.4f} | "
            f"{r['pipeline_mean']:.3f} | {r['ebo']:.3f} | {_pct_known(r['fill_rate'])} |"
        )
    lines += [
        "",
        f"Stock held: {ev.stock_cost:,.0f} {scenario.currency}.",
        "",
    ]
    if comparison:
        lines += ["## Approximation error", "", comparison, ""]
    if plans:
        lines += ["## Stock plans", "",
                  "Availability with the stock held and with each plan; costs at the items' "
                  "unit costs.", "", plans, ""]
    if ev.repair_shops is not None and ev.repair_shops.site_ids:
        lines += [shops_markdown(ev.repair_shops.to_list(a))]
    lines += [
        "Availability is the expected share of systems not waiting for a part "
        "(Sherbrooke's product formula), in steady state with ample repair capacity.",
        "",
    ]
    return "\n".join(lines)


def over_time_columns(n_days: int, shown: int = 5) -> list[int]:
    """Indices of about ``shown`` days spread evenly over ``n_days`` (first and last)."""
    return sorted({round(k * (n_days - 1) / (shown - 1)) for k in range(shown)})


def over_time_minimum(series: list[dict[str, Any]]) -> tuple[int, float] | None:
    """(day, availability) of a fleet's lowest point (the first such day); None if never present."""
    known = [(p["availability"], p["day"]) for p in series if p["availability"] is not None]
    if not known:
        return None
    value, day = min(known, key=lambda x: (x[0], x[1]))
    return day, value


def over_time_section(doc: dict[str, Any]) -> str:
    """Markdown section "Readiness over time" from the ``--over-time`` JSON document."""
    days = doc["days"]
    shown = over_time_columns(len(days))
    head = " | ".join(f"day {days[n]}" for n in shown)
    lines = [
        "## Readiness over time",
        "",
        f"Method **{doc['method']}**, days {days[0]} to {days[-1]} "
        f"every {days[1] - days[0] if len(days) > 1 else 0} days.",
        "",
        f"| system | site | {head} | min | on day | systems on day {days[-1]} |",
        "|---|---|" + "---:|" * (len(shown) + 3),
    ]
    for f in doc["fleets"]:
        low = over_time_minimum(f["series"])
        cells = " | ".join(pct(f["series"][n]["availability"]) for n in shown)
        lines.append(
            f"| {f['system']} | {f['site']} | {cells} | {pct(low[1]) if low else 'n/a'} | "
            f"{low[0] if low else ''} | {f['series'][-1]['count']:.2f} |"
        )
    lines += [
        "",
        "Availability is the expected share of the systems present that are up "
        "(systems under battle-damage repair count as down); systems present are "
        "expected values, so they may be fractional.",
        "",
    ]
    return "\n".join(lines)


def over_time_report(scenario: Scenario, doc: dict[str, Any], picture: str | None = None) -> str:
    """Markdown text of ``sustain evaluate --over-time -o``; ``picture``: the plot's path
    relative to the report, shown under the table."""
    return "\n".join([
        f"# Readiness report: {scenario.name or scenario.source}",
        "",
        f"Scenario `{scenario.source}`.",
        "",
        over_time_section(doc),
        *([f"![Availability over time per fleet]({picture})", ""] if picture else []),
        *([over_time_comparison_section(doc["simulated"])] if doc.get("simulated") else []),
    ])


def over_time_comparison_section(sim: dict[str, Any]) -> str:
    """Markdown section: per fleet, the share of days the analytic value lies inside
    the simulator's 95 % band (``evaluate --over-time --compare``)."""
    lines = [
        "## Against the simulator",
        "",
        f"The simulator ran {sim['replications']} replications (seed {sim['seed']}) under "
        "the analytic model's assumptions (failures while down, no repair-channel limits), "
        f"after a lead-in of {sim['lead_in_days']} days that fills its pipelines.",
        "",
        "| system | site | days inside the 95 % band |",
        "|---|---|---:|",
    ]
    for f in sim["fleets"]:
        share = f["inside_ci95_share"]
        lines.append(f"| {f['system']} | {f['site']} | {pct(share)} |")
    return "\n".join([*lines, ""])


def optimization_report(scenario: Scenario, opt: Optimization) -> str:
    """The evaluation after buying, followed by the purchases by cost."""
    lines = ["| item | site | buy | cost |", "|---|---|---:|---:|"]
    for r in sorted(opt.purchases(), key=lambda r: -r["cost"]):
        lines.append(f"| {r['item']} | {r['site']} | {r['qty']} | {r['cost']:,.0f} |")
    note = (
        "The search for a cheaper plan was stopped by its time budget (refine_seconds): "
        "the plan meets the targets, but a longer search might find a cheaper one.\n\n"
        if opt.refinement_stopped else ""
    )
    return evaluation_report(scenario, opt.evaluation) + (
        f"\n## Purchases ({opt.purchase_cost:,.0f} {scenario.currency})\n\n"
        + note + "\n".join(lines) + "\n"
    )
