"""Hypothesis strategies: small random but valid scenarios (as dicts)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st


@st.composite
def scenarios(
    draw: st.DrawFn, *, max_items: int = 4, sub_items: bool = True, three_levels: bool = True
) -> dict[str, Any]:
    """A depot, optionally an intermediate site, 1–3 bases, 1–2 systems, 1–max_items items."""
    n_bases = draw(st.integers(1, 3))
    mid = three_levels and draw(st.booleans())
    sites: list[dict[str, Any]] = [{"id": "HUB"}]
    if mid:
        sites.append({"id": "MID", "parent": "HUB", "order_ship_days": draw(st.floats(0, 10))})
    top = "MID" if mid else "HUB"
    bases = [f"B{k}" for k in range(n_bases)]
    for b in bases:
        sites.append({"id": b, "parent": top, "order_ship_days": draw(st.floats(0.5, 10))})
    systems = ["S0", "S1"][: draw(st.integers(1, 2))]
    fleets = []
    for s in systems:
        for b in bases:
            if b == bases[0] or draw(st.booleans()):
                fleets.append(
                    {
                        "system": s,
                        "site": b,
                        "count": draw(st.integers(1, 8)),
                        "hours_per_day": draw(st.floats(1, 24)),
                    }
                )
    n_items = draw(st.integers(1, max_items))
    items: list[dict[str, Any]] = []
    for k in range(n_items):
        parent = None
        if sub_items and items and draw(st.booleans()):
            parent = draw(st.sampled_from([it["id"] for it in items if "installed_in" in it]))
        item: dict[str, Any] = {
            "id": f"I{k}",
            "unit_cost": draw(st.floats(1, 1000)),
            "base_repair_fraction": draw(st.sampled_from([0.0, 0.2, 0.5])),
            "base_repair_days": draw(st.floats(0.5, 10)),
            "depot_repair_days": draw(st.floats(5, 60)),
            "condemnation_fraction": draw(st.sampled_from([0.0, 0.1])),
            "procurement_days": draw(st.floats(30, 200)),
        }
        if parent is None:
            used = draw(st.lists(st.sampled_from(systems), min_size=1, unique=True))
            item["installed_in"] = [
                {"system": s, "qty": draw(st.integers(1, 3))} for s in used
            ]
            item["mtbf_hours"] = draw(st.floats(50, 3000))
        else:
            siblings = [it for it in items if it.get("parent") == parent]
            room = 1.0 - sum(it["replace_fraction"] for it in siblings)
            item["parent"] = parent
            item["replace_fraction"] = round(draw(st.floats(0.0, max(room, 0.0))), 6) * 0.99
        items.append(item)
    all_sites = [s["id"] for s in sites]
    stock = []
    for it in items:
        for s in all_sites:
            q = draw(st.integers(0, 3))
            if q:
                stock.append({"item": it["id"], "site": s, "qty": q})
    return {"sites": sites, "systems": [{"id": s} for s in systems], "fleets": fleets,
            "items": items, "stock": stock}
