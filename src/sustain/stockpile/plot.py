"""Plot a stockpile plan (extra ``plot``: matplotlib, imported only when called).

One row of panels per consumable: the partner's demand, consumption met, arrivals and
stock with shortfall shaded; each donor's stock against its floor.  The file is written
through a temporary file, so a failure never leaves a partial plot over a good one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sustain._files import save_figure_atomic
from sustain.errors import MissingExtraError
from sustain.stockpile.result import PlanResult

#: File types the plot can be written as.
PLOT_SUFFIXES = (".png", ".svg", ".pdf")


def write_plot(result: PlanResult, path: str | Path) -> None:
    """Draw ``result`` into ``path`` (``.png``, ``.svg`` or ``.pdf``).

    Raises
    ------
    MissingExtraError
        matplotlib is not installed (``pip install 'sustain[plot]'``).
    ValueError
        ``path`` has another suffix.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in PLOT_SUFFIXES:
        raise ValueError(f"{path}: a plot is .png, .svg or .pdf, not {suffix or 'no suffix'}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingExtraError(f"{path}: plotting", "plot") from None

    d = result.data
    n = len(d.consumable_ids)
    x = np.arange(len(d.months))
    edges = np.arange(len(d.months) + 1) - 0.5
    fig, axes = plt.subplots(n, 2, figsize=(13, 3.6 * max(n, 1)), dpi=110, squeeze=False)
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
    fig.tight_layout()
    try:
        save_figure_atomic(fig, path)
    finally:
        plt.close(fig)
