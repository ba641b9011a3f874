"""Sweeps rendered: the console tables, the report (tables and the tornado chart) and
the tornado plot (matplotlib)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

from sustain.report.model import (
    Chart,
    Column,
    Kind,
    Report,
    Section,
    Series,
    Table,
    Text,
    table_rich,
)
from sustain.report.plots import PlotError, pyplot
from sustain.sweep import Measure, Propagation, Sensitivity
from sustain.sweep.factors import SCALES
from sustain.sweep.importance import Indices

#: Name of the main table (a ``.csv`` output holds it).
SENSITIVITY_TABLE = "sensitivity"


def _num(x: float) -> float | None:
    return None if math.isnan(x) else float(x)


def _order(result: Sensitivity) -> list[int]:
    """Factors by swing, the largest first (an unknown swing last)."""
    _, low, high = result.totals()
    swing = np.abs(high - low)
    return sorted(range(len(result.factors)),
                  key=lambda n: (math.isnan(swing[n]), -np.nan_to_num(swing[n])))


def _label(result: Sensitivity, n: int) -> str:
    f = result.factors[n]
    return f"{f.name} ×{f.low:g}–{f.high:g}"


def factors_table(result: Sensitivity) -> Table:
    """What each factor multiplies and its two multipliers."""
    return Table(
        name="factors",
        title="Factors (each varied alone, the others as in the scenario)",
        columns=(Column("factor"), Column("low", Kind.NUMBER, 2, "×"),
                 Column("high", Kind.NUMBER, 2, "×"), Column("multiplies")),
        rows=tuple((str(f.name), f.low, f.high, SCALES[f.name]) for f in result.factors),
    )


def sensitivity_table(result: Sensitivity, currency: str = "") -> Table:
    """Per factor: the measure of the scenario, at the low and at the high multiplier
    (availability: all systems, then each fleet; cost: one row)."""
    cols: tuple[Column, ...]
    if result.measure is Measure.COST:
        cols = (Column("factor"), Column("low", Kind.NUMBER, 2, "×"),
                Column("high", Kind.NUMBER, 2, "×"),
                Column("cost as given", Kind.MONEY, unit=currency),
                Column("cost at low", Kind.MONEY, unit=currency),
                Column("cost at high", Kind.MONEY, unit=currency))
        base = _num(float(result.base[0]))
        rows = tuple((str(result.factors[n].name), result.factors[n].low,
                      result.factors[n].high, base, _num(float(result.at_low[n, 0])),
                      _num(float(result.at_high[n, 0]))) for n in _order(result))
        return Table(name=SENSITIVITY_TABLE, title="Cost to reach the target", columns=cols,
                     rows=rows)
    cols = (Column("factor"), Column("low", Kind.NUMBER, 2, "×"),
            Column("high", Kind.NUMBER, 2, "×"), Column("fleet"),
            Column("as given", Kind.PERCENT), Column("at low", Kind.PERCENT),
            Column("at high", Kind.PERCENT))
    base_all, low_all, high_all = result.totals()
    out: list[tuple[Any, ...]] = []
    rules = []
    for n in _order(result):
        f = result.factors[n]
        out.append((str(f.name), f.low, f.high, "all systems", _num(base_all),
                    _num(float(low_all[n])), _num(float(high_all[n]))))
        for j, (k, s) in enumerate(result.fleets):
            out.append(("", "", "", f"{k}@{s}", _num(float(result.base[j])),
                        _num(float(result.at_low[n, j])), _num(float(result.at_high[n, j]))))
        rules.append(len(out) - 1)
    return Table(name=SENSITIVITY_TABLE, title="Availability, each factor at its low and "
                 "high multiplier", columns=cols, rows=tuple(out), rules=tuple(rules[:-1]),
                 fill_down=(0, 1, 2))


def tornado_chart(result: Sensitivity, currency: str = "") -> Chart:
    """The measure at each factor's low and high multiplier, the largest swing first,
    against the scenario as given (a dashed line)."""
    base, low, high = result.totals()
    order = _order(result)
    xs = tuple(float(n) for n in range(len(order)))
    cost = result.measure is Measure.COST
    what = "cost to reach the target" if cost else "share of all systems up"
    return Chart(
        name="tornado",
        title=f"Sensitivity: {what}, each factor at its low and high multiplier",
        x_title="factor (multipliers low–high)",
        y_title=f"cost ({currency})" if cost and currency else ("cost" if cost
                                                               else "availability (%)"),
        series=(Series("at low", xs, tuple(_num(float(low[n])) for n in order), style="bar"),
                Series("at high", xs, tuple(_num(float(high[n])) for n in order),
                       style="bar")),
        y_kind=Kind.NUMBER if cost else Kind.PERCENT,
        levels=((base, "as given"),) if not math.isnan(base) else (),
        x_labels=tuple(_label(result, n) for n in order),
    )


def sensitivity_report(title: str, source: str, result: Sensitivity,
                       currency: str = "") -> Report:
    """The report of ``sustain sweep`` (one-at-a-time)."""
    if result.measure is Measure.COST:
        what = (f"the cost of the purchases that reach the target ({_targets(result)}), "
                "as `sustain optimize` finds it (n/a: the target cannot be reached within "
                "the stock limits)")
    else:
        what = "each fleet's availability with the stock held, as `sustain evaluate` gives it"
    intro = Text(
        f"Scenario: `{source}`. Each factor multiplies some of the scenario's inputs; "
        f"it is set to its low and then its high multiplier while the others stay as "
        f"given, and the sweep reports {what}."
    )
    return Report(
        title=f"{title}: sensitivity",
        intro=(intro,),
        sections=(
            Section("Factors", (factors_table(result),)),
            Section("Results", (tornado_chart(result, currency),
                                sensitivity_table(result, currency))),
        ),
    )


def _targets(result: Sensitivity) -> str:
    t = result.target
    if isinstance(t, dict):
        return ", ".join(f"{k} {v:g}" for k, v in t.items())
    return "n/a" if t is None else f"{t:g} for every fleet"


def print_sensitivity(console: Console, title: str, result: Sensitivity,
                      currency: str = "") -> None:
    """The results table of a one-at-a-time sweep, the largest swing first."""
    console.print(table_rich(sensitivity_table(result, currency)))


def save_tornado_plot(result: Sensitivity, path: Path, fmt: str, *, currency: str = "") -> None:
    """Save :func:`tornado_figure` to ``path`` in the format ``fmt``."""
    plt = pyplot()
    fig = tornado_figure(result, currency=currency)
    try:
        fig.savefig(path, format=fmt)
    finally:
        plt.close(fig)


def tornado_figure(result: Sensitivity, *, currency: str = "") -> Any:
    """A tornado plot: for each factor (the largest swing on top) a bar from the value
    as given to the value at the low multiplier and one to the value at the high."""
    plt = pyplot()
    base, low, high = result.totals()
    if math.isnan(base):
        raise PlotError("the tornado plot needs the measure of the scenario as given "
                        "(the target cannot be reached there)")
    order = _order(result)[::-1]  # matplotlib draws the first bar at the bottom
    cost = result.measure is Measure.COST
    scale = 1e-6 if cost else 100.0
    height = 1.2 + 0.45 * len(order)
    fig, ax = plt.subplots(figsize=(9, height), dpi=120, layout="constrained")
    ys = np.arange(len(order))
    for values, colour, label in ((low, "#1f77b4", "at low multiplier"),
                                  (high, "#ff7f0e", "at high multiplier")):
        v = np.array([values[n] for n in order]) * scale
        ax.barh(ys, np.nan_to_num(v - base * scale), left=base * scale, height=0.6,
                color=colour, alpha=0.85, label=label)
    ax.axvline(base * scale, color="black", lw=1, label="as given")
    ax.set_yticks(ys, [_label(result, n) for n in order])
    if cost:
        ax.set_xlabel(f"cost to reach the target (millions of {currency})" if currency
                      else "cost to reach the target (millions)")
    else:
        ax.set_xlabel("share of all systems up (%)")
    ax.set_ylabel("factor (multipliers)")
    ax.set_title("Sensitivity: each factor at its low and high multiplier")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=7)
    return fig


# -- uncertainty propagation ------------------------------------------------------------

#: Name of the main table of a propagation (a ``.csv`` output holds it).
PROPAGATION_TABLE = "uncertainty"


def inputs_table(result: Propagation) -> Table:
    """The random inputs: what each multiplies and its distribution."""
    return Table(
        name="inputs", title="Random inputs (multipliers of the scenario's values)",
        columns=(Column("input"), Column("multiplies"), Column("distribution")),
        rows=tuple((inp.name, f"{SCALES[inp.factor].split(' of ')[0]} of {inp.covers}",
                    inp.dist.describe()) for inp in result.inputs),
    )


def propagation_table(result: Propagation, currency: str = "") -> Table:
    """Per fleet (or for the cost): as given, mean, 5 %, 50 %, 95 % and the share of
    draws meeting the target."""
    q, mean = result.quantiles(), result.mean()

    def cell(x: float) -> float | None:
        return float(x) if math.isfinite(x) else None

    cols: tuple[Column, ...]
    if result.measure is Measure.COST:
        m = Kind.MONEY
        cols = (Column("as given", m, unit=currency), Column("mean", m, unit=currency),
                Column("5 %", m, unit=currency), Column("median", m, unit=currency),
                Column("95 %", m, unit=currency), Column("target reachable", Kind.PERCENT))
        row = (cell(result.base[0]), cell(mean[0]), cell(q[0, 0]), cell(q[1, 0]),
               cell(q[2, 0]), float(np.mean(np.isfinite(result.values[:, 0]))))
        return Table(name=PROPAGATION_TABLE, title="Cost to reach the target over the "
                     f"{result.samples:,} draws (n/a: some draws cannot reach it)",
                     columns=cols, rows=(row,))
    p = result.p_meet()
    cols = (Column("fleet"), Column("systems", Kind.INT), Column("as given", Kind.PERCENT),
            Column("mean", Kind.PERCENT), Column("5 %", Kind.PERCENT),
            Column("median", Kind.PERCENT), Column("95 %", Kind.PERCENT),
            Column("target", Kind.PERCENT, 0), Column("P(meets target)", Kind.PERCENT))
    rows = tuple(
        (f"{k}@{s}", int(result.counts[j]), cell(result.base[j]), cell(mean[j]),
         cell(q[0, j]), cell(q[1, j]), cell(q[2, j]), cell(result.targets[j]), cell(p[j]))
        for j, (k, s) in enumerate(result.fleets)
    )
    return Table(name=PROPAGATION_TABLE, title=f"Availability over the {result.samples:,} "
                 "draws", columns=cols, rows=rows)


def quantile_chart(result: Propagation) -> Chart:
    """Each fleet's availability: as given, and the 5 %, 50 % and 95 % quantiles."""
    q = result.quantiles()
    xs = tuple(float(j) for j in range(len(result.fleets)))

    def ys(values: Any) -> tuple[float | None, ...]:
        return tuple(float(v) if math.isfinite(v) else None for v in values)

    return Chart(
        name="quantiles", title="Availability per fleet: median and 5–95 % range of the "
        "draws, and as given", x_title="fleet", y_title="availability (%)",
        series=(Series("median (band: 5–95 %)", xs, ys(q[1]), low=ys(q[0]), high=ys(q[2]),
                       style="markers"),
                Series("as given", xs, ys(result.base), style="markers")),
        y_kind=Kind.PERCENT, x_labels=tuple(f"{k}@{s}" for k, s in result.fleets),
    )


def propagation_report(title: str, source: str, result: Propagation,
                       currency: str = "") -> Report:
    """The report of ``sustain sweep --samples``."""
    intro = Text(
        f"Scenario: `{source}`. {result.samples:,} scenarios drawn from its `uncertainty:` "
        f"section (Latin hypercube, seed {result.seed}); each input multiplies the "
        "scenario's values by a draw of its distribution. Quantiles are those of the "
        "draws; P(meets target) is the share of draws in which the fleet meets it."
    )
    blocks: tuple[Any, ...] = (propagation_table(result, currency),)
    if result.measure is Measure.AVAILABILITY:
        blocks = (quantile_chart(result), *blocks)
        p_all = result.p_all_meet()
        if math.isfinite(p_all):
            blocks += (Text(f"Every fleet with a target meets it in {100 * p_all:.1f} % of "
                            "the draws."),)
    sections = [Section("Random inputs", (inputs_table(result),)), Section("Results", blocks)]
    if result.importance is not None:
        sections.append(importance_section(result))
    return Report(
        title=f"{title}: uncertainty",
        intro=(intro,),
        sections=tuple(sections),
    )


#: Name of the importance table (a sheet of an ``.xlsx`` output).
IMPORTANCE_TABLE = "importance"


def _indices(result: Propagation) -> Indices:
    if result.importance is None:
        raise ValueError("no importance computed: propagate(..., importance=True)")
    return result.importance


def _importance_order(result: Propagation) -> list[int]:
    """Inputs by total index of the first output (all systems, or the cost), the
    largest first (an unknown index last)."""
    ind = _indices(result)
    total = ind.total[:, 0]
    return sorted(range(len(result.inputs)),
                  key=lambda i: (math.isnan(total[i]), -np.nan_to_num(total[i])))


def importance_table(result: Propagation) -> Table:
    """Per input (the largest total index first): first-order and total Sobol' indices
    of the share of all systems up (or of the cost), with their intervals."""
    ind = _indices(result)
    level = f"{100 * ind.confidence:g} %"
    cols = (Column("input"), Column("first order", Kind.NUMBER, 3),
            Column("first low", Kind.NUMBER, 3), Column("first high", Kind.NUMBER, 3),
            Column("total", Kind.NUMBER, 3), Column("total low", Kind.NUMBER, 3),
            Column("total high", Kind.NUMBER, 3))
    rows = tuple(
        (result.inputs[i].name, _num(float(ind.first[i, 0])),
         _num(float(ind.first_low[i, 0])), _num(float(ind.first_high[i, 0])),
         _num(float(ind.total[i, 0])), _num(float(ind.total_low[i, 0])),
         _num(float(ind.total_high[i, 0])))
        for i in _importance_order(result)
    )
    what = "cost to reach the target" if result.measure is Measure.COST else (
        "share of all systems up")
    return Table(name=IMPORTANCE_TABLE, title=f"Importance of each input for the {what} "
                 f"(Sobol' indices; low–high: {level} interval)", columns=cols, rows=rows)


def importance_fleets_table(result: Propagation) -> Table:
    """Total Sobol' index of each input (rows) for each fleet's availability (columns)."""
    ind = _indices(result)
    cols = (Column("input"), *(Column(f"{k}@{s}", Kind.NUMBER, 3) for k, s in result.fleets))
    rows = tuple((result.inputs[i].name,
                  *(_num(float(ind.total[i, 1 + j])) for j in range(len(result.fleets))))
                 for i in _importance_order(result))
    return Table(name="importance by fleet", title="Total index of each input for each "
                 "fleet's availability", columns=cols, rows=rows)


def importance_chart(result: Propagation) -> Chart:
    """First-order and total indices per input, the largest total first."""
    ind = _indices(result)
    order = _importance_order(result)
    xs = tuple(float(n) for n in range(len(order)))
    what = "cost to reach the target" if result.measure is Measure.COST else (
        "share of all systems up")
    return Chart(
        name="importance", title=f"Importance of each input for the {what}",
        x_title="input", y_title="Sobol' index",
        series=(Series("first order", xs, tuple(_num(float(ind.first[i, 0])) for i in order),
                       style="bar"),
                Series("total", xs, tuple(_num(float(ind.total[i, 0])) for i in order),
                       style="bar")),
        x_labels=tuple(result.inputs[i].name for i in order),
    )


def importance_section(result: Propagation) -> Section:
    """The Sobol' indices: what they mean, the chart and the tables."""
    ind = _indices(result)
    d = len(result.inputs)
    intro = Text(
        f"Variance-based importance from {ind.samples:,} × ({d} + 2) = "
        f"{ind.samples * (d + 2):,} scenarios (Saltelli's design: the draws above, a "
        "second sample, and each input swapped in from it). The first-order index is the "
        "share of the output's variance an input explains alone; the total index the "
        "share it takes part in, with its interactions (about 0: the input does not "
        f"matter). Intervals: percentile bootstrap, {ind.resamples:,} resamples."
    )
    blocks: tuple[Any, ...] = (intro, importance_chart(result), importance_table(result))
    if result.measure is Measure.AVAILABILITY:
        blocks += (importance_fleets_table(result),)
    return Section("Importance of the inputs", blocks)


def print_propagation(console: Console, result: Propagation, currency: str = "") -> None:
    """The results table of a propagation (and the share of draws meeting every target)."""
    console.print(table_rich(propagation_table(result, currency)))
    p_all = result.p_all_meet() if result.measure is Measure.AVAILABILITY else math.nan
    if math.isfinite(p_all):
        console.print(f"Every fleet with a target meets it in {100 * p_all:.1f} % of the "
                      "draws.", soft_wrap=True, markup=False, highlight=False)
    if result.importance is not None:
        console.print(table_rich(importance_table(result)))
        if result.measure is Measure.AVAILABILITY:
            console.print(table_rich(importance_fleets_table(result)))


def save_quantile_plot(result: Propagation, path: Path, fmt: str) -> None:
    """Save :func:`quantile_figure` to ``path`` in the format ``fmt``."""
    plt = pyplot()
    fig = quantile_figure(result)
    try:
        fig.savefig(path, format=fmt)
    finally:
        plt.close(fig)


def quantile_figure(result: Propagation) -> Any:
    """Each fleet's availability (%): the median of the draws with a 5–95 % bar, and
    the value as given; the cost measure: a histogram of the costs drawn."""
    plt = pyplot()
    if result.measure is Measure.COST:
        fig, ax = plt.subplots(figsize=(9, 4.5), dpi=120, layout="constrained")
        finite = result.values[np.isfinite(result.values[:, 0]), 0]
        ax.hist(finite / 1e6, bins=40, color="#1f77b4", alpha=0.85, label="draws")
        if math.isfinite(result.base[0]):
            ax.axvline(result.base[0] / 1e6, color="black", lw=1, label="as given")
        ax.set_xlabel("cost to reach the target (millions)")
        ax.set_ylabel("draws")
        ax.set_title("Cost to reach the target over the draws")
    else:
        q = result.quantiles() * 100
        names = [f"{k}@{s}" for k, s in result.fleets]
        fig, ax = plt.subplots(figsize=(9, 1.2 + 0.45 * len(names)), dpi=120,
                               layout="constrained")
        ys = np.arange(len(names))[::-1]
        ax.errorbar(q[1], ys, xerr=[q[1] - q[0], q[2] - q[1]], fmt="o", color="#1f77b4",
                    capsize=3, label="median, 5–95 % of draws")
        ax.plot(result.base * 100, ys, "k|", markersize=14, label="as given")
        has = np.isfinite(result.targets)
        if np.any(has):
            ax.plot(100 * result.targets[has], ys[has], "v", color="#c0392b", label="target")
        ax.set_yticks(ys, names)
        ax.set_xlabel("availability (%)")
        ax.set_ylabel("fleet")
        ax.set_title("Availability over the draws")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=7)
    return fig
