"""Documents: the JSON contract of ``shared/spec`` and the plan and curve tables (CSV).

JSON is written strictly: a number that is not finite (NaN, ±infinity) has no JSON
form, so it is reported as an error naming the field instead of being written as
``NaN`` or ``Infinity``, which other JSON readers reject.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import numpy as np

from sustain.errors import SustainError
from sustain.report.tabular import CHUNK_ROWS, Chunk, ChunkedTable, ColumnType, csv_values

if TYPE_CHECKING:
    from sustain.optimize.api import Optimization
    from sustain.readiness.evaluate import Evaluation
    from sustain.scenario.compile import ScenarioArrays
    from sustain.scenario.stock_plan import StockChange


class NonFiniteResultError(SustainError):
    """A result holds a number that JSON cannot represent (NaN or infinity)."""


def _non_finite(value: Any, path: str) -> Iterator[tuple[str, float]]:
    if isinstance(value, float):
        if not math.isfinite(value):
            yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for n, item in enumerate(value):
            yield from _non_finite(item, f"{path}[{n}]")


def json_text(doc: Any, *, what: str = "the result") -> str:
    """``doc`` as indented JSON with a final newline.

    Raises
    ------
    NonFiniteResultError
        A number in ``doc`` is NaN or infinite; the message gives its key path
        (``items[3].vbo``) and how many such numbers there are.
    """
    try:
        return json.dumps(doc, indent=1, allow_nan=False) + "\n"
    except ValueError:
        bad = list(_non_finite(doc, ""))
        if not bad:
            raise
        path, value = bad[0]
        more = f" (and {len(bad) - 1} more)" if len(bad) > 1 else ""
        raise NonFiniteResultError(
            f"{what} holds a number JSON cannot represent: {path} is {value}{more}; "
            "the inputs are outside the range the computation handles"
        ) from None


def plan_csv(opt: Optimization) -> str:
    """Every item and site with stock or purchases: held, buy, resulting stock, cost.

    With moves (``optimize --redistribute``) a last column ``moved`` gives the units
    moved in less those moved out, ``held`` the stock held before the moves, and
    ``qty`` = held + moved + buy.  (:func:`plan_table` gives the same rows in blocks,
    for files of any size.)"""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    table = plan_table(opt)
    w.writerow([n for n, _ in table.columns])
    for chunk in table.chunks():
        w.writerows(zip(*(csv_values(chunk[n], k) for n, k in table.columns), strict=True))
    return buf.getvalue()


def plan_csv_of_document(arrays: ScenarioArrays, doc: dict[str, Any]) -> str:
    """:func:`plan_csv` from the optimisation's JSON document and the compiled scenario
    (for the ids, their order and the unit costs): the same file, row for row."""
    items = {name: n for n, name in enumerate(arrays.item_ids)}
    sites = {name: n for n, name in enumerate(arrays.site_ids)}
    shape = (len(arrays.item_ids), len(arrays.site_ids))
    stock, buy = np.zeros(shape), np.zeros(shape)
    for row in doc["items"]:
        stock[items[row["item"]], sites[row["site"]]] = row["stock"]
    for row in doc["purchases"]:
        buy[items[row["item"]], sites[row["site"]]] += row["qty"]
    moved = None
    if "moves" in doc:
        moved = np.zeros(shape)
        for row in doc["moves"]:
            moved[items[row["item"]], sites[row["to"]]] += row["qty"]
            moved[items[row["item"]], sites[row["from"]]] -= row["qty"]
    held = stock - buy - (moved if moved is not None else 0.0)
    return _plan_csv(arrays, stock, buy, moved, held)


def _plan_csv(a: ScenarioArrays, stock: Any, buy: Any, moved: Any, held: Any) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    moves = moved is not None
    w.writerow(["item", "site", "held", "buy", "qty", "unit_cost", "cost"]
               + (["moved"] if moves else []))
    ii, ss = np.nonzero((stock > 0) | (held > 0))
    for i, s in zip(ii.tolist(), ss.tolist(), strict=True):
        units = int(buy[i, s])
        w.writerow([a.item_ids[i], a.site_ids[s], int(held[i, s]), units, int(stock[i, s]),
                    f"{a.unit_cost[i]:.2f}", f"{units * a.unit_cost[i]:.2f}"]
                   + ([int(moved[i, s])] if moves else []))
    return buf.getvalue()


def plan_table(opt: Optimization) -> ChunkedTable:
    """Every item and site with stock or purchases: held, buy, resulting stock, cost.

    The same rows and columns as :func:`plan_csv`, read from
    the plan's arrays a block of items at a time.
    """
    a = opt.evaluation.arrays
    moves = opt.routes is not None
    columns: tuple[tuple[str, ColumnType], ...] = (
        ("item", ColumnType.TEXT), ("site", ColumnType.TEXT), ("held", ColumnType.INT),
        ("buy", ColumnType.INT), ("qty", ColumnType.INT), ("unit_cost", ColumnType.CENTS),
        ("cost", ColumnType.CENTS),
    ) + ((("moved", ColumnType.INT),) if moves else ())

    def chunks() -> Iterator[Chunk]:
        n_items, n_sites = a.stock.shape
        block = max(1, CHUNK_ROWS // max(n_sites, 1))
        moved_all = opt.moved if moves else None
        for start in range(0, n_items, block):
            rows = slice(start, start + block)
            stock = a.stock[rows]
            held_now = opt.held[rows]
            moved = moved_all[rows] if moved_all is not None else np.zeros_like(held_now)
            held = held_now - moved
            ii, ss = np.nonzero((stock > 0) | (held > 0))
            if ii.size == 0:
                continue
            cost = a.unit_cost[start + ii]
            buy = (stock - held_now)[ii, ss].astype(np.int64)
            chunk: Chunk = {
                "item": [a.item_ids[start + i] for i in ii.tolist()],
                "site": [a.site_ids[s] for s in ss.tolist()],
                "held": held[ii, ss].astype(np.int64).tolist(),
                "buy": buy.tolist(),
                "qty": stock[ii, ss].astype(np.int64).tolist(),
                "unit_cost": cost.tolist(),
                "cost": (buy * cost).tolist(),
            }
            if moves:
                chunk["moved"] = moved[ii, ss].astype(np.int64).tolist()
            yield chunk

    return ChunkedTable(columns, chunks)


def curve_csv(points: list[dict[str, Any]]) -> str:
    """The efficient curve: cost, overall availability and one column per fleet; with
    fill-rate or waiting-time targets, one more column per measure with a target
    (``fill_rate:SITE``, ``mean_wait_days:SYSTEM@SITE``, …)."""
    names = list(points[0]["fleets"]) if points else []
    extra = [(key, n) for key in ("fill_rate", "mean_wait_days")
             for n in (points[0].get(key, {}) if points else {})]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["cost", "availability", *names, *(f"{k}:{n}" for k, n in extra)])
    for p in points:
        w.writerow([p["cost"], p["availability"], *(p["fleets"][n] for n in names),
                    *(p[k][n] for k, n in extra)])
    return buf.getvalue()


def plans_document(plans: list[tuple[StockChange, Evaluation]]) -> list[dict[str, Any]]:
    """The ``plans`` of ``sustain evaluate --stock``: per plan, what it changed (the
    ``stock_plan`` summary) and its evaluation (``fleets``, ``items``, ``stock_cost``)."""
    return [
        {**change.to_dict(), "fleets": ev.fleets_with_drivers(), "items": ev.items_dict(),
         "stock_cost": ev.stock_cost}
        for change, ev in plans
    ]


def over_time_plan_csv(doc: dict[str, Any]) -> str:
    """``sustain optimize --over-time -o plan.csv``: one row per purchase line, by need-by
    day: item, site, qty, need_by, order_by, unit_cost, cost."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["item", "site", "qty", "need_by", "order_by", "unit_cost", "cost"])
    for r in doc["purchases"]:
        w.writerow([r["item"], r["site"], r["qty"], r["need_by"], r["order_by"],
                    f"{r['unit_cost']:.2f}", f"{r['cost']:.2f}"])
    return buf.getvalue()
