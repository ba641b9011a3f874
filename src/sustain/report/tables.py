"""Console tables (rich) for every command, drawn from the JSON documents.

Each ``print_*`` function takes the console to draw on, so the command line decides
where output goes (stdout for results) and these functions only decide how it looks.
"""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table

from sustain.report.drivers import print_drivers
from sustain.report.markdown import (
    fmc_shown,
    over_time_columns,
    over_time_minimum,
    pct,
    plans_table,
    stock_value_line,
)
from sustain.scenario.oryx import LossRates


def print_evaluation(
    console: Console, title: str, doc: dict[str, Any], top: int,
    comparison: dict[str, Any] | None, currency: str = "", *, measures: bool = False,
) -> None:
    """Fleets, the items with the most backorders at operating sites, the value of the
    stock (in ``currency``); with ``measures``, each fleet's fill rate and mean wait too,
    and a table of the sites'."""
    t = Table(title=f"{title}: fleets ({doc['method']})")
    fmc = fmc_shown(doc["fleets"])  # redundant or inessential items: MC and FMC
    for col, just in (
        ("system", "left"),
        ("site", "left"),
        ("systems", "right"),
        ("availability", "right"),
        *((("FMC", "right"),) if fmc else ()),
        ("expected available", "right"),
        *((("fill rate", "right"), ("mean wait (days)", "right")) if measures else ()),
    ):
        t.add_column(col, justify=just)
    for f in doc["fleets"]:
        extra = (pct(f["fill_rate"]), _wait(f["mean_wait_days"])) if measures else ()
        t.add_row(
            f["system"], f["site"], str(f["count"]), pct(f["availability"]),
            *((pct(f["availability_fmc"]),) if fmc else ()),
            f"{f['expected_available']:.2f}", *extra,
        )
    console.print(t)
    if measures:
        print_site_measures(console, doc["sites"])
    operating = {f["site"] for f in doc["fleets"]}
    at_bases = [r for r in doc["items"] if r["site"] in operating]
    items = sorted(at_bases, key=lambda r: -r["ebo"])[:top]
    t = Table(title=f"Most expected backorders at operating sites (top {len(items)})")
    for col in ("item", "site", "stock", "demand/day", "pipeline", "EBO", "fill rate"):
        t.add_column(col, justify="left" if col in ("item", "site") else "right")
    for r in items:
        t.add_row(
            r["item"], r["site"], str(r["stock"]), f"{r['demand_per_day']:.4f}",
            f"{r['pipeline_mean']:.3f}", f"{r['ebo']:.4f}", pct(r["fill_rate"]),
        )
    console.print(t)
    console.print(stock_value_line(doc, currency), markup=False, highlight=False)
    print_drivers(console, doc["fleets"])
    if comparison:
        t = Table(title="Approximation error against the exact model (Graves 1985)")
        for col in ("method", "system", "site", "availability", "error", "max |ΔEBO|"):
            t.add_column(col, justify="left" if col in ("method", "system", "site") else "right")
        for name, block in comparison.items():
            for f in block["fleets"]:
                t.add_row(
                    name, f["system"], f["site"], pct(f["availability"]),
                    f"{100 * f['availability_error']:+.3f} pts",
                    f"{block['max_abs_ebo_error']:.2e}",
                )
        console.print(t)


def _wait(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3f}"


def print_site_measures(console: Console, sites: list[dict[str, Any]]) -> None:
    """Each site with demand: requests per day, fill rate, mean wait (``--measures``)."""
    t = Table(title="Sites: requests on their stock")
    for col in ("site", "demand/day", "fill rate", "mean wait (days)"):
        t.add_column(col, justify="left" if col == "site" else "right")
    for r in sites:
        if r["fill_rate"] is None:
            continue
        t.add_row(r["site"], f"{r['demand_per_day']:.4f}", pct(r["fill_rate"]),
                  _wait(r["mean_wait_days"]))
    console.print(t)


def print_plans(console: Console, title: str, doc: dict[str, Any], currency: str) -> None:
    """Fleets with the stock held and with each plan of ``evaluate --stock``, and costs."""
    header, rows = plans_table(doc, currency)
    t = Table(title=f"{title}: stock plans ({doc['method']})")
    for n, col in enumerate(header):
        t.add_column(col, justify="left" if n < 2 else "right")
    fleets = len(doc["fleets"])
    for n, r in enumerate(rows):
        t.add_row(*r, end_section=n == fleets - 1)
    console.print(t)


def print_over_time(console: Console, title: str, doc: dict[str, Any]) -> None:
    """Availability of each fleet at a few of the days, its minimum and the day of it."""
    days = doc["days"]
    shown = over_time_columns(len(days))
    t = Table(title=f"{title}: availability over time ({doc['method']})")
    t.add_column("system")
    t.add_column("site")
    for n in shown:
        t.add_column(f"day {days[n]}", justify="right")
    t.add_column("min", justify="right")
    t.add_column("on day", justify="right")
    sim = doc.get("simulated")
    inside = {} if sim is None else {
        (f["system"], f["site"]): f["inside_ci95_share"] for f in sim["fleets"]}
    if sim is not None:
        t.add_column("days inside simulator's 95 % band", justify="right")
    for f in doc["fleets"]:
        low = over_time_minimum(f["series"])
        t.add_row(
            f["system"], f["site"], *(pct(f["series"][n]["availability"]) for n in shown),
            pct(low[1]) if low else "n/a", str(low[0]) if low else "",
            *([pct(inside.get((f["system"], f["site"])))] if sim is not None else []),
        )
    console.print(t)
    console.print(
        "Availability is the expected share of the systems present that are up; "
        "deliveries, tempo and losses as the scenario dates them."
    )
    if sim is not None:
        console.print(
            f"Simulator: {sim['replications']} replications, seed {sim['seed']}, failures "
            "while down, no repair-channel limits, after a lead-in of "
            f"{sim['lead_in_days']} days."
        )


def print_purchases(console: Console, doc: dict[str, Any], top: int, currency: str) -> None:
    """The largest purchases of an optimisation and their total."""
    t = Table(title=f"Purchases (top {top} by cost)")
    for col in ("item", "site", "qty", "unit cost", "cost"):
        t.add_column(col, justify="left" if col in ("item", "site") else "right")
    for r in sorted(doc["purchases"], key=lambda r: -r["cost"])[:top]:
        t.add_row(r["item"], r["site"], str(r["qty"]), f"{r['unit_cost']:,.0f}",
                  f"{r['cost']:,.0f}")
    console.print(t)
    console.print(f"Purchases: {doc['purchase_cost']:,.0f} {currency} in "
                  f"{len(doc['purchases'])} lines; {len(doc['curve'])} curve points.")


def print_moves(console: Console, doc: dict[str, Any], top: int, currency: str) -> None:
    """The moves of stock held of ``optimize --redistribute`` (the dearest first) and
    their total."""
    moves = doc["moves"]
    if moves:
        t = Table(title=f"Moves of stock held (top {top} by cost)")
        for col in ("item", "from", "to", "qty", "cost/unit", "cost", "days"):
            t.add_column(col, justify="left" if col in ("item", "from", "to") else "right")
        for r in moves[:top]:
            t.add_row(r["item"], r["from"], r["to"], str(r["qty"]), f"{r['cost_per_unit']:,.0f}",
                      f"{r['cost']:,.0f}", f"{r['days']:g}")
        console.print(t)
    units = sum(r["qty"] for r in moves)
    console.print(f"Moves: {doc['move_cost']:,.0f} {currency} for {units} units in "
                  f"{len(moves)} lines; purchases and moves "
                  f"{doc['purchase_cost'] + doc['move_cost']:,.0f} {currency}.")


def print_simulation(console: Console, title: str, doc: dict[str, Any]) -> None:
    """Simulated availability per fleet with its confidence interval (and more when phased)."""
    t = Table(title=f"{title}: simulated, {doc['replications']} replications × {doc['days']} "
              f"days (warm-up {doc['warmup_days']}), seed {doc['seed']}")
    cols = ["system", "site", "systems", "availability", "95 % CI"]
    fmc = fmc_shown(doc["fleets"])
    if fmc:
        cols.append("FMC")
    phased = bool(doc["fleets"]) and "present_mean" in doc["fleets"][0]
    if phased:  # fleets change size: show how
        cols += ["added", "lost", "present", "up"]  # by the end; time averages
    if "analytic" in doc:
        cols += ["VARI-METRIC", "METRIC"]
    for c in cols:
        t.add_column(c, justify="left" if c in ("system", "site") else "right")
    for n, f in enumerate(doc["fleets"]):
        if f["availability"] is None:  # no system present at any time
            row = [f["system"], f["site"], str(f["count"]), "n/a", "n/a"]
        else:
            lo, hi = f["availability_ci95"]
            row = [f["system"], f["site"], str(f["count"]), f"{100 * f['availability']:.1f} %",
                   f"{100 * lo:.1f}–{100 * hi:.1f} %"]
        if fmc:
            row.append(pct(f.get("availability_fmc")))
        if phased:
            row += [str(f["delivered"]), f"{f['lost_mean']:.1f}", f"{f['present_mean']:.1f}",
                    f"{f['up_mean']:.1f}"]
        if "analytic" in doc:
            for m in ("vari-metric", "metric"):
                av = doc["analytic"][m]["fleets"][n]["availability"]
                row.append("n/a" if av is None else f"{100 * av:.1f} %")
        t.add_row(*row)
    console.print(t)
    if phased:
        console.print("added: systems delivered; lost: mean systems lost by the last day; "
                      "present, up: mean systems present and up (time averages after the "
                      "warm-up)")


def quantity(x: float) -> str:
    """A quantity for a table cell: ``950``, ``12,000``, ``800k``, ``1.36M``."""
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.2f}M"
    if abs(x) >= 1e5:
        return f"{x / 1e3:,.0f}k"
    return f"{x:,.0f}" if abs(x) >= 10 or float(x).is_integer() else f"{x:,.2f}"


def print_stockpile(
    console: Console, title: str, doc: dict[str, Any], *, top: int, monthly: bool,
    currency: str,
) -> None:
    """Month by month per consumable, totals, donors against floors, where capacity pays."""
    _q = quantity
    months = doc["months"]
    if monthly:
        for c in doc["consumables"]:
            t = Table(title=f"{c['id']}: partner, month by month ({c['demand_source']})")
            for col in ("month", "demand", "arrivals", "used", "shortfall", "stock",
                        "cover"):
                t.add_column(col, justify="left" if col == "month" else "right")
            for k, m in enumerate(months):
                cover = c["months_of_cover"][k]
                t.add_row(m, _q(c["demand"][k]), _q(c["arrivals"][k]), _q(c["used"][k]),
                          _q(c["shortfall"][k]) if c["shortfall"][k] else "",
                          _q(c["partner_stock"][k]), "" if cover is None else f"{cover:.1f}")
            console.print(t)
        console.print("(stock: the partner's, at the end of the month; cover: months of the "
                      "coming demand that the partner's stock plus the donors' stock above "
                      "their floors could meet)")
    t = Table(title=f"{title}: consumables, {months[0]} to {months[-1]}")
    for col in ("consumable", "demand", "used", "shortfall", "short %", "first short"):
        t.add_column(col, justify="left" if col in ("consumable", "first short") else "right")
    for c in doc["consumables"]:
        demand = sum(c["demand"])
        short = doc["total_shortfall"][c["id"]]
        share = f"{100 * short / demand:.1f} %" if demand > 0 else ""
        t.add_row(c["id"], _q(demand), _q(sum(c["used"])), _q(short), share,
                  c["first_shortfall_month"] or "none")
    console.print(t)
    t = Table(title="Donors: stock against floor", box=box.SIMPLE_HEAD, show_edge=False,
              collapse_padding=True)
    for col in ("donor", "item", "start", "floor", "lowest", "in", "sent", "surge", "breach",
                "at pledges"):
        t.add_column(col, justify="left" if col in ("donor", "item", "in") else "right")
    for r in doc["donors"]:
        low = min(range(len(months)), key=lambda k: r["stock"][k])
        t.add_row(
            r["donor"], r["consumable"], _q(r["start_stock"]), _q(r["floor"]),
            _q(r["stock"][low]), months[low], _q(sum(r["sent"])), _q(sum(r["surge"])),
            _q(sum(r["floor_breach"])) if any(r["floor_breach"]) else "",
            r["breach_month_at_pledge_rate"] or "",
        )
    console.print(t)
    console.print("(breach: unit-months below the floor; at pledges: the first month below it "
                  "if giving at the pledged rate)")
    active = {(r["donor"], r["consumable"]) for r in doc["donors"]}
    windows: dict[tuple[str, str], list[tuple[str, float]]] = {}
    for v in doc["capacity_value"]:
        key = (v["donor"], v["consumable"])
        if key in active and v["shortfall_avoided_per_unit"] > 0:
            windows.setdefault(key, []).append((v["month"], v["shortfall_avoided_per_unit"]))
    if windows:
        t = Table(title="Where one more unit of committed production pays")
        for col in ("donor", "consumable", "months", "shortfall avoided per unit"):
            t.add_column(col, justify="right" if col.startswith("shortfall") else "left")
        ranked = sorted(windows.items(), key=lambda kv: (-max(x for _, x in kv[1]), kv[0]))
        for (donor, cid), vals in ranked[:top]:
            lo, hi = min(x for _, x in vals), max(x for _, x in vals)
            span = vals[0][0] if len(vals) == 1 else f"{vals[0][0]} to {vals[-1][0]}"
            t.add_row(donor, cid, f"{span} ({len(vals)})",
                      f"{hi:.3g}" if lo == hi else f"{lo:.3g} to {hi:.3g}")
        console.print(t)
    obj = doc["objective"]
    console.print(f"Floor breach {_q(obj['floor_breach'])} unit-months; weighted shortfall "
                  f"{_q(obj['shortfall'])}; surge bought for {obj['surge_cost']:,.0f} {currency}.")
    for note in doc["notes"]:
        console.print(f"- {note}", soft_wrap=True)


def print_loss_rates(console: Console, notes: Console, result: LossRates) -> None:
    """Systems matched, attrition and battle damage per day, the counts and the attribution.

    ``notes`` (stderr) gets the caveat that confirmed losses are a lower bound.
    """
    t = Table(title=f"Systems matched by {' | '.join(result.patterns)}")
    for col, just in (("system", "left"), ("attrition", "right"), ("damaged", "right")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for s in result.systems:
        t.add_row(s.name, str(s.attrition), str(s.damaged))
    console.print(t)
    loss = "destroyed + captured" + (" + abandoned" if result.abandoned_as_loss else "")
    since = " (first matching row)" if result.start_is_first_match else ""
    t = Table(title=f"{result.start}{since} to {result.end} (exclusive): {result.days} days, "
              f"fleet of {result.fleet_size:g}")
    for col in ("", "count", "per day (fleet)", "per system per day"):
        t.add_column(col, justify="left" if not col else "right")
    t.add_row(f"attrition ({loss})", str(result.attrition),
              f"{result.attrition_per_day:.4g}", f"{result.attrition_per_system_day:.4g}")
    t.add_row("battle damage (damaged)", str(result.damaged),
              f"{result.damage_per_day:.4g}", f"{result.damage_per_system_day:.4g}")
    console.print(t)
    console.print(f"destroyed {result.destroyed}, captured {result.captured}, "
                  f"abandoned {result.abandoned}, damaged {result.damaged}; "
                  f"matching rows outside the period: {result.rows_outside_period}.")
    notes.print("Confirmed losses are a lower bound; date_recorded is the scrape date, not the "
                "loss date.")
    console.print(result.attribution, markup=False)


def print_over_time_plan(
    console: Console, title: str, doc: dict[str, Any], top: int, currency: str
) -> None:
    """Each fleet's lowest availability before and after the plan, the days no purchase
    reaches, and the largest purchases with their need-by and order-by days."""
    t = Table(title=f"{title}: sparing over time ({doc['method']}, days {doc['days'][0]}"
              f"–{doc['days'][-1]})")
    for col in ("system", "site", "target", "lowest before", "lowest after"):
        t.add_column(col, justify="left" if col in ("system", "site") else "right")
    for f in doc["fleets"]:
        low = [min((v for v in f[k] if v is not None), default=None) for k in ("before", "after")]
        t.add_row(f["system"], f["site"], "" if f["target"] is None else pct(f["target"]),
                  pct(low[0]), pct(low[1]))
    console.print(t)
    for s in doc["shortfalls"]:
        console.print(f"{s['system']} at {s['site']}: no purchase reaches target "
                      f"{pct(s['target'])} in time on days {_days(s['days'])} "
                      f"(best reachable from {pct(min(s['best']))})")
    p = Table(title=f"Purchases (top {top} by cost)")
    for col in ("item", "site", "qty", "need by", "order by", "cost"):
        p.add_column(col, justify="left" if col in ("item", "site") else "right")
    for r in sorted(doc["purchases"], key=lambda r: -r["cost"])[:top]:
        p.add_row(r["item"], r["site"], str(r["qty"]), str(r["need_by"]), str(r["order_by"]),
                  f"{r['cost']:,.0f}")
    console.print(p)
    console.print(f"Purchases: {doc['purchase_cost']:,.0f} {currency} in "
                  f"{len(doc['purchases'])} lines.")


def _days(days: list[int]) -> str:
    return ", ".join(str(d) for d in days) if len(days) <= 8 else (
        f"{', '.join(str(d) for d in days[:6])}, … {days[-1]} ({len(days)} days)")
