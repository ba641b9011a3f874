"""The stock table's own checks when it was read as columns (a large CSV or Parquet file).

The same checks as for stock rows read one by one (``validate._check_stock``): each
row's item and site must be known ids, and an item and site are given once.  They run
on the distinct ids and on integer codes, and only the rows that break a rule are
reported, one by one and in row order, in the same words.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from sustain._types import IntArray
from sustain.scenario.column_rows import CheckedColumns
from sustain.scenario.issues import Collector
from sustain.scenario.model import StockTable


def _canonical(made: list[Any], codes: IntArray) -> tuple[tuple[Any, ...], IntArray]:
    """The distinct values the rows hold (once each, in order of first use among the
    distinct values), and each row's index among them."""
    used = np.unique(codes).tolist()
    distinct = tuple(dict.fromkeys(made[k] for k in used))
    pos = {v: k for k, v in enumerate(distinct)}
    remap = np.zeros(len(made), dtype=np.int64)
    remap[used] = [pos[made[k]] for k in used]
    return distinct, remap[codes]


def check_stock_columns(
    c: Collector, stock: CheckedColumns, items: dict[str, Any], sites: dict[str, Any]
) -> StockTable:
    """Check the passed rows of the stock table; return them as a :class:`StockTable`."""
    item_ids, item = _canonical(*stock.values["item"])
    site_ids, site = _canonical(*stock.values["site"])
    qty_made, qty_codes = stock.values["qty"]
    qty = np.array([0 if v is None else v for v in qty_made], dtype=np.int64)[qty_codes] \
        if qty_made else np.zeros(0, dtype=np.int64)
    known_item = np.array([v in items for v in item_ids], dtype=bool)
    known_site = np.array([v in sites for v in site_ids], dtype=bool)
    ok = known_item[item] & known_site[site] if item.size else np.zeros(0, dtype=bool)
    rows = stock.index
    # Repeats among the rows whose ids are known: the first of each is kept.
    okpos = np.flatnonzero(ok)
    key = item[okpos] * max(len(site_ids), 1) + site[okpos]
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    again = np.flatnonzero(first[inverse] != np.arange(okpos.size))
    repeat = okpos[again]
    first_row = dict(zip(repeat.tolist(), rows[okpos[first[inverse[again]]]].tolist(),
                         strict=True))
    for p in sorted(np.flatnonzero(~ok).tolist() + repeat.tolist()):
        i = int(rows[p])
        at = ("stock", i)
        it, st = item_ids[item[p]], site_ids[site[p]]
        if not ok[p]:
            c.ref((*at, "item"), it, items, "item", "items")
            c.ref((*at, "site"), st, sites, "site", "sites")
            continue
        c.add(
            at,
            f"stock of {c.show(at, it)} at {c.show(at, st)} given twice "
            f"(first at {c.first_at(('stock', first_row[p]))}); merge the quantities",
        )
    return StockTable(item_ids=item_ids, site_ids=site_ids, item=item, site=site, qty=qty)
