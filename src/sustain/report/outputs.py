"""Files written by ``sustain optimize``: the plan and the efficient curve."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from sustain._files import save_figure_atomic
from sustain.errors import MissingExtraError
from sustain.optimize.api import Optimization
from sustain.report.markdown import evaluation_report, write_atomic
from sustain.scenario.model import Scenario


def plan_csv(opt: Optimization) -> str:
    """Every item and site with stock or purchases: held, buy, resulting stock, cost."""
    a = opt.evaluation.arrays
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["item", "site", "held", "buy", "qty", "unit_cost", "cost"])
    ii, ss = np.nonzero((a.stock > 0) | (opt.held > 0))
    for i, s in zip(ii.tolist(), ss.tolist(), strict=True):
        buy = int(opt.buy[i, s])
        w.writerow([a.item_ids[i], a.site_ids[s], int(opt.held[i, s]), buy, int(a.stock[i, s]),
                    f"{a.unit_cost[i]:.2f}", f"{buy * a.unit_cost[i]:.2f}"])
    return buf.getvalue()


def write_plan(path: Path, scenario: Scenario, opt: Optimization) -> None:
    """``.csv``: the stock plan; ``.json``: the whole document; ``.md``: a report."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        text = plan_csv(opt)
    elif suffix == ".json":
        text = json.dumps(opt.to_dict(), indent=1) + "\n"
    else:
        lines = ["| item | site | buy | cost |", "|---|---|---:|---:|"]
        for r in sorted(opt.purchases(), key=lambda r: -r["cost"]):
            lines.append(f"| {r['item']} | {r['site']} | {r['qty']} | {r['cost']:,.0f} |")
        text = evaluation_report(scenario, opt.evaluation) + (
            f"\n## Purchases ({opt.purchase_cost:,.0f} {scenario.currency})\n\n"
            + "\n".join(lines) + "\n"
        )
    write_atomic(path, text)


def write_curve(path: Path, opt: Optimization) -> None:
    """The efficient curve as a plot (.png/.svg/.pdf), .csv or .json."""
    suffix = path.suffix.lower()
    points = opt.curve()
    if suffix == ".json":
        write_atomic(path, json.dumps(points, indent=1) + "\n")
        return
    if suffix == ".csv":
        names = list(points[0]["fleets"]) if points else []
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(["cost", "availability", *names])
        for p in points:
            w.writerow([p["cost"], p["availability"], *(p["fleets"][n] for n in names)])
        write_atomic(path, buf.getvalue())
        return
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingExtraError(f"{path}: plotting", "plot") from None
    cost = np.array([p["cost"] for p in points])
    fig, ax = plt.subplots(figsize=(8, 5), dpi=120)
    names = list(points[0]["fleets"]) if points else []
    for n in names:
        ax.step(cost / 1e6, [p["fleets"][n] for p in points], where="post", lw=1, label=n)
    ax.step(cost / 1e6, [p["availability"] for p in points], where="post", lw=2.5,
            color="black", label="all systems")
    for t in sorted(set(opt.targets[~np.isnan(opt.targets)].tolist())):
        ax.axhline(t, ls="--", color="grey", lw=0.8)
    ax.set_xlabel("purchases (millions)")
    ax.set_ylabel("availability")
    ax.set_title("Efficient curve: availability per fleet against money spent")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    fig.tight_layout()
    try:
        save_figure_atomic(fig, path)
    finally:
        plt.close(fig)
