"""Text helpers shared by the console tables and the report builders: percentages,
the days an over-time table shows, the column titles of stock plans.

The reports themselves are built in :mod:`sustain.report.builders` and written as
Markdown by :func:`sustain.report.model.to_markdown`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any


def pct(x: float | None) -> str:
    """A share as a percentage with one decimal, ``n/a`` when unknown."""
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f} %"


def fmc_shown(fleets: list[dict[str, Any]]) -> bool:
    """A fully-mission-capable column is worth showing: some fleet's ``availability_fmc``
    differs from its (mission-capable) ``availability`` (redundant or inessential items)."""
    return any(f.get("availability_fmc") is not None
               and f["availability_fmc"] != f["availability"] for f in fleets)


def _pct_known(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.1f} %"


def stock_value_line(doc: dict[str, Any], currency: str) -> str:
    """The value of the stock evaluated: held, or (an ``optimize`` document, with
    ``purchase_cost``) after buying, with the held stock and the purchases it adds up."""
    unit = f" {currency}" if currency else ""
    bought = doc.get("purchase_cost")
    if bought is None:
        return f"Stock held: {doc['stock_cost']:,.0f}{unit}."
    return (f"Stock after buying: {doc['stock_cost']:,.0f}{unit} (held "
            f"{doc['stock_cost'] - bought:,.0f} + purchases {bought:,.0f}).")


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
