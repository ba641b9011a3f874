"""Plots (extra ``plot``: matplotlib): the efficient curve, availability over time
(analytic and simulated), stockpiles.

Each ``save_*`` function draws one figure and saves it to the path it is given in the
format given (``png``, ``svg`` or ``pdf``); :mod:`sustain.report.files` gives it a
temporary path and renames the file into place.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from sustain._types import FloatArray
from sustain.errors import MissingExtraError, SustainError

if TYPE_CHECKING:
    from sustain.optimize.api import Optimization
    from sustain.scenario.model import Scenario
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
    """Save ``fig`` (laid out by its constrained layout engine) and close it."""
    try:
        fig.savefig(path, format=fmt)
    finally:
        plt.close(fig)


def _legend_beside(ax: Any, **kwargs: Any) -> None:
    """The legend of ``ax`` to the right of its data area, never over it."""
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0, fontsize=7,
              **kwargs)


def save_curve_plot(opt: Optimization, path: Path, fmt: str, *, currency: str = "") -> None:
    """Save :func:`curve_figure` (:func:`service_curve_figure` when the run has fill-rate
    or waiting-time targets) to ``path`` in the format ``fmt``."""
    plt = pyplot()
    if opt.service is not None:
        panels = len(_service_panels(opt.curve())) + int(np.any(~np.isnan(opt.targets)))
        _check_size((9, 1 + 3 * panels), 120, fmt)
        _save(plt, service_curve_figure(opt, currency=currency), path, fmt)
        return
    _check_size((9, 5), 120, fmt)
    _save(plt, curve_figure(opt, currency=currency), path, fmt)


#: The measures of a service curve's panels: key in the curve points, axis label, scale.
_PANELS = (("availability", "availability (%)", 100.0), ("fill_rate", "fill rate (%)", 100.0),
           ("mean_wait_days", "mean wait (days)", 1.0))


def _service_panels(points: list[dict[str, Any]]) -> list[tuple[str, str, float]]:
    """The measures with a target in a service run's curve, availability first."""
    first = points[0] if points else {}
    return [p for p in _PANELS if p[0] != "availability" and first.get(p[0])]


def service_curve_figure(opt: Optimization, *, currency: str = "") -> Any:
    """The efficient curve of a run with fill-rate or waiting-time targets: one panel per
    measure with a target (availability of the fleets with one, then fill rate, then
    mean wait, each for the fleets and sites with a target), against money spent
    (millions of ``currency``), the targets as dashed lines."""
    plt = pyplot()
    points = opt.curve()
    cost = np.array([p["cost"] for p in points]) / 1e6
    names = list(points[0]["fleets"]) if points else []
    listed = opt.service.to_list(opt.evaluation.arrays) if opt.service is not None else []
    panels: list[tuple[str, float, dict[str, list[float]], dict[str, float]]] = []
    has_av = {n: float(t) for n, t in zip(names, opt.targets.tolist(), strict=True)
              if not math.isnan(t)}
    if has_av:
        panels.append(("availability (%)", 100.0,
                       {n: [p["fleets"][n] for p in points] for n in has_av}, has_av))
    for key, label, scale in _service_panels(points):
        lines = {n: [p[key][n] for p in points] for n in points[0][key]}
        targets = {str(t["site"]) if t["system"] is None else f"{t['system']}@{t['site']}":
                   float(str(t["target"])) for t in listed if t["measure"] == key}
        panels.append((label, scale, lines, targets))
    fig, axes = plt.subplots(len(panels), 1, figsize=(9, 1 + 3 * len(panels)), dpi=120,
                             layout="constrained", sharex=True, squeeze=False)
    for ax, (label, scale, lines, targets) in zip(axes[:, 0], panels, strict=True):
        for n, ys in lines.items():
            line = ax.step(cost, [scale * y for y in ys], where="post", lw=1.2, label=n)
            if n in targets:
                ax.axhline(scale * targets[n], ls="--", lw=0.8, color=line[0].get_color())
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        _legend_beside(ax, ncol=1 if len(lines) < 16 else 2)
    axes[-1, 0].set_xlabel(f"purchases (millions of {currency})" if currency
                           else "purchases (millions)")
    axes[0, 0].set_title("Efficient curve: each measure with a target against money spent "
                         "(dashed: targets)")
    return fig


def curve_figure(opt: Optimization, *, currency: str = "") -> Any:
    """The efficient curve: availability per fleet and overall (%) against money spent
    (millions of ``currency``)."""
    return curve_figure_of(opt.curve(), opt.targets[~np.isnan(opt.targets)].tolist(),
                           currency=currency)


def save_curve_plot_of(doc: dict[str, Any], path: Path, fmt: str, *,
                       currency: str = "") -> None:
    """:func:`save_curve_plot` from the optimisation's JSON document (``curve`` and
    ``targets``); not for runs with fill-rate or waiting-time targets."""
    plt = pyplot()
    _check_size((9, 5), 120, fmt)
    _save(plt, curve_figure_of(doc["curve"], [float(t["target"]) for t in doc["targets"]],
                               currency=currency), path, fmt)


def curve_figure_of(points: list[dict[str, Any]], targets: list[float], *,
                    currency: str = "") -> Any:
    """:func:`curve_figure` from the curve's points and the fleets' targets."""
    plt = pyplot()
    cost = np.array([p["cost"] for p in points])
    fig, ax = plt.subplots(figsize=(9, 5), dpi=120, layout="constrained")
    names = list(points[0]["fleets"]) if points else []
    for n in names:
        ax.step(cost / 1e6, [100 * p["fleets"][n] for p in points], where="post", lw=1,
                label=n)
    ax.step(cost / 1e6, [100 * p["availability"] for p in points], where="post", lw=2.5,
            color="black", label="all systems")
    for k, t in enumerate(sorted(set(targets))):
        ax.axhline(100 * t, ls="--", color="grey", lw=0.8, label="target" if k == 0 else "_")
    ax.set_xlabel(f"purchases (millions of {currency})" if currency else "purchases (millions)")
    ax.set_ylabel("availability (%)")
    ax.set_title("Efficient curve: availability per fleet against money spent")
    ax.grid(alpha=0.3)
    _legend_beside(ax, ncol=1 if len(names) < 16 else 2)
    return fig


def save_availability_plot(result: SimulationResult, path: Path, fmt: str) -> None:
    """Save :func:`availability_figure` to ``path`` in the format ``fmt``."""
    plt = pyplot()
    _check_size((10, 5), 120, fmt)
    _save(plt, availability_figure(result), path, fmt)


def availability_figure(result: SimulationResult) -> Any:
    """The mean share of systems up per fleet (%) with its 95 % band, over the days
    simulated."""
    return availability_figure_of(result.to_dict())


def save_availability_plot_of(doc: dict[str, Any], path: Path, fmt: str) -> None:
    """:func:`save_availability_plot` from the simulation's JSON document."""
    plt = pyplot()
    _check_size((10, 5), 120, fmt)
    _save(plt, availability_figure_of(doc), path, fmt)


def availability_figure_of(doc: dict[str, Any]) -> Any:
    """:func:`availability_figure` from the simulation's JSON document."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(10, 5), dpi=120, layout="constrained")
    for f in doc["fleets"]:
        if not f["series"]:  # a fleet of zero systems
            continue
        days = [p["day"] for p in f["series"]]

        def col(key: str, pts: list[dict[str, float | None]] = f["series"]) -> list[float]:
            # None: no system present at that day (a fleet delivered later, or lost)
            return [math.nan if p[key] is None else 100 * float(p[key] or 0.0) for p in pts]

        mean = f["availability"]
        line = ax.plot(days, col("mean"), lw=1.2, label=f"{f['system']} @ {f['site']} ("
                       + ("n/a" if mean is None else f"{100 * mean:.1f} %") + ")")
        ax.fill_between(days, col("lo"), col("hi"), color=line[0].get_color(), alpha=0.2, lw=0)
    if doc["warmup_days"] > 0:
        ax.axvline(doc["warmup_days"], ls="--", color="grey", lw=0.8, label="end of warm-up")
    ax.set_xlabel("day")
    ax.set_ylabel("systems up (% of those present)")
    ax.set_ylim(0, 102)
    ax.set_title(f"Simulated availability: {doc['replications']} replications, seed {doc['seed']}"
                 " (mean and 95 % confidence band)")
    ax.grid(alpha=0.3)
    _legend_beside(ax, ncol=1 if len(doc["fleets"]) < 20 else 2,
                   title="fleet (mean after warm-up)", title_fontsize=7)
    return fig


def save_stockpile_plot(result: PlanResult, path: Path, fmt: str) -> None:
    """Save :func:`stockpile_figure` to ``path`` in the format ``fmt``."""
    save_stockpile_plot_of(result.to_dict(), path, fmt)


def save_stockpile_plot_of(doc: dict[str, Any], path: Path, fmt: str) -> None:
    """:func:`save_stockpile_plot` from the plan's JSON document (``sustain stockpile
    --json``)."""
    plt = pyplot()
    _check_size(_stockpile_size(doc), 110, fmt)
    _save(plt, stockpile_figure_of(doc), path, fmt)


def _stockpile_size(doc: dict[str, Any]) -> tuple[float, float]:
    return (15.0, 3.6 * max(len(doc["consumables"]), 1))


def stockpile_figure(result: PlanResult) -> Any:
    """One row of panels per consumable: the partner's demand, consumption met, arrivals
    and stock with shortfall shaded; each donor's stock against its floor (units)."""
    return stockpile_figure_of(result.to_dict())


def stockpile_figure_of(doc: dict[str, Any]) -> Any:
    """:func:`stockpile_figure` from the plan's JSON document: it holds every number
    drawn (the document's donors are the plan's donor rows, in their order)."""
    plt = pyplot()
    months = doc["months"]
    consumables = doc["consumables"]
    x = np.arange(len(months))
    edges = np.arange(len(months) + 1) - 0.5
    fig, axes = plt.subplots(len(consumables), 2, figsize=_stockpile_size(doc), dpi=110,
                             squeeze=False, layout="constrained")
    ticks = x[:: max(1, len(x) // 12)]
    for j, c in enumerate(consumables):
        cid = c["id"]
        demand = np.asarray(c["demand"], dtype=float)
        used = np.asarray(c["used"], dtype=float)
        ax = axes[j, 0]
        ax.bar(x, np.asarray(c["arrivals"], dtype=float), width=0.8, color="tab:blue",
               alpha=0.3, label="arrivals")
        ax.stairs(demand, edges, baseline=used, fill=True, color="tab:red", alpha=0.35,
                  label="shortfall")
        ax.stairs(demand, edges, baseline=None, color="black", lw=1.5, label="demand")
        ax.stairs(used, edges, baseline=None, color="tab:green", lw=1.2, label="used")
        ax.plot(x, np.asarray(c["partner_stock"], dtype=float), color="tab:purple", lw=1.2,
                marker=".", label="partner stock (end of month)")
        ax.set_title(f"{cid}: partner (short {doc['total_shortfall'][cid]:,.0f} in all)")
        ax.set_ylabel("units (flows per month,\nstock at month end)")
        _legend_beside(ax)
        ax = axes[j, 1]
        for k, r in enumerate(r for r in doc["donors"] if r["consumable"] == cid):
            colour = f"C{k % 10}"
            ax.plot(x, np.asarray(r["stock"], dtype=float), color=colour, lw=1.4, marker=".",
                    label=r["donor"])
            if r["floor"] > 0:
                ax.axhline(float(r["floor"]), color=colour, lw=0.8, ls="--")
        ax.set_title(f"{cid}: donor stock (dashed: floor)")
        ax.set_ylabel("units at month end")
        _legend_beside(ax, title="donor")
        for ax in axes[j]:
            ax.set_xlabel("month")
            ax.yaxis.set_major_formatter("{x:,.0f}")  # whole units, no "1e6" offset
            ax.set_xticks(ticks, [months[t] for t in ticks], rotation=45, fontsize=7)
            ax.grid(alpha=0.3)
            ax.set_ylim(bottom=0)
    return fig


#: Most fleets drawn in colour in one panel of the over-time plot: the fleets with the
#: lowest availability; the others are drawn as thin grey lines under one legend entry.
MAX_FLEET_LINES = 8
#: Colours of the fleets' lines (Matplotlib's default cycle); grey is kept for the rest.
_COLOURS = [f"C{k}" for k in range(10) if k != 7]


def _lowest(series: list[dict[str, Any]]) -> tuple[float, int] | None:
    """(lowest availability, its first day) of a fleet's series; None: never present."""
    found = [(p["availability"], p["day"]) for p in series if p["availability"] is not None]
    return min(found, key=lambda x: x[0]) if found else None


def _percent(values: list[float | None]) -> FloatArray:
    return np.array([math.nan if v is None else 100.0 * v for v in values])


def save_over_time_plot(
    doc: dict[str, Any],
    scenario: Scenario,
    path: Path,
    fmt: str,
    *,
    targets: Sequence[float] | FloatArray | None = None,
) -> None:
    """Save :func:`over_time_figure` to ``path`` in the format ``fmt``."""
    plt = pyplot()
    _check_size(_over_time_size(doc), 110, fmt)
    _save(plt, over_time_figure(doc, scenario, targets=targets), path, fmt)


def _over_time_size(doc: dict[str, Any]) -> tuple[float, float]:
    panels = len({f["system"] for f in doc["fleets"]})
    return (11.0, 1.2 + 3.0 * max(panels, 1))


def over_time_figure(
    doc: dict[str, Any],
    scenario: Scenario,
    *,
    targets: Sequence[float] | FloatArray | None = None,
) -> Any:
    """Availability over time: one panel per system type, one line per fleet.

    ``doc`` is the JSON document of ``sustain evaluate --over-time`` (with its
    ``simulated`` block when the simulator's band is to be drawn over the lines);
    ``targets`` has one value per fleet of ``doc`` (NaN: none).  Each panel marks the
    deliveries of its system type (dotted vertical lines, labelled above the panel
    with what arrives) and the tempo windows of its fleets (shaded, with their
    factor); each target is a dashed line.  In a panel with more than
    :data:`MAX_FLEET_LINES` fleets, the fleets with the lowest availability are drawn
    in colour and the others in grey.  Legends sit to the right of the panels.
    Fleet lines carry the ``gid`` ``fleet:SYSTEM@SITE``, bands ``band:SYSTEM@SITE``,
    and the markers ``target``, ``delivery`` and ``tempo``.
    """
    plt = pyplot()
    fleets = doc["fleets"]
    horizon = doc["days"][-1]
    days = np.array(doc["days"], dtype=float)
    goal = np.full(len(fleets), np.nan) if targets is None else np.asarray(targets, float)
    simulated = {(s["system"], s["site"]): s for s in (doc.get("simulated") or {}).get(
        "fleets", [])}
    systems = list(dict.fromkeys(f["system"] for f in fleets))
    names = {s.id: s.name for s in scenario.systems}
    fig, axes = plt.subplots(max(len(systems), 1), 1, figsize=_over_time_size(doc), dpi=110,
                             sharex=True, squeeze=False, layout="constrained")
    low = 100.0
    for ax, system in zip(axes[:, 0], systems, strict=False):
        mine = [(n, f) for n, f in enumerate(fleets) if f["system"] == system]
        order = sorted(mine, key=lambda nf: (_lowest(nf[1]["series"]) or (math.inf, 0))[0])
        others = 0
        for rank, (_, f) in enumerate(order):
            y = _percent([p["availability"] for p in f["series"]])
            lowest = _lowest(f["series"])
            if lowest is not None:
                low = min(low, 100.0 * lowest[0])
            key = (f["system"], f["site"])
            if rank < MAX_FLEET_LINES or len(order) <= MAX_FLEET_LINES + 1:
                colour = _COLOURS[rank % len(_COLOURS)]
                label = f"{f['site']}" + (
                    f" (lowest {100 * lowest[0]:.1f} % on day {lowest[1]})" if lowest else
                    " (no system present)")
                ax.plot(days, y, color=colour, lw=1.6, label=label,
                        gid=f"fleet:{system}@{f['site']}")
            else:
                colour = "0.6"
                others += 1
                ax.plot(days, y, color=colour, lw=0.8, gid=f"fleet:{system}@{f['site']}",
                        label=f"{len(order) - MAX_FLEET_LINES} other sites" if others == 1
                        else "_")
            if key in simulated:
                s = simulated[key]["series"]
                lo, hi = _percent([p["lo"] for p in s]), _percent([p["hi"] for p in s])
                if np.isfinite(lo).any():
                    low = min(low, float(np.nanmin(lo)))
                ax.fill_between(days, lo, hi, color=colour, alpha=0.22, lw=0,
                                label="_", gid=f"band:{system}@{f['site']}")
        if simulated:
            ax.fill_between([], [], [], color="0.5", alpha=0.3, lw=0,
                            label="simulator, 95 % confidence band")
        for t in sorted({float(goal[n]) for n, _ in mine if not math.isnan(goal[n])}):
            low = min(low, 100.0 * t)
            ax.axhline(100.0 * t, color="black", ls="--", lw=1.0, label=f"target {100 * t:g} %",
                       gid="target")
        _mark_tempo(ax, scenario, system, {f["site"] for _, f in mine}, horizon)
        _mark_deliveries(ax, scenario, system, {f["site"] for _, f in mine}, horizon)
        ax.set_ylabel("availability (%)")
        ax.grid(alpha=0.3)
        title = f"{system}: {names[system]}" if names.get(system) else system
        _legend_beside(ax, title=title, title_fontsize=8, alignment="left")
    for ax in axes[:, 0]:
        ax.set_ylim(max(0.0, 10.0 * math.floor((low - 2.0) / 10.0)), 101.0)
        ax.set_xlim(0, horizon)
    axes[-1, 0].set_xlabel("day")
    title = f"Availability over time ({doc['method']}): {scenario.name or scenario.source}"
    if simulated:
        sim = doc["simulated"]
        title += (f"\nsimulator: {sim['replications']} replications, seed {sim['seed']}, "
                  f"under the analytic model's assumptions")
    fig.suptitle(title, fontsize=10)
    return fig


def _mark_tempo(ax: Any, scenario: Scenario, system: str, sites: set[str],
                horizon: float) -> None:
    """Shade the tempo windows that change the hours of a fleet in the panel."""
    for row in scenario.tempo:
        if row.system not in (None, system) or (row.site is not None and row.site not in sites):
            continue
        if row.from_day >= horizon or row.to_day <= 0 or row.factor == 1.0:
            continue
        where = f" at {row.site}" if row.site else ""
        ax.axvspan(max(row.from_day, 0.0), min(row.to_day, horizon), color="tab:orange",
                   alpha=0.13, lw=0, gid="tempo",
                   label=f"tempo ×{row.factor:g}{where}, days {row.from_day:g}–{row.to_day:g}")


def _mark_deliveries(ax: Any, scenario: Scenario, system: str, sites: set[str],
                     horizon: float) -> None:
    """Dotted lines at the deliveries to the panel's fleets, labelled above the panel."""
    arriving: dict[float, list[str]] = {}
    for d in scenario.deliveries:
        if d.day > horizon or d.day < 0:
            continue
        if d.count > 0 and d.system == system:
            what = f"+{d.count} {d.site}" + (" + spares" if d.stock else "")
        elif d.count == 0 and d.stock and d.site in sites:
            what = f"spares {d.site}"
        else:
            continue
        arriving.setdefault(float(d.day), []).append(what)
    for n, (day, lines) in enumerate(sorted(arriving.items())):
        ax.axvline(day, color="0.25", ls=":", lw=1.2, gid="delivery",
                   label="delivery (above: what arrives)" if n == 0 else "_")
        ax.annotate("\n".join(lines), xy=(day, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(0, 2), textcoords="offset points", ha="center", va="bottom",
                    fontsize=7, annotation_clip=False)
