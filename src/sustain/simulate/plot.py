"""Plot the share of systems up over time (extra ``plot``: matplotlib, imported when called)."""

from __future__ import annotations

import math
from pathlib import Path

from sustain._files import save_figure_atomic
from sustain.errors import MissingExtraError
from sustain.simulate.replicate import SimulationResult


def plot_availability(result: SimulationResult, path: str | Path) -> None:
    """Write the mean share of systems up per fleet with its 95 % band (.png/.svg/.pdf).

    The file is written through a temporary file beside it and renamed, so a failed
    run never leaves a partial plot over a good one.

    Raises
    ------
    MissingExtraError
        matplotlib is not installed (``pip install 'sustain[plot]'``).
    """
    path = Path(path)
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingExtraError(f"{path}: plotting", "plot") from None
    doc = result.to_dict()
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
    fig.tight_layout()
    try:
        save_figure_atomic(fig, path)
    finally:
        plt.close(fig)
