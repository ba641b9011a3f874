"""The ``moves`` table: routes along which ``sustain optimize --redistribute`` may move
spares already held between sites.

The rows are checked against :mod:`sustain.scenario.schema` by the row validator like
every table; this module checks what one row alone cannot tell: the sites and items
exist (with hints), a route joins two different sites, it gives one cost at most, and
no route is given twice.
"""

from __future__ import annotations

from typing import Any

from sustain.scenario.issues import Collector
from sustain.scenario.model import Move


def check_moves(
    c: Collector,
    rows: list[tuple[int, Any]],
    *,
    sites: dict[str, Any],
    items: dict[str, Any],
) -> tuple[Move, ...]:
    """Check the ``moves`` rows; report into ``c``; return their model objects."""
    seen: dict[tuple[str, str, str | None], int] = {}
    out: list[Move] = []
    for i, r in rows:
        at = ("moves", i)
        ok = c.ref((*at, "from"), r.from_, sites, "site", "sites")
        ok = c.ref((*at, "to"), r.to, sites, "site", "sites") and ok
        if r.item is not None:
            ok = c.ref((*at, "item"), r.item, items, "item", "items") and ok
        if r.from_ == r.to:
            c.add((*at, "to"), f"must differ from 'from' (a route joins two sites): got "
                  f"{c.show(at, r.to)}")
            ok = False
        if r.cost_per_unit is not None and r.cost_fraction is not None:
            c.add((*at, "cost_fraction"), "give cost_per_unit or cost_fraction, not both")
        if ok:
            ends = [(r.from_, r.to)] + ([(r.to, r.from_)] if r.both_ways else [])
            for a, b in ends:
                k = (a, b, r.item)
                if k in seen:
                    what = f"{c.show(at, r.item)}" if r.item is not None else "every item"
                    c.add(at, f"route from {c.show(at, a)} to {c.show(at, b)} for {what} "
                          f"given twice (first at {c.first_at(('moves', seen[k]))})")
                seen.setdefault(k, i)
        out.append(Move(from_site=r.from_, to_site=r.to, item=r.item,
                        cost_per_unit=r.cost_per_unit, cost_fraction=r.cost_fraction,
                        days=r.days, both_ways=r.both_ways))
    return tuple(out)
