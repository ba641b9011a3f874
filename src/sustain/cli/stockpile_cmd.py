"""``sustain stockpile``: donors' stocks, production and the partner's consumption by month.

Thin: parse options, call :func:`sustain.stockpile.plan_stockpile`, render.  Exit codes:
0 ok, 2 a malformed scenario or usage error, or the solver stopped without an answer
(numerical trouble names the inputs behind it), 3 no plan is possible (a donor's
pledges exceed all it can have).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Console
from rich.table import Table

from sustain.errors import ScenarioError, Severity, SustainError

out = Console()
err = Console(stderr=True)


def _fail(message: str, code: int) -> typer.Exit:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()
    return typer.Exit(code)


def _q(x: float) -> str:
    """A quantity for a table cell: ``950``, ``12,000``, ``800k``, ``1.36M``."""
    if abs(x) >= 1e6:
        return f"{x / 1e6:,.2f}M"
    if abs(x) >= 1e5:
        return f"{x / 1e3:,.0f}k"
    return f"{x:,.0f}" if abs(x) >= 10 or float(x).is_integer() else f"{x:,.2f}"


def stockpile(
    scenario: Annotated[Path, typer.Argument(help="Scenario file with a stockpile section.")],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print the JSON document (shared/spec) to stdout.")
    ] = False,
    plot: Annotated[
        Path | None,
        typer.Option("--plot", help="Draw stocks, demand and shortfall: .png, .svg or .pdf."),
    ] = None,
    usage_from_fleets: Annotated[
        bool,
        typer.Option(
            "--usage-from-fleets",
            help="Demand from usage rows: systems up (fleet count × availability from the "
            "readiness engine) × rate × days × tempo, even where demand rows exist.",
        ),
    ] = False,
    availability: Annotated[
        bool,
        typer.Option(
            "--availability/--no-availability",
            help="With --usage-from-fleets: scale each fleet by its availability.",
        ),
    ] = True,
    monthly: Annotated[
        bool, typer.Option("--monthly/--no-monthly", help="Month-by-month table per consumable.")
    ] = True,
    top: Annotated[
        int, typer.Option(help="Donors and consumables to list by capacity value.", min=1)
    ] = 10,
    workers: Annotated[
        int | None, typer.Option(help="Processes solving consumables side by side.", min=1)
    ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No tables on the console.")] = False,
) -> None:
    """Can donors' stocks plus production meet the partner's consumption, month by month,
    without any donor falling below its floor?  Where are the shortfalls, and which extra
    production would close them?"""
    from sustain.scenario import load_scenario
    from sustain.stockpile import PlanInfeasible, plan_stockpile
    from sustain.stockpile.plot import PLOT_SUFFIXES, write_plot

    if plot is not None and plot.suffix.lower() not in PLOT_SUFFIXES:
        raise _fail(f"error: --plot {plot}: use a .png, .svg or .pdf file", 2)
    try:
        sc = load_scenario(scenario)
    except ScenarioError as exc:
        raise _fail(str(exc), 2) from None
    except SustainError as exc:
        raise _fail(f"error: {exc}", 2) from None
    if sc.stockpile is None:
        raise _fail(f"error: {scenario}: the scenario has no stockpile section "
                    "(see shared/spec/stockpile-format.md)", 2)
    for issue in sc.stockpile.warnings:
        if issue.severity is Severity.WARNING:
            sys.stderr.write(f"{issue}\n")
    try:
        result = plan_stockpile(sc, usage_from_fleets=usage_from_fleets,
                                availability=availability, workers=workers)
    except PlanInfeasible as exc:
        raise _fail(f"{scenario}: {exc}", 3) from None
    except SustainError as exc:
        raise _fail(str(exc) if isinstance(exc, ScenarioError) else f"error: {exc}", 2) from None
    if plot is not None:
        try:
            write_plot(result, plot)
        except SustainError as exc:
            raise _fail(f"error: {exc}", 2) from None
        except OSError as exc:
            raise _fail(f"error: {plot}: cannot write the plot: {exc.strerror}", 2) from None
    doc = result.to_dict()
    if json_out:
        sys.stdout.write(json.dumps(doc, indent=1) + "\n")
        return
    if not quiet:
        _print(sc.name or str(scenario), doc, top=top, monthly=monthly, currency=sc.currency)
    if plot is not None and not quiet:
        err.print(f"plot written to {plot}")


def _print(title: str, doc: dict[str, Any], *, top: int, monthly: bool, currency: str) -> None:
    months = doc["months"]
    if monthly:
        for c in doc["consumables"]:
            t = Table(title=f"{c['id']}: partner, month by month ({c['demand_source']})")
            for col in ("month", "demand", "arrivals", "used", "shortfall", "stock",
                        "months of supply"):
                t.add_column(col, justify="left" if col == "month" else "right")
            for k, m in enumerate(months):
                mos = c["months_of_supply"][k]
                t.add_row(m, _q(c["demand"][k]), _q(c["arrivals"][k]), _q(c["used"][k]),
                          _q(c["shortfall"][k]) if c["shortfall"][k] else "",
                          _q(c["partner_stock"][k]), "" if mos is None else f"{mos:.2f}")
            out.print(t)
    t = Table(title=f"{title}: consumables, {months[0]} to {months[-1]}")
    for col in ("consumable", "demand", "used", "shortfall", "short %", "first short"):
        t.add_column(col, justify="left" if col in ("consumable", "first short") else "right")
    for c in doc["consumables"]:
        demand = sum(c["demand"])
        short = doc["total_shortfall"][c["id"]]
        share = f"{100 * short / demand:.1f} %" if demand > 0 else ""
        t.add_row(c["id"], _q(demand), _q(sum(c["used"])), _q(short), share,
                  c["first_shortfall_month"] or "none")
    out.print(t)
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
    out.print(t)
    out.print("(breach: unit-months below the floor; at pledges: the first month below it "
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
        out.print(t)
    obj = doc["objective"]
    out.print(f"Floor breach {_q(obj['floor_breach'])} unit-months; weighted shortfall "
              f"{_q(obj['shortfall'])}; surge bought for {obj['surge_cost']:,.0f} {currency}.")
    for note in doc["notes"]:
        out.print(f"- {note}", soft_wrap=True)
