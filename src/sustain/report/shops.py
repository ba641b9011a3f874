"""Repair shops with finite channels: the table, the report section and the warnings.

Drawn from the ``repair_shops`` block of the evaluate and simulate documents
(:mod:`sustain.readiness.shops`).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from sustain.readiness.shops import OVERLOAD_UTILISATION


def _channels(c: int) -> str:
    return f"{c} channel" if c == 1 else f"{c} channels"


def shop_warnings(rows: list[dict[str, Any]]) -> list[str]:
    """One line per shop at or above :data:`OVERLOAD_UTILISATION` (at day 0, or at the
    peak of a simulated run)."""
    lines = []
    for r in rows:
        load, rho, when = r["offered_load"], r["utilisation"], ""
        if rho < OVERLOAD_UTILISATION and r.get("peak_utilisation", 0.0) >= OVERLOAD_UTILISATION:
            load, rho, when = r["peak_offered_load"], r["peak_utilisation"], \
                f" from day {r['peak_day']}"
        if rho >= OVERLOAD_UTILISATION:
            lines.append(
                f"warning: repair shop at {r['site']}: {_channels(r['channels'])} for "
                f"{load:.1f} channels' worth of work{when} (utilisation {rho:.2f}): the "
                "analytic model assumes unlimited repair capacity; expect queues (simulate) "
                "and availability well below the analytic value"
            )
    return lines


def _worst(shop: dict[str, Any]) -> float:
    """The higher of the day-0 and the peak utilisation (evaluate has no peak)."""
    return max(shop["utilisation"], shop.get("peak_utilisation", 0.0))


def gap_notes(doc: dict[str, Any]) -> list[str]:
    """With ``--compare``: the fleets whose analytic availability lies above the simulated
    confidence interval and whose repairs go through an overloaded shop."""
    shops = doc.get("repair_shops") or []
    analytic = doc.get("analytic")
    if not shops or analytic is None:
        return []
    lines = []
    for n, f in enumerate(doc["fleets"]):
        row = analytic["vari-metric"]["fleets"][n]
        if row["inside_ci95"] is not False or row["difference"] <= 0:
            continue
        fleet = {"system": f["system"], "site": f["site"]}
        busy = [s for s in shops if _worst(s) >= OVERLOAD_UTILISATION and fleet in s["fleets"]]
        if busy:
            where = ", ".join(f"{s['site']} (utilisation {_worst(s):.2f})" for s in busy)
            lines.append(
                f"{f['system']} at {f['site']}: analytic {100 * row['availability']:.1f} % "
                f"against simulated {100 * f['availability']:.1f} %: its repairs queue at "
                f"{where}, which the analytic model does not see"
            )
    return lines


def print_repair_shops(console: Console, rows: list[dict[str, Any]]) -> None:
    """Channels, arrivals, offered load and utilisation per shop (and the simulated
    peak and jobs at the shop when ``rows`` come from a simulation)."""
    simulated = bool(rows) and "in_repair_mean" in rows[0]
    t = Table(title="Repair shops")
    cols = ["site", "channels", "load", "utilisation"]
    cols += ["peak (day)", "in repair", "simulated"] if simulated else ["repairs/day"]
    for c in cols:
        t.add_column(c, justify="left" if c == "site" else "right")
    for r in rows:
        row = [r["site"], str(r["channels"]), f"{r['offered_load']:.2f}",
               f"{r['utilisation']:.2f}"]
        if simulated:
            sim = r.get("utilisation_simulated")
            row += [f"{r['peak_offered_load']:.2f} ({r['peak_day']})",
                    f"{r['in_repair_mean']:.2f}", "" if sim is None else f"{sim:.2f}"]
        else:
            row.append(f"{r['arrivals_per_day']:.3f}")
        t.add_row(*row)
    console.print(t)
    console.print(
        "load: offered load, channels' worth of work (repairs per day × repair days); "
        "utilisation: load / channels" + (
            "; peak: the highest load of the day-0 and delivered fleets at the tempo of "
            "each day (the first day it is reached); in repair: simulated time-average jobs "
            "at the shop, queued or in service; simulated: simulated utilisation, "
            "time-average busy channels / channels"
            if simulated else ""
        ),
        soft_wrap=True,
    )
