"""The robust plan rendered: the comparison with the nominal plan, per fleet and in
total, as console tables and as a report (Markdown, HTML, Excel)."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Console

from sustain.report.model import Column, Kind, Report, Section, Table, Text, table_rich
from sustain.sweep.robust import CI_LEVEL, RobustPlan, clopper_pearson

#: Name of the comparison table.
ROBUST_TABLE = "robust"
#: Name of the purchases table.
PURCHASES_TABLE = "purchases"


def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


def comparison_table(plan: RobustPlan) -> Table:
    """Per fleet with a target: the share of draws each plan meets it in, on the draws
    the robust plan was built on and on the fresh draws (with the interval)."""
    cols = (Column("fleet"), Column("target", Kind.PERCENT, 0),
            Column("nominal, build draws", Kind.PERCENT),
            Column("robust, build draws", Kind.PERCENT),
            Column("nominal, fresh draws", Kind.PERCENT),
            Column("robust, fresh draws", Kind.PERCENT),
            Column(f"robust, fresh: {100 * CI_LEVEL:g} % interval"))
    rows: list[tuple[Any, ...]] = []
    n = plan.robust_check.draws
    for j, (k, s) in enumerate(plan.fleets):
        t = float(plan.targets[j])
        if math.isnan(t) or plan.counts[j] <= 0:
            continue
        lo, hi = clopper_pearson(int(plan.robust_check.met[j]), n)
        rows.append((f"{k}@{s}", t, float(plan.nominal_build.p()[j]),
                     float(plan.robust_build.p()[j]), float(plan.nominal_check.p()[j]),
                     float(plan.robust_check.p()[j]), f"{_pct(lo)} – {_pct(hi)}"))
    lo, hi = clopper_pearson(plan.robust_check.all_met, n)
    rows.append(("every fleet at once", "", plan.nominal_build.p_all(),
                 plan.robust_build.p_all(), plan.nominal_check.p_all(),
                 plan.robust_check.p_all(), f"{_pct(lo)} – {_pct(hi)}"))
    return Table(name=ROBUST_TABLE, title="Share of draws meeting the target",
                 columns=cols, rows=tuple(rows), rules=(len(rows) - 2,))


def cost_table(plan: RobustPlan, currency: str = "") -> Table:
    """The two plans' purchase costs and the cost of robustness."""
    m = Column("cost", Kind.MONEY, unit=currency)
    return Table(name="cost", title="Purchases", columns=(Column("plan"), m),
                 rows=(("nominal (meets the targets as given)", plan.nominal.purchase_cost),
                       (f"robust ({100 * plan.confidence:g} % of the draws)",
                        plan.robust.purchase_cost),
                       ("cost of robustness", plan.cost_of_robustness)))


def purchases_table(plan: RobustPlan, currency: str = "") -> Table:
    """Per item and site: units the nominal plan and the robust plan buy."""
    nom = {(p["item"], p["site"]): p["qty"] for p in plan.nominal.purchases()}
    rob = {(p["item"], p["site"]): (p["qty"], p["unit_cost"]) for p in plan.robust.purchases()}
    unit = {(p["item"], p["site"]): p["unit_cost"] for p in plan.nominal.purchases()}
    keys = sorted(set(nom) | set(rob),
                  key=lambda key: -(rob.get(key, (0, 0.0))[0] - nom.get(key, 0))
                  * (rob[key][1] if key in rob else unit[key]))
    rows = tuple((i, s, nom.get((i, s), 0), rob.get((i, s), (0, 0.0))[0],
                  rob.get((i, s), (0, 0.0))[0] - nom.get((i, s), 0)) for i, s in keys)
    return Table(name=PURCHASES_TABLE, title="Units bought (largest extra spend first)",
                 columns=(Column("item"), Column("site"), Column("nominal", Kind.INT),
                          Column("robust", Kind.INT), Column("extra", Kind.INT)),
                 rows=rows)


def summary(plan: RobustPlan, currency: str = "") -> str:
    """Two sentences: the cost of robustness and the probabilities."""
    unit = f" {currency}" if currency else ""
    nom, rob = plan.nominal.purchase_cost, plan.robust.purchase_cost
    rel = f" (+{100 * (rob - nom) / nom:.0f} %)" if nom > 0 and rob >= nom else ""
    worst_nom = min((float(plan.nominal_check.p()[j]) for j in _targeted(plan)), default=1.0)
    worst_rob = min((float(plan.robust_check.p()[j]) for j in _targeted(plan)), default=1.0)
    return (f"The robust plan costs {rob:,.0f}{unit}, the nominal plan {nom:,.0f}{unit}: "
            f"robustness costs {rob - nom:,.0f}{unit}{rel}. On {plan.robust_check.draws:,} "
            f"fresh draws the fleet least often meeting its target does so in "
            f"{_pct(worst_rob)} of them with the robust plan, {_pct(worst_nom)} with the "
            "nominal plan.")


def _targeted(plan: RobustPlan) -> list[int]:
    return [j for j in range(len(plan.fleets))
            if not math.isnan(float(plan.targets[j])) and plan.counts[j] > 0]


def robust_report(title: str, source: str, plan: RobustPlan, currency: str = "") -> Report:
    """The report of ``sustain optimize --confidence``."""
    intro = Text(
        f"Scenario: `{source}`. The robust plan is the cheapest stock found that meets "
        f"each fleet's target in at least {plan.required} of {plan.samples:,} scenarios "
        f"drawn from the `uncertainty:` section (confidence {100 * plan.confidence:g} %, "
        f"Latin hypercube, seed {plan.seed}); the nominal plan meets the targets with the "
        f"inputs as given. Both are checked on {plan.robust_check.draws:,} fresh draws "
        f"(seed {plan.check_seed}) that the search never saw; the interval is "
        f"Clopper–Pearson at {100 * CI_LEVEL:g} %."
    )
    return Report(
        title=f"{title}: robust plan",
        intro=(intro,),
        sections=(Section("Cost of robustness", (Text(summary(plan, currency)),
                                                 cost_table(plan, currency))),
                  Section("Probability of meeting the targets", (comparison_table(plan),)),
                  Section("Purchases", (purchases_table(plan, currency),))),
    )


def print_robust(console: Console, plan: RobustPlan, top: int, currency: str = "") -> None:
    """The cost table, the comparison table and the first ``top`` purchase rows."""
    console.print(table_rich(cost_table(plan, currency)))
    console.print(table_rich(comparison_table(plan)))
    p = purchases_table(plan, currency)
    console.print(table_rich(Table(name=p.name, title=p.title, columns=p.columns,
                              rows=p.rows[:top])))
    console.print(summary(plan, currency), soft_wrap=True, markup=False, highlight=False)
