"""Repair shops with finite channels: the table, the report section and the warnings.

Drawn from the ``repair_shops`` block of the evaluate and simulate documents
(:mod:`sustain.readiness.shops`).
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from sustain.readiness.shops import OVERLOAD_UTILISATION
from sustain.scenario.model import Scenario


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


def longest_pipeline_days(scenario: Scenario) -> float:
    """The longest time a unit spends out of stock once it fails: its repair where it
    fails, or at the root (its procurement when it is condemned) plus the order and ship
    times of the longest chain of sites from the root down."""
    parent = {s.id: s.parent for s in scenario.sites}
    ship = {s.id: s.order_ship_days for s in scenario.sites}

    def chain(site: str) -> float:
        total, seen = 0.0, set()
        while site in parent and site not in seen:
            seen.add(site)
            total += ship[site]
            site = parent[site] or ""
        return total

    deepest = max((chain(s) for s in parent), default=0.0)
    longest = 0.0
    for i in scenario.items:
        root = i.depot_repair_days if i.base_repair_fraction < 1 else 0.0
        if i.condemnation_fraction > 0:
            root = max(root, i.procurement_days)
        longest = max(longest, i.base_repair_days, root + deepest)
    return longest


#: Share of a fleet's installed units missing (backordered) from which the note on a gap
#: names it: demand in the simulation falls by about that share.
MISSING_SHARE = 0.01


def _missing_share(doc: dict[str, Any], scenario: Scenario, fleet: dict[str, str]
                   ) -> float | None:
    """Simulated backorders at the fleet's site of the items installed in its system, over
    the units installed there (count × Z); ``None`` when nothing is installed.  Items
    shared with other fleets at the site count in full: an upper bound then."""
    count = next((f.count for f in scenario.fleets
                  if f.system == fleet["system"] and f.site == fleet["site"]), 0)
    per_system = {i.id: sum(x.qty for x in i.installed_in if x.system == fleet["system"])
                  for i in scenario.items}
    installed = count * sum(per_system.values())
    if installed <= 0:
        return None
    missing = sum(r["backorders_mean"] for r in doc.get("items", [])
                  if r["site"] == fleet["site"] and per_system.get(r["item"], 0) > 0)
    return min(1.0, missing / installed)


#: The note when no difference of assumptions explains a gap.
_NO_CAUSE = ("no difference of assumptions applies: the rest is the analytic approximation "
             "(VARI-METRIC's two-moment fit across echelons) or chance (a 95 % interval "
             "misses 1 time in 20)")


def gap_notes(doc: dict[str, Any], scenario: Scenario | None = None, *,
              cannibalisation: bool = False) -> list[str]:
    """With ``--compare``: one line per fleet whose analytic (VARI-METRIC) availability
    lies outside the simulated 95 % interval, saying why as far as the models tell.
    When several fleets lie on the same side, the causes they all share (every cause
    but the fleet's own repair queues and missing units) are said once, on a line after
    those fleets.

    The causes, each a difference between the two models (docs/method.md, *Assumptions*):

    - analytic above simulated: a repair shop at utilisation >= 0.9 on the fleet's
      repairs (the analytic model has unlimited channels);
    - analytic below simulated: down systems keep failing in the analytic model and
      not in the simulation (unless ``failures_while_down``); a missing unit cannot fail
      in the simulation, while the analytic model takes failures at the full rate of
      every installed position (named from :data:`MISSING_SHARE` of the installed units
      missing on average: Palm's theorem with a finite population); cannibalisation gathers
      the missing parts into fewer systems; a warm-up shorter than the longest repair
      and resupply time leaves in the statistics the first days, when every spare is
      still on the shelf;
    - either way: time-phased keys (the analytic model takes the day-0 scenario) and
      Weibull lives (it takes failures as Poisson).

    Without any of them, the line says the rest is the approximation or chance.
    ``scenario`` (the one simulated) and ``cannibalisation`` (as the run resolved it)
    tell the causes that the document does not record.
    """
    analytic = doc.get("analytic")
    if analytic is None:
        return []
    shops = doc.get("repair_shops") or []
    phased = scenario is not None and bool(
        scenario.deliveries or scenario.tempo or scenario.attrition or scenario.battle_damage)
    weibull = [] if scenario is None else [
        i.id for i in scenario.items if i.weibull_shape != 1.0]
    pipeline = 0.0 if scenario is None else longest_pipeline_days(scenario)
    warmup = float(doc.get("warmup_days") or 0.0)
    noted = []  # (fleet, line head, above, reasons of this fleet, reasons of every fleet)
    for n, f in enumerate(doc["fleets"]):
        row = analytic["vari-metric"]["fleets"][n]
        if row["inside_ci95"] is not False or row["difference"] is None:
            continue
        above = row["difference"] > 0
        own, common = [], []
        fleet = {"system": f["system"], "site": f["site"]}
        busy = [s for s in shops if _worst(s) >= OVERLOAD_UTILISATION and fleet in s["fleets"]]
        if above and busy:
            where = ", ".join(f"{s['site']} (utilisation {_worst(s):.2f})" for s in busy)
            own.append(f"its repairs queue at {where}, which the analytic model does not see")
        if not above and not doc.get("failures_while_down", False):
            common.append("the analytic model lets down systems keep failing, the simulation "
                          "stops them (--failures-while-down makes the simulation do the same)")
        missing = None if scenario is None else _missing_share(doc, scenario, fleet)
        if not above and missing is not None and missing >= MISSING_SHARE:
            own.append(f"{100 * missing:.0f} % of the fleet's installed units are missing on "
                       "average: the analytic model counts failures at every position, the "
                       "simulation cannot fail a unit that is not there")
        if not above and cannibalisation:
            common.append("cannibalisation gathers the missing parts into fewer systems, "
                          "which the analytic model does not do (--no-cannibalisation "
                          "removes it)")
        if not above and scenario is not None and warmup < pipeline:
            common.append(f"the run starts with every spare on the shelf and the warm-up "
                          f"({warmup:g} days) is shorter than the longest repair and resupply "
                          f"time ({pipeline:g} days): give --warmup {pipeline:g} or more")
        if phased:
            common.append("the analytic model takes the day-0 scenario, without its "
                          "deliveries, tempo, attrition and battle damage")
        if weibull:
            shown = ", ".join(weibull[:5]) + (", …" if len(weibull) > 5 else "")
            common.append(f"the analytic model takes failures as Poisson, the simulation the "
                          f"Weibull lives of {shown}")
        name = f"{f['system']} at {f['site']}"
        head = (f"{name}: analytic {100 * row['availability']:.1f} % against simulated "
                f"{100 * f['availability']:.1f} %")
        noted.append((name, head, above, own, common))
    lines = []
    for above in (True, False):
        group = [(head, own, common) for _, head, up, own, common in noted if up is above]
        names = [name for name, _, up, own, _ in noted if up is above and not own]
        if len(group) == 1:  # one fleet: every reason on its own line
            head, own, common = group[0]
            lines.append(f"{head}: {'; '.join(own + common or [_NO_CAUSE])}")
        elif group:  # the reasons every fleet shares are said once, after the fleets
            lines += [f"{head}: {'; '.join(own)}" if own else head
                      for head, own, _ in group]
            common = group[0][2]
            side = "above" if above else "below"
            if common:
                lines.append(f"for these {len(group)} fleets (analytic {side} simulated): "
                             f"{'; '.join(common)}")
            elif names:
                lines.append(f"for {', '.join(names)}: {_NO_CAUSE}")
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
