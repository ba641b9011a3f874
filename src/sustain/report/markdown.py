"""Markdown reports: an evaluation, and an optimisation with its purchases."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

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


def evaluation_report(
    scenario: Scenario, ev: Evaluation, *, top: int = 15, comparison: str = ""
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
    lines += [
        "Availability is the expected share of systems not waiting for a part "
        "(Sherbrooke's product formula), in steady state with ample repair capacity.",
        "",
    ]
    return "\n".join(lines)


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
