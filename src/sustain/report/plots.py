"""Plots (extra ``plot``: matplotlib): the efficient curve, simulated availability, stockpiles.

Each ``save_*`` function draws one figure and saves it to the path it is given in the
format given (``png``, ``svg`` or ``pdf``); :mod:`sustain.report.files` gives it a
temporary path and renames the file into place.
"""

from __future__ import annotations

import math
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from sustain.errors import MissingExtraError, SustainError

if TYPE_CHECKING:
    from sustain.optimize.api import Optimization
    from sustain.simulate.replicate import SimulationResult
    from sustain.stockpile.result import PlanResult

#: Matplotlib's raster back end draws images smaller than 2**16 pixels each way.
MAX_PNG_PIXELS = 2**16 - 1


class PlotError(SustainError):
    """A plot cannot be drawn (for example, too many panels for a PNG)."""


def pyplot(what: str = "") -> ModuleType:
    """``matplotlib.pyplot`` on the non-interactive Agg back end.

    Raises
    ------
    MissingExtraError
        matplotlib is not installed (``pip install 'sustain[plot]'``); ``what`` names
        the file or option that asked for a plot.
    """
    try:
        # Imported here: matplotlib is an optional extra, and importing it costs about
        # 0.5 s, which commands that draw nothing should not pay.
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingExtraError(f"{what}: plotting" if what else "plotting", "plot") from None
    return plt


def _check_size(size: tuple[float, float], dpi: int, fmt: str) -> None:
    """Refuse, before drawing, a PNG larger than Matplotlib can render."""
    width, height = size[0] * dpi, size[1] * dpi
    if fmt == "png" and max(width, height) > MAX_PNG_PIXELS:
        raise PlotError(
            f"the plot would be {width:,.0f} × {height:,.0f} pixels; a PNG is drawn at most "
            f"{MAX_PNG_PIXELS:,} pixels each way: write .svg or .pdf instead"
        )


def _save(plt: ModuleType, fig: Any, path: Path, fmt: str) -> None:
    try:
        fig.tight_layout()
        fig.savefig(path, format=fmt)
    finally:
        plt.close(fig)


def save_curve_plot(opt: Optimization, path: Path, fmt: str) -> None:
    """The efficient curve: availability per fleet and overall against money spent."""
    plt = pyplot()
    points = opt.curve()
    cost = np.array([p["cost"] for p in points])
    _check_size((8, 5), 120, fmt)
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
    _save(plt, fig, path, fmt)


def save_availability_plot(result: SimulationResult, path: Path, fmt: str) -> None:
    """The mean share of systems up per fleet with its 95 % band, over the days simulated."""
    plt = pyplot()
    doc = result.to_dict()
    _check_size((9, 5), 120, fmt)
    fig, ax = plt.subplots(figsize=(9, 5), dpi=120)
    for f in doc["fleets"]:
        if not f["series"]:  # a fleet of zero systems
            continue
        days = [p["day"] for p in f["series"]]

        def col(key: str, pts: list[dict[str, float | None]] = f["series"]) -> list[float]:
            # None: no system present at that day (a fleet delivered later, or lost)
            return [math.nan if p[key] is None else float(p[key] or 0.0) for p in pts]

        line = ax.plot(days, col("mean"), lw=1.2,
                       label=f"{f['system']} @ {f['site']} ({f['availability']:.3f})")
        ax.fill_between(days, col("lo"), col("hi"), color=line[0].get_color(), alpha=0.2, lw=0)
    if result.warmup_days > 0:
        ax.axvline(result.warmup_days, ls="--", color="grey", lw=0.8)
    ax.set_xlabel("day")
    ax.set_ylabel("share of systems up")
    ax.set_ylim(0, 1.02)
    ax.set_title(f"Simulated availability: {result.replications} replications, seed {result.seed}"
                 " (mean and 95 % confidence band)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, ncol=2, loc="lower right")
    _save(plt, fig, path, fmt)


def save_stockpile_plot(result: PlanResult, path: Path, fmt: str) -> None:
    """One row of panels per consumable: the partner's demand, consumption met, arrivals
    and stock with shortfall shaded; each donor's stock against its floor."""
    plt = pyplot()
    d = result.data
    n = len(d.consumable_ids)
    x = np.arange(len(d.months))
    edges = np.arange(len(d.months) + 1) - 0.5
    size = (13, 3.6 * max(n, 1))
    _check_size(size, 110, fmt)
    fig, axes = plt.subplots(n, 2, figsize=size, dpi=110, squeeze=False)
    ticks = x[:: max(1, len(x) // 12)]
    rows = result.donor_rows()
    for j, cid in enumerate(d.consumable_ids):
        ax = axes[j, 0]
        ax.bar(x, result.arrivals[j], width=0.8, color="tab:blue", alpha=0.3, label="arrivals")
        ax.stairs(d.demand[j], edges, baseline=result.used[j], fill=True, color="tab:red",
                  alpha=0.35, label="shortfall")
        ax.stairs(d.demand[j], edges, baseline=None, color="black", lw=1.5, label="demand")
        ax.stairs(result.used[j], edges, baseline=None, color="tab:green", lw=1.2,
                  label="used")
        ax.plot(x, result.partner_stock[j], color="tab:purple", lw=1.2, marker=".",
                label="partner stock (end of month)")
        ax.set_title(f"{cid}: partner (short {result.total_shortfall[cid]:,.0f} in all)")
        ax.legend(fontsize=7, loc="upper left")
        ax = axes[j, 1]
        for k, (i, jj) in enumerate(r for r in rows if r[1] == j):
            colour = f"C{k % 10}"
            ax.plot(x, result.stock[i, jj], color=colour, lw=1.4, marker=".",
                    label=d.donor_ids[i])
            if d.floor[i, jj] > 0:
                ax.axhline(d.floor[i, jj], color=colour, lw=0.8, ls="--")
        ax.set_title(f"{cid}: donor stock (dashed: floor)")
        ax.legend(fontsize=7, loc="upper left")
        for ax in axes[j]:
            ax.set_xticks(ticks, [d.months[t] for t in ticks], rotation=45, fontsize=7)
            ax.grid(alpha=0.3)
            ax.set_ylim(bottom=0)
    _save(plt, fig, path, fmt)
